// mysql_table_test.cc - mysql_table(5) configuration, % expansion, and the
// temporary error of an unreachable server (no server needed).
#include "lib/table/mysql_table.h"

#include <catch2/catch.hpp>

#include "tests/lib/table/test_util.h"

using namespace mailroom;
using namespace mailroom::table;
using mailroom::table::testing::TempDir;

namespace {
std::string quote_for_test(std::string_view s) {
    std::string out;
    for (char c : s) {
        if (c == '\'') out += '\\';
        out += c;
    }
    return out;
}
std::string q(std::string_view tmpl, std::string_view key) {
    auto r = expand_mysql_query(tmpl, key, quote_for_test);
    return r ? *r : "<suppressed>";
}
std::string rf(std::string_view tmpl, std::string_view value, std::string_view key) {
    auto r = expand_mysql_result(tmpl, value, key);
    return r ? *r : "<skipped>";
}
}  // namespace

TEST_CASE("mysql: legacy Extman keys build the query", "[unit]") {
    auto c = parse_mysql_config(
        "user = extmail\npassword = extmail\nhosts = localhost\ndbname = extmail\n"
        "table = mailbox\nselect_field = maildir\nwhere_field = username\n"
        "additional_conditions = AND active = '1'\n",
        "m.cf");
    REQUIRE(c.ok());
    CHECK(c->query == "SELECT maildir FROM mailbox WHERE username='%s' AND active = '1'");
    CHECK(c->user == "extmail");
    CHECK(c->password == "extmail");
    CHECK(c->dbname == "extmail");
    REQUIRE(c->hosts.size() == 1);
    CHECK(c->hosts[0].kind == MysqlHost::Kind::kInet);
    CHECK(c->hosts[0].address == "localhost");
    CHECK(c->result_format == "%s");
}

TEST_CASE("mysql: configuration errors", "[unit]") {
    CHECK(!parse_mysql_config("dbname = x\n", "m.cf").ok());  // no query, no legacy keys
    CHECK(!parse_mysql_config("query = SELECT 1\n", "m.cf").ok());  // no dbname
    CHECK(!parse_mysql_config("dbname = x\nquery = SELECT '%x'\n", "m.cf").ok());
    CHECK(!parse_mysql_config("dbname = x\nquery = SELECT '%s'\nresult_format = %q\n", "m.cf").ok());
    CHECK(!parse_mysql_config("dbname = x\nquery = SELECT '%s'\nexpansion_limit = lots\n", "m.cf").ok());
    auto e = parse_mysql_config("dbname = x\n", "/etc/m.cf");
    REQUIRE(!e.ok());
    CHECK(e.error().message.find("/etc/m.cf") != std::string::npos);
}

TEST_CASE("mysql: hosts syntax", "[unit]") {
    struct Case {
        const char* text;
        MysqlHost::Kind kind;
        const char* address;
        unsigned port;
    };
    const Case cases[] = {
        {"unix:/run/mysqld/mysqld.sock", MysqlHost::Kind::kUnix, "/run/mysqld/mysqld.sock", 3306},
        {"inet:db1:3307", MysqlHost::Kind::kInet, "db1", 3307},
        {"db2:3308", MysqlHost::Kind::kInet, "db2", 3308},
        {"db3", MysqlHost::Kind::kInet, "db3", 3306},
        {"inet:127.0.0.1", MysqlHost::Kind::kInet, "127.0.0.1", 3306},
    };
    for (const Case& c : cases) {
        INFO(c.text);
        auto h = parse_mysql_host(c.text);
        REQUIRE(h.ok());
        CHECK(h->kind == c.kind);
        CHECK(h->address == c.address);
        CHECK(h->port == c.port);
    }
    CHECK(!parse_mysql_host("unix:").ok());
    CHECK(!parse_mysql_host("db:port").ok());
    auto c = parse_mysql_config("hosts = unix:/a.sock, inet:b:1 c\ndbname=x\nquery=SELECT '%s'\n", "m");
    REQUIRE(c.ok());
    CHECK(c->hosts.size() == 3);
}

TEST_CASE("mysql: query expansion, table of cases", "[unit]") {
    struct Case {
        const char* tmpl;
        const char* key;
        const char* want;
    };
    const Case cases[] = {
        {"k='%s'", "user@example.com", "k='user@example.com'"},
        {"u='%u' d='%d'", "user@example.com", "u='user' d='example.com'"},
        {"u='%u'", "user", "u='user'"},
        {"d='%d'", "user", "<suppressed>"},
        {"u='%u'", "@example.com", "<suppressed>"},
        {"%1 %2 %3", "u@mail.example.com", "com example mail"},
        {"%4", "u@mail.example.com", "<suppressed>"},
        {"%1", "nodomain", "<suppressed>"},
        {"100%% '%s'", "x", "100% 'x'"},
        {"'%S' '%U' '%D'", "a@b.c", "'a@b.c' 'a' 'b.c'"},
        {"'%s'", "x' OR '1'='1", "'x\\' OR \\'1\\'=\\'1'"},
    };
    for (const Case& c : cases) {
        INFO(c.tmpl << " / " << c.key);
        CHECK(q(c.tmpl, c.key) == c.want);
    }
}

TEST_CASE("mysql: result_format expansion", "[unit]") {
    CHECK(rf("%s", "v", "k") == "v");
    CHECK(rf("/var/mailbox/%s", "d/u/Maildir/", "u@d") == "/var/mailbox/d/u/Maildir/");
    CHECK(rf("%u at %d", "joe@x.org", "k@y.org") == "joe at x.org");
    CHECK(rf("%d", "nodomain", "k@y.org") == "<skipped>");
    CHECK(rf("%U@%D %1", "v", "k@y.org") == "k@y.org org");
}

TEST_CASE("mysql: an unreachable server is a temporary error, not 'not found'", "[unit]") {
    TempDir dir;
    std::string cf = dir.write("m.cf", "hosts = unix:" + dir.path() + "/no.sock\nuser = u\npassword = p\n"
                                       "dbname = d\nquery = SELECT v FROM t WHERE k='%s'\n");
    auto t = open_table("mysql:" + cf);
    REQUIRE(t.ok());
    CHECK((*t)->may_block());
    auto r = (*t)->lookup("key@example.com");
    REQUIRE(!r.ok());
    CHECK(r.error().temporary());
    // A second lookup tries again (and fails the same way).
    r = (*t)->lookup("key@example.com");
    REQUIRE(!r.ok());
    CHECK(r.error().temporary());
}

TEST_CASE("mysql: the domain list suppresses queries for other domains", "[unit]") {
    TempDir dir;
    // The server does not exist: a query would be a temporary error, so
    // "not found" proves no query was attempted.
    std::string cf = dir.write("m.cf", "hosts = unix:" + dir.path() + "/no.sock\ndbname = d\n"
                                       "domain = example.com, inline:{other.org=1}\n"
                                       "query = SELECT v FROM t WHERE k='%s'\n");
    auto t = open_table("mysql:" + cf);
    REQUIRE(t.ok());
    auto r = (*t)->lookup("user@elsewhere.net");
    REQUIRE(r.ok());
    CHECK(!r->has_value());
    r = (*t)->lookup("bare-domain.com");
    REQUIRE(r.ok());
    CHECK(!r->has_value());
    CHECK(!(*t)->lookup("user@example.com").ok());
    CHECK(!(*t)->lookup("user@OTHER.org").ok());
}

TEST_CASE("mysql: domain lists from files and an empty list allows nothing", "[unit]") {
    TempDir dir;
    std::string list = dir.write("domains", "# hosted\nexample.com\n\nexample.net, example.org\n");
    std::string empty = dir.write("none", "# nothing yet\n");
    std::string base = "hosts = unix:" + dir.path() + "/no.sock\ndbname = d\nquery = SELECT v FROM t WHERE k='%s'\n";
    auto t = open_table("mysql:" + dir.write("m.cf", base + "domain = " + list + "\n"));
    REQUIRE(t.ok());
    CHECK(!(*t)->lookup("u@example.org").ok());  // queried (and the server is absent)
    CHECK(!(*t)->lookup("u@example.com").ok());
    auto r = (*t)->lookup("u@example.edu");
    REQUIRE(r.ok());
    CHECK(!r->has_value());

    auto e = open_table("mysql:" + dir.write("e.cf", base + "domain = " + empty + "\n"));
    REQUIRE(e.ok());
    r = (*e)->lookup("u@example.com");
    REQUIRE(r.ok());
    CHECK(!r->has_value());
    CHECK(!open_table("mysql:" + dir.write("x.cf", base + "domain = " + dir.path() + "/missing\n")).ok());
}
