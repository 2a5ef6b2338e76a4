// address_list.h - RFC 5322 address lists in headers (pure).
//
// Summary
//   split_address_list() cuts a header value ("A <a@x>, b@y (Bee), g: c;")
//   into its members, honouring quotes, comments, angle brackets and group
//   syntax. address_of() returns the bare address of one member (inside
//   <...>, or the member without comments and display name). These serve
//   cleanup (qualifying From/To/Cc) and sendmail -t (recipients from
//   headers). qualify_address() appends "@domain" to an address without
//   one; qualify_header_value() does so for every member of a list,
//   leaving display names, comments and layout alone.
//
// Description
//   The parser is forgiving, as mail software must be: unbalanced quotes
//   or brackets end at the end of the value. The empty address and "<>"
//   are never qualified.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace mailroom::submit {

struct AddressMember {
    std::size_t begin = 0;  // byte range of the member within the value
    std::size_t end = 0;
    std::size_t addr_begin = 0;  // byte range of the address proper
    std::size_t addr_end = 0;
};

std::vector<AddressMember> split_address_list(std::string_view value);
std::vector<std::string> addresses_in(std::string_view value);

std::string qualify_address(std::string_view address, std::string_view domain);
std::string qualify_header_value(std::string_view value, std::string_view domain);

}  // namespace mailroom::submit
