// authmysqlrc.h - courier-authlib's authmysqlrc file and the SQL it implies.
//
// Summary
//   parse_authmysqlrc() reads the text of an authmysqlrc file (the file
//   authd's `mysql:PATH` module names) into an AuthMysqlConfig; the
//   build_*_query() functions turn it and a user name into the SELECT,
//   enumerate and change-password statements, escaping every value taken
//   from a client. All pure functions: no I/O.
//
// Description
//   File syntax, as courier reads it: one `KEY value` per line, the value
//   being the rest of the line after the white space that follows the key;
//   a line ending in a backslash continues on the next; lines starting with
//   '#' (among them courier's `##VERSION:` and `##NAME:` markers) and blank
//   lines are ignored. Unknown keys are accepted and ignored (courier's own
//   file has keys for other modules).
//   A plain value (server, port, user, password, socket, database, table,
//   default domain, MYSQL_OPT) may be followed by an annotation in
//   parentheses after white space, as in the installation guides that print
//   `MYSQL_PORT 3306   (the port MySQL listens on)`: the annotation is
//   dropped. Field values are SQL expressions put into the query as they
//   stand (`concat('/var/mailbox/',maildir)`, `'2525'`): the file is
//   trusted, the user name is not.
//
//   The query (courier's default when MYSQL_SELECT_CLAUSE is not set):
//     SELECT login, crypt, clear, uid, gid, home, maildir, quota, name, options
//     FROM table WHERE login = 'user' [AND (where_clause)]
//   with '' for a field the file leaves out. A user name without '@' gets
//   @MYSQL_DEFAULT_DOMAIN first when that is set. In MYSQL_SELECT_CLAUSE,
//   MYSQL_ENUMERATE_CLAUSE, MYSQL_CHPASS_CLAUSE and MYSQL_WHERE_CLAUSE,
//   $(local_part), $(domain), $(service), and in the change-password clause
//   $(newpass) and $(newpass_crypt), are replaced by escaped values.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "lib/util/result.h"

namespace mailroom::auth {

struct AuthMysqlConfig {
    std::string server = "localhost";
    std::string socket;
    unsigned port = 0;  // 0: the client library's default
    unsigned long client_flags = 0;  // MYSQL_OPT
    std::string username;
    std::string password;
    std::string database;
    std::string character_set;  // MYSQL_CHARACTER_SET
    std::string user_table;
    std::string crypt_field;
    std::string clear_field;
    std::string uid_field = "uid";
    std::string gid_field = "gid";
    std::string login_field = "id";
    std::string home_field = "home";
    std::string name_field;
    std::string maildir_field;
    std::string quota_field;
    std::string options_field;  // MYSQL_AUXOPTIONS_FIELD
    std::string default_domain;
    std::string where_clause;
    std::string select_clause;
    std::string enumerate_clause;
    std::string chpass_clause;
};

// Parses the file text; errors name `filename` and the line.
Result<AuthMysqlConfig> parse_authmysqlrc(std::string_view text, const std::string& filename);

// Escapes one value for a quoted SQL string (mysql_real_escape_string on
// the connection; tests pass a stand-in).
using SqlEscape = std::function<std::string(std::string_view)>;

// The login after MYSQL_DEFAULT_DOMAIN is applied.
std::string mysql_login(const AuthMysqlConfig& cfg, std::string_view user);

// Replaces $(local_part), $(domain), $(service) (and the extra pairs) in
// `clause` with escaped values; other $(...) are left as they are.
std::string substitute_clause(std::string_view clause, std::string_view login, std::string_view service,
                              const SqlEscape& escape,
                              const std::vector<std::pair<std::string, std::string>>& extra = {});

std::string build_select_query(const AuthMysqlConfig& cfg, std::string_view user, std::string_view service,
                               const SqlEscape& escape);
// Columns: login, uid, gid, home, maildir, options.
std::string build_enumerate_query(const AuthMysqlConfig& cfg, const SqlEscape& escape);
// Empty when the file has neither MYSQL_CHPASS_CLAUSE nor a password field.
std::string build_chpass_query(const AuthMysqlConfig& cfg, std::string_view user, std::string_view service,
                               std::string_view new_clear, std::string_view new_crypt, const SqlEscape& escape);

}  // namespace mailroom::auth
