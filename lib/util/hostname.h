// hostname.h - host name and address syntax (pure).
//
// Summary
//   valid_hostname() is Postfix's valid_hostname(): letters, digits, '-'
//   and '_' in dot-separated labels of at most 63 bytes, 255 in all, not
//   all numeric, no label starting or ending in '-'. valid_host_address()
//   accepts "1.2.3.4" or an IPv6 address (with or without "IPv6:").
#pragma once

#include <string_view>

namespace mailroom::util {

bool valid_hostname(std::string_view name);
bool valid_host_address(std::string_view addr);

}  // namespace mailroom::util
