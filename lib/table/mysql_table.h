// mysql_table.h - mysql: tables (Postfix mysql_table(5)).
//
// Summary
//   mysql:/path/file.cf reads a main.cf-style file of connection and query
//   parameters and answers lookups with SQL queries. Both the current syntax
//   (`query = SELECT ... '%s'`) and the legacy one Extman's map files use
//   (`table`, `select_field`, `where_field`, `additional_conditions`) work.
//
// Description
//   Parameters: hosts (default localhost; "unix:/path", "inet:host[:port]",
//   "host[:port]"; UNIX sockets first, then TCP hosts, in random order
//   within each group; a failed host is skipped for retry_interval
//   seconds), user, password, dbname, query, result_format (default "%s"),
//   domain (domain names, /file/of/names, type:table), expansion_limit
//   (0 = none), option_file, option_group (default client), retry_interval
//   (default 60), and the legacy keys above.
//   Query template: %% is '%', %s the key, %u its local part (the whole key
//   when it has no '@'), %d its domain, %1..%9 the domain's labels from the
//   right; all are escaped with mysql_real_escape_string. When the key lacks
//   the part a template needs (%d without '@', an empty local part for %u,
//   too few labels) the query is not sent and the key is not found.
//   Upper-case %S %U %D mean the same in a query; in result_format the
//   lower-case letters refer to each result value and the upper-case ones
//   (and %1..%9) to the key. Empty and NULL columns are skipped; the values
//   of all rows and columns are joined with commas.
//   The connection is opened on first use and kept; a lost connection is
//   reopened (next host) once per lookup. When no host answers, or a query
//   fails, the lookup returns a TEMPORARY error, never "not found".
//
// Thread safety
//   One MysqlTable per thread at a time (async_lookup.h serialises it).
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lib/table/table.h"

namespace mailroom::table {

struct MysqlHost {
    enum class Kind { kUnix, kInet };
    Kind kind = Kind::kInet;
    std::string address;  // socket path or host name
    unsigned port = 3306;
};

struct MysqlConfig {
    std::vector<MysqlHost> hosts;
    std::string user;
    std::string password;
    std::string dbname;
    std::string query;          // after the legacy keys were folded in
    std::string result_format = "%s";
    std::vector<std::string> domains;  // names, /files, type:tables
    bool domain_restricted = false;    // a domain list was given
    long expansion_limit = 0;
    std::string option_file;
    std::string option_group = "client";
    long retry_interval = 60;
};

// Parses a mysql_table(5) file. Errors name the file (and line).
Result<MysqlConfig> parse_mysql_config(std::string_view text, const std::string& filename);

// "unix:/p", "inet:h:p", "h:p", "h".
Result<MysqlHost> parse_mysql_host(std::string_view text);

// Does a libmysqlclient error number (mysql_errno) say the connection is
// gone, so that the statement may be tried again on a new one?
bool mysql_connection_lost(unsigned err);

// Checks that a template has only known % sequences.
Status check_mysql_template(std::string_view tmpl, bool result_format);

using SqlQuote = std::function<std::string(std::string_view)>;

// Expands a query template for `key`; nullopt when the query must not be
// sent. `quote` escapes each substituted part.
std::optional<std::string> expand_mysql_query(std::string_view tmpl, std::string_view key, const SqlQuote& quote);
// Expands result_format for one value; nullopt when the value is skipped.
std::optional<std::string> expand_mysql_result(std::string_view tmpl, std::string_view value, std::string_view key);

}  // namespace mailroom::table
