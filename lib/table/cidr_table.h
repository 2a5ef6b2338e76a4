// cidr_table.h - cidr: tables (Postfix cidr_table(5)).
//
// Summary
//   A cidr table file holds "network/prefix result" rules in order; the
//   first rule whose block contains the looked-up IPv4 or IPv6 address wins.
//   "!pattern result" matches addresses outside the block; "if pattern" ...
//   "endif" guards a group of rules. A pattern without "/prefix" matches one
//   address; IPv6 addresses may be written in [brackets].
//
// Diagnostics
//   Bad lines are skipped with "FILE, line N: ..." warnings, e.g. a block
//   with host bits set ("non-null host address bits in "1.2.3.4/24", perhaps
//   you should use "1.2.3.0/24" instead"). A key that is not an IP address
//   is simply not found.
#pragma once

#include <netinet/in.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lib/table/table.h"

namespace mailroom::table {

// An IPv4 (4 bytes) or IPv6 (16 bytes) address.
struct IpAddress {
    int family = 0;  // AF_INET or AF_INET6
    unsigned char bytes[16] = {};
    size_t size() const { return family == AF_INET ? 4 : 16; }
};

// Parses "1.2.3.4", "2001:db8::1" or "[2001:db8::1]"; nullopt otherwise.
std::optional<IpAddress> parse_ip_address(std::string_view text);

// Builds a cidr table from file text. Warnings name FILE and line.
Result<TablePtr> open_cidr_text(std::string_view text, const std::string& filename,
                                std::vector<std::string>* warnings);

}  // namespace mailroom::table
