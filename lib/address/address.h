// address.h - the parts of a mail address: the one place that splits,
// quotes and unquotes an address (pure).
//
// Summary
//   Addresses travel through mailroom in the form the client wrote them
//   (RFC 5321 "Mailbox", RFC 5322 "addr-spec"): a local part that is a
//   dot-atom or a quoted string, "@", a domain or an address literal
//   ("[192.0.2.1]", "[IPv6:2001:db8::1]"). An address without "@" is a bare
//   local part (unqualified).
//   split() cuts an address at its last '@': a domain never holds an '@',
//   so this is right for quoted local parts ("a@b"@example.com) too.
//   split_extension() and strip_extension() cut the address extension
//   off a local part as Postfix's split_addr() does: at the first
//   character that is in recipient_delimiter (several characters may be
//   given; each one is a delimiter); never "postmaster", "mailer-daemon" or
//   the double-bounce sender; never when the result would have an empty
//   user part; and, when '-' is a delimiter and owner_request_special is
//   on (Postfix's owner_request_special = yes), never "owner-foo" or
//   "foo-request".
//   quote_local_part() gives the external form of a local part (a
//   dot-atom as is, anything else as a quoted string with '"' and '\'
//   escaped); unquote_local_part() gives the internal form back.
//   strip_trailing_dot() removes one trailing dot from a domain, never two
//   ("example.com." -> "example.com", "a.." stays), as trivial-rewrite and
//   resolve_local() do. address_literal() reads "[1.2.3.4]" or
//   "[IPv6:...]" and gives the bare address.
//
// Security
//   Pure functions on bounded strings; the input comes from the network.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace mailroom::address {

struct Parts {
    std::string local;   // all of the address when there is no '@'
    std::string domain;  // "" when there is no '@' (or nothing after it)
    bool has_at = false;
};

// Splits at the last '@'.
Parts split(std::string_view address);

// The local part / the domain (lower-cased, "" when none) of an address.
std::string local_part(std::string_view address);
std::string domain_lower(std::string_view address);

// RFC 5322 dot-atom text (atext characters in non-empty dot-separated runs).
bool is_dot_atom(std::string_view text);
// A quoted string from the first to the last character.
bool is_quoted_string(std::string_view text);

std::string quote_local_part(std::string_view local);
std::string unquote_local_part(std::string_view local);

// local@domain with the local part quoted as needed (internal -> external).
std::string join(std::string_view local, std::string_view domain);

struct ExtensionRules {
    std::string_view delimiters;              // recipient_delimiter; "" = no extensions
    bool owner_request_special = true;        // owner_request_special
    std::string_view double_bounce_sender = "double-bounce";
};

// The three parameters behind ExtensionRules (recipient_delimiter,
// owner_request_special, double_bounce_sender), owned, for daemons that keep
// them; resolve.h reads them from main.cf.
struct ExtensionSettings {
    std::string delimiters;
    bool owner_request_special = true;
    std::string double_bounce_sender = "double-bounce";
    ExtensionRules rules() const { return {delimiters, owner_request_special, double_bounce_sender}; }
};

struct ExtensionSplit {
    std::string user;       // the local part without the extension
    std::string extension;  // without the delimiter; "" when none was split off
    char delimiter = 0;     // the delimiter that separated them; 0 = nothing split
    bool split() const { return delimiter != 0; }
};

ExtensionSplit split_extension(std::string_view local, const ExtensionRules& rules);

struct Stripped {
    std::string address;    // user@domain (or user) without the extension
    std::string extension;  // with its delimiter first ("+tag"), as Postfix hands it on
};

// nullopt when the address has no extension to strip.
std::optional<Stripped> strip_extension(std::string_view address, const ExtensionRules& rules);

// `address` with `extension` (delimiter included) appended to its local
// part: "user@d" + "+tag" -> "user+tag@d" (propagate_unmatched_extensions).
std::string add_extension(std::string_view address, std::string_view extension);

std::string_view strip_trailing_dot(std::string_view domain);

// "[192.0.2.1]" -> "192.0.2.1", "[IPv6:::1]" -> "::1"; nullopt when
// `domain` is not a syntactically valid address literal.
std::optional<std::string> address_literal(std::string_view domain);

}  // namespace mailroom::address
