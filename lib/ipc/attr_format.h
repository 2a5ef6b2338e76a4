// attr_format.h - the one definition of the attribute-record wire format.
//
// Summary
//   Constants shared by the encoder and the decoder of attribute records
//   (requests and replies between mailroom daemons over UNIX sockets). The
//   prose specification is docs/ipc-format.md; this header and that file
//   change together.
//
// Description
//   A record is a list of attributes followed by an empty name:
//
//     record    = *attribute NUL
//     attribute = name NUL tag value
//     tag       = "s" / "i" / "l"
//     value     = string NUL          ; tag "s": bytes 0x01-0xFF, no NUL
//               / integer NUL         ; tag "i": canonical signed decimal
//               / *attribute NUL      ; tag "l": a nested list
//
//   Names are 1..kMaxNameLength bytes of [a-z0-9_], unique within their
//   list. Integers are signed 64-bit, "0" or an optional "-" followed by a
//   digit 1-9 and more digits (no "+", no leading zeros, no "-0"). Every
//   size is bounded by the limits below; anything over a limit, any
//   unknown tag and any bytes after the final NUL are errors.
#pragma once

#include <cstddef>
#include <cstdint>

namespace mailroom::ipc {

inline constexpr char kAttrTagString = 's';
inline constexpr char kAttrTagInteger = 'i';
inline constexpr char kAttrTagList = 'l';

inline constexpr std::size_t kMaxNameLength = 64;
inline constexpr std::size_t kMaxStringLength = 256 * 1024;
inline constexpr std::size_t kMaxIntegerDigits = 20;  // "-9223372036854775808"
inline constexpr std::size_t kMaxAttrsPerList = 1024;
inline constexpr std::size_t kMaxNestingDepth = 8;     // lists inside the top-level list
inline constexpr std::size_t kMaxRecordBytes = 1024 * 1024;

}  // namespace mailroom::ipc
