// table_check.h - can a configured lookup table be opened?
//
// Summary
//   check_table_spec("hash:/etc/mailroom/access") answers, without opening
//   the table, the questions configuration validation asks
//   (lib/config/validate.h): is the type one this build has, and is the
//   file a file-based type reads there and readable? table_checker()
//   packages both for validate_config(). log_invalid_values() runs that
//   validation and logs each problem, for master, mailroom and postconf.
//
// Description
//   hash and btree read NAME.db (what postmap writes); texthash, regexp,
//   pcre and cidr read NAME itself (an inline {...} pattern list reads no
//   file); mysql reads its configuration file NAME. proxy:TYPE:NAME checks
//   TYPE:NAME; unionmap:{a, b} and pipemap:{a, b} check each member. Other
//   types (inline, static, fail, environ, unix) read no file.
//
// Diagnostics
//   Postfix's words: "unsupported dictionary type: x", "open database
//   /etc/mailroom/access.db: No such file or directory", "open
//   /etc/mailroom/checks: Permission denied".
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "lib/config/validate.h"
#include "lib/log/log.h"
#include "lib/util/result.h"

namespace mailroom::table {

bool is_table_type(std::string_view type);
Status check_table_spec(std::string_view spec);
config::TableChecker table_checker();

// validate_config() with table_checker(); each problem ("FILE, line N:
// ...") is logged at `level` and returned.
std::vector<std::string> log_invalid_values(const config::Config& cfg, log::Level level);

}  // namespace mailroom::table
