// table_text.h - pure parsers for the text sources of lookup tables.
//
// Summary
//   split_table_lines() turns a table source file into logical lines with
//   Postfix's rules (a line starting with white space continues the previous
//   one, joined with only the newline removed, so its leading white space
//   stays; blank lines and lines whose first non-blank character is '#' are
//   skipped). parse_map_source() reads the postmap format "key whitespace
//   value"; parse_alias_source() reads the aliases(5) format
//   "name: value, value". Both return entries plus warnings that name the
//   file and line, as postmap/postalias print them.
//
// Description
//   Map format: the key ends at the first white space, or is a double-quoted
//   string ("a b" with \" and \\ escapes, Postfix 3.2+) whose quotes are
//   removed. A key ending in ':' draws the warning Postfix gives ("record is
//   in "key: value" format; is this an alias file?") and is kept as written.
//   A line without a value is skipped with a warning.
//   Alias format: the name ends at the first unquoted ':'; a quoted name
//   ("a b": x) is stored without its quotes. The value is the rest of the
//   logical line, trimmed. A missing ':' or an empty name or value is skipped
//   with a warning.
//
// Security
//   Input lines longer than kMaxLineLength are skipped with a warning, so a
//   hostile or corrupt file cannot make a process grow without bound.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace mailroom::table {

inline constexpr size_t kMaxLineLength = 1 << 20;  // one logical line

struct TextLine {
    std::string text;  // physical lines joined without their newlines, trimmed
    int line = 0;      // 1-based number of the first physical line
};

struct TextEntry {
    std::string key;
    std::string value;
    int line = 0;
};

struct TextParse {
    std::vector<TextEntry> entries;
    std::vector<std::string> warnings;  // "FILE, line N: text"
};

std::vector<TextLine> split_table_lines(std::string_view text, std::string_view filename,
                                        std::vector<std::string>* warnings);

TextParse parse_map_source(std::string_view text, std::string_view filename);
TextParse parse_alias_source(std::string_view text, std::string_view filename);

// Parses one map-format logical line (postmap -i, -q -). Empty key on error,
// with the reason in *error.
TextEntry parse_map_line(std::string_view line, std::string* error);
TextEntry parse_alias_line(std::string_view line, std::string* error);

// Splits "{ a, b }" or "a, b" list text into elements (inline:, unionmap:).
// Text inside inner braces stays one element with its braces stripped.
std::vector<std::string> split_brace_list(std::string_view text, std::string* error);
// Removes one level of surrounding braces and white space: "{ x y }" -> "x y".
std::string strip_braces(std::string_view text);

}  // namespace mailroom::table
