// base64.h - RFC 4648 base64, as SASL exchanges (RFC 4954) carry it.
//
// Summary
//   base64_encode() writes the standard alphabet with "=" padding and no
//   line breaks. base64_decode() is strict: only the standard alphabet,
//   correct padding, no white space; anything else is nullopt, so a caller
//   can answer "Invalid base64 data" instead of guessing.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace mailroom::util {

std::string base64_encode(std::string_view data);
std::optional<std::string> base64_decode(std::string_view text);

// For MIME bodies and encoded words (lib/imap), which must never fail:
// base64_value() is a character's 6-bit value or -1; base64_decode_lenient()
// skips anything outside the alphabet (line breaks, garbage) and stops at
// the first '='.
int base64_value(char c);
std::string base64_decode_lenient(std::string_view text);

}  // namespace mailroom::util
