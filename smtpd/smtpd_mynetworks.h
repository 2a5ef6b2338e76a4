// smtpd_mynetworks.h - does the client match $mynetworks?
//
// Summary
//   Mynetworks::parse() reads the elements of a mynetworks value (as
//   split by util::split_list): "192.168.1.0/24", "127.0.0.1",
//   "[2001:db8::]/32", "[::1]", "2001:db8::/32", "type:table",
//   "/file/name" (elements read from the file), host or domain names
//   (matching the client name and its subdomains) and "!element" to
//   exclude. match() answers whether a client matches: the first element
//   that matches decides (a negated one means "no"), as Postfix's
//   match lists do.
//
// Description
//   An IPv4-mapped IPv6 client address (::ffff:1.2.3.4) is matched as the
//   IPv4 address. A CIDR block with host bits set is a configuration
//   error, reported the way Postfix words it. A type:table element is
//   looked up with the client address, then the client name; any value
//   found is a match. A table lookup error is returned as an error (the
//   caller must defer, not guess).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "lib/config/config.h"
#include "lib/table/table.h"
#include "lib/util/result.h"

namespace mailroom::smtpd {

class Mynetworks {
public:
    using TableOpener = std::function<Result<table::TablePtr>(std::string_view spec)>;

    // Default opener: lib/table's open_table().
    static Result<Mynetworks> parse(const std::vector<std::string>& items, TableOpener opener = {});
    // The value of the mynetworks parameter (its computed default when unset).
    static Result<Mynetworks> from_config(const config::Config& config, TableOpener opener = {});

    Result<bool> match(std::string_view client_name, std::string_view client_addr) const;

private:
    struct Entry {
        enum class Kind { kNet, kTable, kName };
        Kind kind = Kind::kNet;
        bool negate = false;
        int family = 0;
        unsigned char bytes[16] = {};
        int prefix = 0;
        std::string name;                     // kName: lower-case host/domain
        std::shared_ptr<table::Table> table;  // kTable
    };
    Status add(std::string_view item, const TableOpener& opener, int depth);
    std::vector<Entry> entries_;
};

}  // namespace mailroom::smtpd
