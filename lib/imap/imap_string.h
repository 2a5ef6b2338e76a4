// imap_string.h - writing IMAP strings (RFC 3501 section 4.3, 9).
//
// Summary
//   imap_quote() writes a value as a quoted string when it can be one
//   (7-bit, no CR, LF or NUL, at most kMaxQuoted bytes; '"' and '\'
//   escaped) and as a literal "{n}\r\n..." otherwise. imap_nstring() does
//   the same, or writes NIL for a missing value. imap_astring() writes an
//   atom when the value is one and not "NIL", a string otherwise.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace mailroom::imap {

inline constexpr std::size_t kMaxQuoted = 4096;

// Appends `s` to `out` as a quoted string or, when it cannot be quoted, a literal.
void append_quoted(std::string* out, std::string_view s);
std::string imap_quote(std::string_view s);
// NIL for nullopt, else imap_quote().
std::string imap_nstring(const std::optional<std::string_view>& s);
void append_nstring(std::string* out, const std::optional<std::string_view>& s);
// An atom when `s` is a non-empty atom other than NIL, else imap_quote().
std::string imap_astring(std::string_view s);

// Whether c may appear in an atom (ATOM-CHAR).
bool is_atom_char(char c);

}  // namespace mailroom::imap
