// db_table.h - hash: and btree: tables over Berkeley DB files NAME.db.
//
// Summary
//   The table layer over db_file.h: keys are folded to lower case when the
//   options say so, and keys and values carry a trailing NUL byte according
//   to NullMode (Postfix's -N/-n): by default files are written with the
//   NUL, and a reader tries the key with the NUL first, then without, and
//   sticks to whichever form first matched.
//
// Description
//   build_indexed_table() is postmap's and postalias's rebuild: it encodes
//   the entries and writes NAME.db atomically (db_file.h), so readers see
//   the old table or the new one, and a failed build leaves the old intact.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "lib/table/db_file.h"
#include "lib/table/table.h"

namespace mailroom::table {

// "hash" -> kHash, "btree" -> kBtree; error for other types.
Result<DbKind> db_kind_for_type(std::string_view type);

// The file a hash:/btree: table NAME lives in: NAME.db.
inline std::string db_path_for(const std::string& name) { return name + ".db"; }

// Encodes one key or value for storage under `mode` (adds the NUL unless
// kNoNull).
std::string encode_db_string(std::string_view s, NullMode mode);

// Rebuilds NAME.db from entries (already folded and de-duplicated by the
// caller) atomically.
Status build_indexed_table(const TableSpec& spec, const std::vector<std::pair<std::string, std::string>>& entries,
                           NullMode mode, int file_mode);

}  // namespace mailroom::table
