// main_cf.h - the main.cf reader, a pure function from text to entries.
//
// Summary
//   parse_main_cf() turns main.cf text into "name = value" entries, each with
//   the line where its logical line starts, following Postfix's rules:
//   - a logical line starts in column 1; a line that starts with white space
//     continues the previous logical line;
//   - empty lines, white-space-only lines and lines whose first non-white
//     character is '#' are ignored (they do not end a logical line);
//   - white space around '=' and at the end of the value is dropped;
//   - values are never quoted and never carry trailing comments.
//   Continuation lines are joined with a single space.
//
// Diagnostics
//   A logical line without '=' or with an empty name is an error that names
//   the file and line ("FILE, line N: missing '=' after attribute name:
//   "text""). A continuation line before any parameter is a warning. A name
//   defined twice is a warning; the last definition wins.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "lib/util/result.h"

namespace mailroom::config {

struct MainCfEntry {
    std::string name;
    std::string value;
    int line = 0;  // 1-based line where the logical line starts
};

struct MainCfFile {
    std::vector<MainCfEntry> entries;  // in file order, duplicates included
    std::vector<std::string> warnings;
};

Result<MainCfFile> parse_main_cf(std::string_view text, std::string_view filename);

// One logical line of a master.cf-style or main.cf-style file.
struct LogicalLine {
    std::string text;  // continuation lines joined with one space, trimmed
    int first_line = 0;
    int last_line = 0;
};

// Splits text into logical lines (comments and blank lines skipped). Lines
// that start with white space before any logical line are reported through
// `orphans` (their line numbers) and otherwise ignored.
std::vector<LogicalLine> split_logical_lines(std::string_view text, std::vector<int>* orphans);

// True when `name` is a valid parameter name: letters, digits, '_', '.', '-'.
bool valid_param_name(std::string_view name);

}  // namespace mailroom::config
