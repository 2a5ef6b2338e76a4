// maps.h - a parameter's list of tables searched in order (alias_maps,
// virtual_alias_maps, smtpd access maps, ...).
//
// Summary
//   Maps::open("hash:/etc/aliases, mysql:/etc/x.cf") opens every table of a
//   Postfix list value; lookup(key) asks them in order and returns the first
//   answer. An error from any table stops the search and is returned (a
//   temporary error must become "try again later"), as Postfix's maps do.
//
// Description
//   Entries without "type:" take default_type (default_database_type).
//   changed() is true when any member's file changed; may_block() when any
//   member can block (use async_lookup.h from an event loop).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "lib/table/table.h"

namespace mailroom::table {

class Maps {
public:
    Maps() = default;
    static Result<Maps> open(std::string_view list_value, const OpenOptions& options = {},
                             std::string_view default_type = "hash");

    LookupResult lookup(std::string_view key) const;
    bool changed() const;
    bool may_block() const;
    bool empty() const { return tables_.empty(); }
    const std::vector<TablePtr>& tables() const { return tables_; }

private:
    std::vector<TablePtr> tables_;
};

}  // namespace mailroom::table
