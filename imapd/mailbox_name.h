// mailbox_name.h - mailbox names on the wire: IMAP4rev1's modified UTF-7
// (RFC 3501 5.1.3) and IMAP4rev2's UTF-8 (RFC 9051 5.1).
//
// Summary
//   The mail store keeps names as IMAP4rev1 clients send them, in modified
//   UTF-7 (as Dovecot names its Maildir++ folders), so a folder created by
//   either kind of client is the same folder on disk. A session that
//   enabled IMAP4rev2 speaks UTF-8: its names are converted to modified
//   UTF-7 on the way in and back to UTF-8 on the way out.
//
// Description
//   Printable US-ASCII other than '&' stands for itself; '&' is "&-";
//   anything else is UTF-16 in modified base64 (',' for '/', no padding)
//   between '&' and '-'. The converters are exact inverses on valid input.
//   A name that is not valid modified UTF-7 (or valid UTF-8) has no
//   conversion (nullopt); the caller then uses the bytes as they are.
//
// Thread safety
//   Pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace mailroom::imapd {

std::optional<std::string> utf8_to_mutf7(std::string_view utf8);
std::optional<std::string> mutf7_to_utf8(std::string_view mutf7);

}  // namespace mailroom::imapd
