// main_cf_edit.h - in-place edits of main.cf and master.cf text, as `postconf -e/-X/-#/-Me/-MX/-M#`.
//
// Summary
//   edit_main_cf() returns new main.cf text in which every logical line that
//   defines an edited parameter (its first physical line and its
//   continuation lines) is replaced by "name = value", removed, or commented
//   out; everything else (comments, blank lines, order, other continuation
//   lines) is kept byte for byte. Parameters set but not present are
//   appended at the end, in the order given. Pure: the caller writes the file
//   (atomically, util::write_file_atomic).
//
// Diagnostics
//   `warnings` receives "FILE: multiple entries for "name"" when a name is
//   defined more than once (each definition is edited).
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mailroom::config {

struct MainCfEdit {
    std::vector<std::pair<std::string, std::string>> set;  // name, new value
    std::vector<std::string> remove;                       // -X
    std::vector<std::string> comment_out;                  // -#
};

std::string edit_main_cf(std::string_view text, const MainCfEdit& edit, std::string_view filename,
                         std::vector<std::string>* warnings);

// The same for master.cf entries, keyed by "service/type": a set replaces
// the whole entry (with its continuation lines) by the given entry text.
struct MasterCfEdit {
    std::vector<std::pair<std::string, std::string>> set;  // service/type, entry text
    std::vector<std::string> remove;                       // -MX
    std::vector<std::string> comment_out;                  // -M#
};

std::string edit_master_cf(std::string_view text, const MasterCfEdit& edit, std::string_view filename,
                           std::vector<std::string>* warnings);

}  // namespace mailroom::config
