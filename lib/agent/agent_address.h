// agent_address.h - the address pieces delivery agents work with.
//
// Summary
//   split_address() cuts "local@domain" at the last '@'. split_extension()
//   cuts a local part at the first recipient_delimiter character:
//   "user+ext" -> user "user", extension "ext", delimiter '+'. As in
//   Postfix, nothing is split off when the local part starts with the
//   delimiter, and with '-' as delimiter "owner-x" and "x-request" keep
//   their hyphen. quote_local_part() applies RFC 5322 quoting to a local
//   part that is not a dot-atom (pipe's q flag).
#pragma once

#include <string>
#include <string_view>

namespace mailroom::agent {

struct AddressParts {
    std::string local;   // all of the address when there is no '@'
    std::string domain;  // "" when there is no '@'
};

AddressParts split_address(std::string_view address);

struct ExtensionParts {
    std::string user;       // local part without the extension
    std::string extension;  // "" when none
    char delimiter = 0;     // the character that separated them, 0 when none
};

ExtensionParts split_extension(std::string_view local, std::string_view delimiters);

std::string quote_local_part(std::string_view local);

}  // namespace mailroom::agent
