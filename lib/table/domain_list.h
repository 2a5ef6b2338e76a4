// domain_list.h - Postfix's domain lists (pure).
//
// Summary
//   in_domain_list() decides whether a domain is in a list such as
//   mydestination, relay_domains or fast_flush_domains. Elements are
//   names (exact; with `match_subdomains` also their subdomains),
//   ".domain" (subdomains only), "!element" (an exclusion: a match ends the
//   search with false) or "type:table" (the domain, and with
//   `match_subdomains` each parent domain, looked up through
//   `domain_table`). The first element that matches decides. A table
//   lookup failure is returned as an error. expand_list_files() replaces
//   "/file/name" elements by the file's names when a list is read from
//   main.cf. DomainTables is the usual
//   `domain_table`: it opens each table once, on first use.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lib/table/table.h"
#include "lib/util/result.h"

namespace mailroom::table {

// Looks `key` up in the table named by `table_spec` ("type:name").
using DomainTableLookup =
    std::function<Result<std::optional<std::string>>(std::string_view table_spec, std::string_view key)>;

// `domain` must be lower case. Without `domain_table` a type:table element is an error.
Result<bool> in_domain_list(const std::vector<std::string>& list, std::string_view domain, bool match_subdomains,
                            const DomainTableLookup& domain_table);

// Postfix's "/file/name" list elements: each is replaced by the names in
// that file, separated by white space or commas ('#' comment lines and
// continuation lines as in table files). An unreadable file adds nothing
// and a warning naming it to *warnings.
std::vector<std::string> expand_list_files(const std::vector<std::string>& list, std::vector<std::string>* warnings);

// The tables named by domain lists, each opened once, on first use. Not
// thread-safe: one owner (a loop or a worker) asks it.
class DomainTables {
public:
    // The open table for `spec`, opening it now if need be.
    Result<Table*> open(std::string_view spec);
    Result<std::optional<std::string>> lookup(std::string_view spec, std::string_view key);
    // A DomainTableLookup bound to this object (which must outlive it).
    DomainTableLookup lookup_function();

private:
    std::map<std::string, TablePtr, std::less<>> tables_;
};

}  // namespace mailroom::table
