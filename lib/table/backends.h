// backends.h - factories of the built-in table types (private to lib/table).
//
// Summary
//   table.cc registers each of these under its type name. Each takes the
//   part after "type:" and the open options.
#pragma once

#include "lib/table/table.h"

namespace mailroom::table::detail {

Result<TablePtr> open_hash(const std::string& name, const OpenOptions& options);
Result<TablePtr> open_btree(const std::string& name, const OpenOptions& options);
Result<TablePtr> open_texthash(const std::string& name, const OpenOptions& options);
Result<TablePtr> open_inline(const std::string& name, const OpenOptions& options);
Result<TablePtr> open_static(const std::string& name, const OpenOptions& options);
Result<TablePtr> open_fail(const std::string& name, const OpenOptions& options);
Result<TablePtr> open_environ(const std::string& name, const OpenOptions& options);
Result<TablePtr> open_unionmap(const std::string& name, const OpenOptions& options);
Result<TablePtr> open_pipemap(const std::string& name, const OpenOptions& options);
Result<TablePtr> open_cidr(const std::string& name, const OpenOptions& options);
Result<TablePtr> open_regexp(const std::string& name, const OpenOptions& options);
Result<TablePtr> open_pcre(const std::string& name, const OpenOptions& options);
Result<TablePtr> open_proxy(const std::string& name, const OpenOptions& options);
Result<TablePtr> open_unix(const std::string& name, const OpenOptions& options);
Result<TablePtr> open_mysql(const std::string& name, const OpenOptions& options);

}  // namespace mailroom::table::detail
