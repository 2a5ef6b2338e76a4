// table_check_test.cc - a configured table's type exists and its file is readable.
#include "lib/table/table_check.h"

#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "lib/config/config.h"
#include "test_util.h"

using namespace mailroom;
using table::check_table_spec;
using table::testing::TempDir;

TEST_CASE("file-based tables: the file they read must exist", "[unit]") {
    TempDir d;
    std::string src = d.write("access", "a OK\n");
    // hash and btree read NAME.db, which postmap writes.
    auto st = check_table_spec("hash:" + src);
    REQUIRE_FALSE(st.ok());
    CHECK(st.error().message == "open database " + src + ".db: No such file or directory");
    d.write("access.db", "");
    CHECK(check_table_spec("hash:" + src).ok());
    CHECK(check_table_spec("btree:" + src).ok());
    // texthash, regexp, pcre and cidr read NAME.
    for (const char* type : {"texthash", "regexp", "pcre", "cidr"}) {
        CHECK(check_table_spec(std::string(type) + ":" + src).ok());
        auto missing = check_table_spec(std::string(type) + ":" + d.path() + "/nope");
        REQUIRE_FALSE(missing.ok());
        CHECK(missing.error().message == "open " + d.path() + "/nope: No such file or directory");
    }
    CHECK(check_table_spec("regexp:{ {/x/ REJECT} }").ok());  // inline patterns read no file
}

TEST_CASE("unknown types, and the tables inside proxy, unionmap and pipemap", "[unit]") {
    TempDir d;
    auto st = check_table_spec("nosuch:/etc/x");
    REQUIRE_FALSE(st.ok());
    CHECK(st.error().message == "unsupported dictionary type: nosuch");
    CHECK(check_table_spec("static:anything").ok());
    CHECK(check_table_spec("inline:{ a=b }").ok());
    CHECK(check_table_spec("proxy:unix:passwd.byname").ok());
    CHECK_FALSE(check_table_spec("proxy:hash:" + d.path() + "/gone").ok());
    CHECK_FALSE(check_table_spec("unionmap:{ static:x, hash:" + d.path() + "/gone }").ok());
    CHECK(check_table_spec("unionmap:{ static:x, inline:{a=b} }").ok());
    CHECK_FALSE(check_table_spec("/etc/no-type").ok());
}

TEST_CASE("a file the caller cannot read is refused", "[unit]") {
    if (::geteuid() == 0) SUCCEED("root reads every file");
    else {
        TempDir d;
        std::string f = d.write("secret", "x\n");
        ::chmod(f.c_str(), 0);
        auto st = check_table_spec("regexp:" + f);
        REQUIRE_FALSE(st.ok());
        CHECK(st.error().message == "open " + f + ": Permission denied");
    }
}

TEST_CASE("table_checker plugs the real tables into validate_config", "[unit]") {
    TempDir d;
    auto cfg = config::Config::from_text("alias_maps = hash:" + d.path() + "/aliases\n", d.path()).value();
    auto tables = table::table_checker();
    auto problems = config::validate_config(cfg, &tables);
    REQUIRE(problems.size() == 1);
    CHECK(problems[0] == d.path() + "/main.cf, line 1: alias_maps: open database " + d.path() +
                             "/aliases.db: No such file or directory");
    CHECK(tables.known_type("pcre"));
    CHECK_FALSE(tables.known_type("dbm"));
}
