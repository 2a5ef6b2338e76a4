// regexp_table.h - regexp: (POSIX) and pcre: (PCRE2) tables.
//
// Summary
//   Rules "/pattern/flags result" are tried in file order; the first
//   matching pattern's result is returned after substituting $1..$n
//   (also ${n}, $(n)) with the matched sub-expressions; $$ is a '$'.
//   "!/pattern/ result" matches keys the pattern does not match (no $n
//   allowed); "if /pattern/" ... "endif" guards a group of rules. The
//   delimiter is the first character of the pattern (usually '/').
//
// Description
//   Both types are case-insensitive by default; flag 'i' toggles that.
//   regexp: 'x' toggles extended syntax (on by default), 'm' toggles
//   newline-sensitive matching. pcre: 'm' multi-line, 's' dot matches
//   newline, 'x' extended, 'A' anchored, 'E' dollar matches only at the end,
//   'U' ungreedy, 'X' accepted and ignored. Keys are never case-folded.
//
// Diagnostics
//   Bad rules (syntax, unknown flag, a $n beyond the pattern's groups, a
//   missing result) are skipped with "FILE, line N: ..." warnings.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "lib/table/table.h"

namespace mailroom::table {

// type is "regexp" or "pcre".
Result<TablePtr> open_regexp_text(std::string_view type, std::string_view text, const std::string& filename,
                                  std::vector<std::string>* warnings);

}  // namespace mailroom::table
