// postmap_core.h - the code behind postmap, postalias and newaliases.
//
// Summary
//   One implementation in two flavours: postmap reads "key whitespace value"
//   sources, postalias reads aliases(5) sources ("name: value, ...") and adds
//   the "@" -> "@" entry sendmail-era readers expect. Both build NAME.db
//   atomically, query any table type (-q key, -q -), delete (-d), dump (-s)
//   and add entries from standard input (-i). newaliases runs postalias on
//   every hash:/btree: entry of alias_database.
//
// Description
//   Options (Postfix's): -N/-n NUL-byte handling, -f do NOT fold keys to
//   lower case (folding is the default), -r replace duplicates, -w ignore
//   duplicates silently, -i incremental, -s dump, -q KEY, -d KEY, -c DIR,
//   -o name=value, -v verbose.
//   Exit status: 0 success (a query or delete found its key), 1 a query or
//   delete did not find its key (or a usage/config error, reported with
//   "fatal:"), 2 a table error during a query ("fatal: table ...: query
//   error"), so a temporary failure is never mistaken for "not found".
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "lib/table/table.h"
#include "lib/table/table_text.h"

namespace mailroom::postmap {

enum class Flavor { kPostmap, kPostalias };

struct Options {
    Flavor flavor = Flavor::kPostmap;
    bool fold_case = true;
    table::NullMode null_mode = table::NullMode::kDefault;
    table::DupMode dup_mode = table::DupMode::kWarn;
    bool incremental = false;
    bool dump = false;
    std::optional<std::string> query;   // -q KEY ("-" = stdin)
    std::optional<std::string> remove;  // -d KEY ("-" = stdin)
    std::string config_dir;             // -c
    std::vector<std::string> overrides; // -o name=value
    int verbose = 0;
    std::vector<std::string> maps;      // [type:]name operands
};

// Parses argv[1..]. Errors are usage errors.
Result<Options> parse_args(Flavor flavor, const std::vector<std::string>& args);

// Applies case folding and duplicate handling to parsed source entries, in
// file order. Duplicate warnings read "FILE, line N: duplicate entry: "key"".
std::vector<std::pair<std::string, std::string>> collect_entries(const table::TextParse& parse, bool fold_case,
                                                                 table::DupMode dup, const std::string& filename,
                                                                 std::vector<std::string>* warnings);

// Rebuilds spec.name + ".db" from the text file spec.name. The old .db stays
// intact when anything fails. Warnings about the source are appended.
Status build_map(const table::TableSpec& spec, const Options& options, std::vector<std::string>* warnings);

// Entry points of the three programs (argv as main() gets it).
int run(Flavor flavor, int argc, char** argv);
int run_newaliases(int argc, char** argv);

}  // namespace mailroom::postmap
