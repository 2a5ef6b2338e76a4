// interfaces.h - this host's own network addresses, as inet_interfaces
// names them, and whether an address literal is one of them.
//
// Summary
//   interface_addresses() turns the inet_interfaces list into addresses:
//   "all" is every address of every interface (getifaddrs),
//   "loopback-only" 127.0.0.1 and ::1, anything else an address or a host
//   name (resolved). is_own_address_literal() tells whether a domain part
//   such as "[192.0.2.1]" or "[IPv6:2001:db8::1]" names one of them, which
//   Postfix counts as a local destination (resolve_local).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace mailroom::util {

// Addresses in their canonical text form ("192.0.2.1", "2001:db8::1").
std::vector<std::string> interface_addresses(const std::vector<std::string>& inet_interfaces);

// `domain` is "[addr]" or "[IPv6:addr]" and addr is in `own` (compared in
// canonical form).
bool is_own_address_literal(std::string_view domain, const std::vector<std::string>& own);

}  // namespace mailroom::util
