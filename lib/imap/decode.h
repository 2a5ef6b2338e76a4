// decode.h - MIME decoding for SEARCH and SORT: encoded words, transfer
// encodings, charsets, case folding.
//
// Summary
//   decode_header_value() turns a raw header value into UTF-8: unfolded,
//   RFC 2047 encoded words (B and Q, any charset iconv knows) decoded,
//   white space between adjacent encoded words dropped, malformed or
//   unknown-charset words kept literally, and bytes of raw 8-bit text that
//   are not valid UTF-8 replaced by U+FFFD (as Dovecot does).
//   decode_base64() and decode_qp() are lenient body decoders (garbage
//   skipped, never fail); decode_body() picks by Content-Transfer-Encoding.
//   to_utf8() converts a charset to UTF-8 with glibc iconv (invalid
//   sequences replaced by U+FFFD); nullopt for an unknown charset.
//   fold_case() is the comparator's key: simple Unicode upper-casing of
//   UTF-8 (towupper in the C.UTF-8 locale, ASCII only if that locale is
//   missing), standing for i;unicode-casemap's titlecase without its
//   decomposition step (docs/imap-message.md); upper case makes SORT order
//   "[" after letters as Dovecot's titlecase keys do. Search for a
//   substring with contains_folded().
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace mailroom::imap {

std::string decode_header_value(std::string_view raw);

std::string decode_base64(std::string_view text);
// Quoted-printable; hard line breaks come out as CRLF.
std::string decode_qp(std::string_view text);
// By encoding name (lower-case): base64, quoted-printable, others as they
// are. `known` (when given) is set false for an encoding that is not one
// of 7bit, 8bit, binary, base64, quoted-printable (the data is returned raw).
std::string decode_body(std::string_view body, std::string_view encoding, bool* known = nullptr);

std::optional<std::string> to_utf8(std::string_view text, std::string_view charset);
// Valid UTF-8 as it is, anything else read as ISO-8859-1.
std::string utf8_or_latin1(std::string_view text);
// Valid UTF-8 kept, every byte of an invalid sequence replaced by U+FFFD.
std::string repair_utf8(std::string_view text);
bool is_valid_utf8(std::string_view s);

std::string fold_case(std::string_view utf8);
// Whether folded `needle` occurs in folded `haystack` (both already folded).
bool contains_folded(std::string_view haystack_folded, std::string_view needle_folded);

}  // namespace mailroom::imap
