// strings.h - small string helpers shared by every parser.
//
// Summary
//   Trimming, case folding, splitting Postfix-style lists (commas and/or white
//   space), and printf-style formatting into std::string. All functions are
//   pure and allocation is the caller's only cost.
#pragma once

#include <cstdarg>
#include <string>
#include <string_view>
#include <vector>

namespace mailroom::util {

// White space as Postfix's parsers see it: space, tab, CR, LF, VT, FF.
inline bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

std::string_view trim(std::string_view s);
std::string_view trim_left(std::string_view s);
std::string_view trim_right(std::string_view s);
std::string lowercase(std::string_view s);
bool iequals(std::string_view a, std::string_view b);
bool starts_with_icase(std::string_view s, std::string_view prefix);

// Splits on any of `separators`, dropping empty fields.
std::vector<std::string> split(std::string_view s, std::string_view separators);

// Splits a Postfix list value: elements separated by commas and/or white
// space. Text inside balanced { } stays one element (with the braces), as in
// `inline:{ a=b, c=d }`.
std::vector<std::string> split_list(std::string_view s);

// Joins with `sep`.
std::string join(const std::vector<std::string>& parts, std::string_view sep);

// printf into a std::string.
std::string format(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
std::string vformat(const char* fmt, va_list ap);

}  // namespace mailroom::util
