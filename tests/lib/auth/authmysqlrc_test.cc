// authmysqlrc_test.cc - the courier authmysqlrc parser (on the seed's file
// as printed, annotations and all) and the queries it implies, with their
// escaping of client-supplied names.
#include <catch2/catch.hpp>

#include <string>

#include "lib/auth/authmysqlrc.h"
#include "lib/util/fs.h"

using namespace mailroom;
using namespace mailroom::auth;

namespace {

// A stand-in for mysql_real_escape_string: backslash before quotes and
// backslashes, so a test sees exactly what was escaped.
std::string esc(std::string_view s) {
    std::string out;
    for (char c : s) {
        if (c == '\'' || c == '\\' || c == '"') out.push_back('\\');
        out.push_back(c);
    }
    return out;
}

}  // namespace

TEST_CASE("authmysqlrc: the seed's file as written", "[unit]") {
    auto text = util::read_file(std::string(MAILROOM_TEST_DATA) + "/auth/authmysqlrc.seed");
    REQUIRE(text.ok());
    auto cfg = parse_authmysqlrc(*text, "authmysqlrc");
    REQUIRE(cfg.ok());
    CHECK(cfg->server == "localhost");
    CHECK(cfg->port == 3306);  // "3306   (annotation)"
    CHECK(cfg->username == "extmail");
    CHECK(cfg->password == "extmail");
    CHECK(cfg->socket == "/var/lib/mysql/mysql.sock");
    CHECK(cfg->database == "extmail");
    CHECK(cfg->user_table == "mailbox");
    CHECK(cfg->crypt_field == "password");
    CHECK(cfg->clear_field.empty());
    CHECK(cfg->uid_field == "'2525'");
    CHECK(cfg->gid_field == "'2525'");
    CHECK(cfg->login_field == "username");
    CHECK(cfg->home_field == "concat('/var/mailbox/',homedir)");
    CHECK(cfg->name_field == "name");
    CHECK(cfg->maildir_field == "concat('/var/mailbox/',maildir)");
    CHECK(build_select_query(*cfg, "jerry@magedu.com", "smtp", esc) ==
          "SELECT username, password, '', '2525', '2525', concat('/var/mailbox/',homedir), "
          "concat('/var/mailbox/',maildir), '', name, '' FROM mailbox WHERE username = 'jerry@magedu.com'");
}

TEST_CASE("authmysqlrc: comments, version markers, continuations, every key", "[unit]") {
    const char* text =
        "##VERSION: $Id: authmysqlrc,v 1.21 $\n"
        "##NAME: MYSQL_SERVER:0\n"
        "# a comment\n"
        "\n"
        "MYSQL_SERVER\tdb.example.com\n"
        "MYSQL_PORT 3307\n"
        "MYSQL_OPT 2\n"
        "MYSQL_USERNAME u\n"
        "MYSQL_PASSWORD p w\n"
        "MYSQL_DATABASE d\n"
        "MYSQL_USER_TABLE users\n"
        "MYSQL_CLEAR_PWFIELD clear\n"
        "MYSQL_CRYPT_PWFIELD crypt\n"
        "MYSQL_UID_FIELD uidnumber\n"
        "MYSQL_GID_FIELD gidnumber\n"
        "MYSQL_LOGIN_FIELD username\n"
        "MYSQL_HOME_FIELD homedir\n"
        "MYSQL_NAME_FIELD name\n"
        "MYSQL_MAILDIR_FIELD maildir\n"
        "MYSQL_QUOTA_FIELD quota\n"
        "MYSQL_DEFAULT_DOMAIN example.com\n"
        "MYSQL_WHERE_CLAUSE active = '1' AND domain = '$(domain)'\n"
        "MYSQL_ENUMERATE_CLAUSE SELECT username, 5, 5, homedir, maildir, '' \\\n"
        "    FROM users WHERE active = '1'\n"
        "MYSQL_SOME_OTHER_KEY ignored\n";
    auto cfg = parse_authmysqlrc(text, "f");
    REQUIRE(cfg.ok());
    CHECK(cfg->server == "db.example.com");
    CHECK(cfg->port == 3307);
    CHECK(cfg->client_flags == 2);
    CHECK(cfg->password == "p w");
    CHECK(cfg->default_domain == "example.com");
    CHECK(cfg->enumerate_clause == "SELECT username, 5, 5, homedir, maildir, ''      FROM users WHERE active = '1'");
    // A bare name gets the default domain; the where clause is substituted.
    CHECK(build_select_query(*cfg, "bob", "imap", esc) ==
          "SELECT username, crypt, clear, uidnumber, gidnumber, homedir, maildir, quota, name, '' FROM users "
          "WHERE username = 'bob@example.com' AND (active = '1' AND domain = 'example.com')");
    CHECK(build_enumerate_query(*cfg, esc) == cfg->enumerate_clause);
    CHECK(build_chpass_query(*cfg, "bob", "imap", "new'pw", "$6$x$y", esc) ==
          "UPDATE users SET clear = 'new\\'pw', crypt = '$6$x$y' WHERE username = 'bob@example.com' AND "
          "(active = '1' AND domain = 'example.com')");
}

TEST_CASE("authmysqlrc: client values are escaped, file values are not", "[unit]") {
    auto cfg = parse_authmysqlrc("MYSQL_USER_TABLE mailbox\nMYSQL_CRYPT_PWFIELD password\n"
                                 "MYSQL_LOGIN_FIELD username\n",
                                 "f");
    REQUIRE(cfg.ok());
    std::string q = build_select_query(*cfg, "x' OR '1'='1", "smtp", esc);
    CHECK(q.find("WHERE username = 'x\\' OR \\'1\\'=\\'1'") != std::string::npos);
    // Defaults of courier: uid, gid, home.
    CHECK(q.rfind("SELECT username, password, '', uid, gid, home, '', '', '', '' FROM mailbox", 0) == 0);
}

TEST_CASE("authmysqlrc: MYSQL_SELECT_CLAUSE with $(local_part), $(domain), $(service)", "[unit]") {
    auto cfg = parse_authmysqlrc(
        "MYSQL_SELECT_CLAUSE SELECT username, password, '', 1001, 1001, home, maildir, quota, name, '' "
        "FROM mailbox WHERE username = '$(local_part)@$(domain)' AND svc = '$(service)' AND x = '$(unknown)'\n",
        "f");
    REQUIRE(cfg.ok());
    CHECK(build_select_query(*cfg, "o'neil@example.com", "imap", esc) ==
          "SELECT username, password, '', 1001, 1001, home, maildir, quota, name, '' FROM mailbox WHERE "
          "username = 'o\\'neil@example.com' AND svc = 'imap' AND x = '$(unknown)'");
    CHECK(build_chpass_query(*cfg, "a@b", "imap", "n", "c", esc).empty());
}

TEST_CASE("authmysqlrc: errors", "[unit]") {
    CHECK_FALSE(parse_authmysqlrc("MYSQL_CRYPT_PWFIELD password\n", "f").ok());  // no table
    CHECK_FALSE(parse_authmysqlrc("MYSQL_USER_TABLE t\n", "f").ok());            // no password field
    auto bad = parse_authmysqlrc("MYSQL_USER_TABLE t\nMYSQL_CRYPT_PWFIELD p\nMYSQL_PORT abc\n", "f");
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.error().message == "f, line 3: bad MYSQL_PORT value: abc");
}
