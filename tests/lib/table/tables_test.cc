// tables_test.cc - every table type through open_table(), table-driven.
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <thread>

#include "lib/table/cidr_table.h"
#include "lib/table/db_file.h"
#include "lib/table/db_table.h"
#include "lib/table/regexp_table.h"
#include "lib/table/table.h"
#include "tests/lib/table/test_util.h"

using namespace mailroom;
using namespace mailroom::table;
using mailroom::table::testing::TempDir;

namespace {

// "=value", "-" (not found), "!" (error), "!t" (temporary error).
std::string outcome(const LookupResult& r) {
    if (!r) return r.error().temporary() ? "!t" : "!";
    if (!r->has_value()) return "-";
    return "=" + **r;
}

std::string lookup(Table& t, std::string_view key) { return outcome(t.lookup(key)); }

TablePtr must_open(const std::string& spec, const OpenOptions& o = {}) {
    Result<TablePtr> t = open_table(spec, o);
    INFO(spec << ": " << (t ? std::string() : t.error().message));
    REQUIRE(t.ok());
    return std::move(*t);
}

}  // namespace

TEST_CASE("table_types lists every built-in type, sorted", "[unit]") {
    std::vector<std::string> want = {"btree", "cidr", "environ", "fail", "hash", "inline", "mysql", "proxy", "unix",
                                     "pcre", "pipemap", "regexp", "static", "texthash", "unionmap"};
    std::vector<std::string> got = table_types();
    for (const auto& w : want) CHECK(std::find(got.begin(), got.end(), w) != got.end());
    CHECK(std::is_sorted(got.begin(), got.end()));
}

TEST_CASE("parse_table_spec", "[unit]") {
    auto s = parse_table_spec("hash:/etc/aliases");
    REQUIRE(s.ok());
    CHECK(s->type == "hash");
    CHECK(s->name == "/etc/aliases");
    s = parse_table_spec("/etc/aliases", "btree");
    REQUIRE(s.ok());
    CHECK(s->type == "btree");
    CHECK(!parse_table_spec("/etc/aliases").ok());
    s = parse_table_spec("static:{ a:b }");
    REQUIRE(s.ok());
    CHECK(s->name == "{ a:b }");
    CHECK(!open_table("nosuchtype:x").ok());
}

TEST_CASE("hash and btree: build, fold case, NUL handling", "[unit]") {
    TempDir dir;
    for (const char* type : {"hash", "btree"}) {
        SECTION(type) {
            std::string name = dir.path() + "/map-" + type;
            TableSpec spec{type, name};
            REQUIRE(build_indexed_table(spec, {{"user@example.com", "OK"}, {"mixed", "Value Kept"}},
                                        NullMode::kDefault, 0644)
                        .ok());
            // Keys are stored with a trailing NUL by default.
            Result<DbFile> raw = DbFile::open(name + ".db", *db_kind_for_type(type), DbFile::Mode::kReadOnly);
            REQUIRE(raw.ok());
            auto with = raw->get(std::string("mixed", 6));
            REQUIRE(with.ok());
            REQUIRE(with->has_value());
            CHECK(**with == std::string("Value Kept\0", 11));
            auto without = raw->get("mixed");
            REQUIRE(without.ok());
            CHECK(!without->has_value());

            TablePtr t = must_open(spec.text());
            CHECK(lookup(*t, "USER@Example.COM") == "=OK");
            CHECK(lookup(*t, "mixed") == "=Value Kept");
            CHECK(lookup(*t, "absent") == "-");

            OpenOptions nofold;
            nofold.fold_case = false;
            TablePtr t2 = must_open(spec.text(), nofold);
            CHECK(lookup(*t2, "USER@Example.COM") == "-");
            CHECK(lookup(*t2, "user@example.com") == "=OK");

            // -n: a file without NULs is read by the default (try both) mode,
            // but not by -N.
            REQUIRE(build_indexed_table(spec, {{"k", "v"}}, NullMode::kNoNull, 0644).ok());
            TablePtr t3 = must_open(spec.text());
            CHECK(lookup(*t3, "k") == "=v");
            OpenOptions withnull;
            withnull.null_mode = NullMode::kWithNull;
            TablePtr t4 = must_open(spec.text(), withnull);
            CHECK(lookup(*t4, "k") == "-");
        }
    }
}

TEST_CASE("hash: update, remove, for_each, changed()", "[unit]") {
    TempDir dir;
    std::string name = dir.path() + "/upd";
    OpenOptions o;
    o.for_update = true;
    o.create = true;
    TablePtr t = must_open("hash:" + name, o);
    REQUIRE(t->update("A", "1").ok());
    REQUIRE(t->update("b", "2").ok());
    REQUIRE(t->sync().ok());
    CHECK(lookup(*t, "a") == "=1");
    auto removed = t->remove("A");
    REQUIRE(removed.ok());
    CHECK(*removed);
    removed = t->remove("A");
    REQUIRE(removed.ok());
    CHECK(!*removed);
    std::vector<std::string> seen;
    REQUIRE(t->for_each([&](std::string_view k, std::string_view v) { seen.push_back(std::string(k) + "=" + std::string(v)); }).ok());
    CHECK(seen == std::vector<std::string>{"b=2"});

    TablePtr reader = must_open("hash:" + name);
    CHECK(!reader->changed());
    REQUIRE(build_indexed_table({"hash", name}, {{"b", "3"}}, NullMode::kDefault, 0644).ok());
    CHECK(reader->changed());
    CHECK(!must_open("hash:" + name)->changed());
    CHECK(!open_table("hash:" + dir.path() + "/missing").ok());
}

TEST_CASE("atomic rebuild keeps the old db when the build fails", "[unit]") {
    TempDir dir;
    std::string name = dir.path() + "/atomic";
    REQUIRE(build_indexed_table({"hash", name}, {{"old", "yes"}}, NullMode::kDefault, 0644).ok());
    // Block the temp file name with a directory so the new build fails.
    std::string tmp = name + ".db.tmp." + std::to_string(::getpid());
    REQUIRE(::mkdir(tmp.c_str(), 0700) == 0);
    REQUIRE(::mkdir((tmp + "/x").c_str(), 0700) == 0);
    Status s = build_indexed_table({"hash", name}, {{"new", "yes"}}, NullMode::kDefault, 0644);
    CHECK(!s.ok());
    TablePtr t = must_open("hash:" + name);
    CHECK(lookup(*t, "old") == "=yes");
    CHECK(lookup(*t, "new") == "-");
}

TEST_CASE("texthash, inline, static, fail, environ", "[unit]") {
    TempDir dir;
    std::string f = dir.write("text", "Key1 v1\nkey2 v2 more\n");
    TablePtr th = must_open("texthash:" + f);
    CHECK(lookup(*th, "KEY1") == "=v1");
    CHECK(lookup(*th, "key2") == "=v2 more");
    CHECK(lookup(*th, "key3") == "-");
    CHECK(!th->changed());
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    dir.write("text", "other x\n");
    CHECK(th->changed());

    struct Case {
        const char* spec;
        const char* key;
        const char* want;
    };
    ::setenv("MR_TABLE_TEST_VAR", "envvalue", 1);
    const Case cases[] = {
        {"inline:{a=1, B=2}", "a", "=1"},
        {"inline:{a=1, B=2}", "b", "=2"},
        {"inline:{a=1, B=2}", "c", "-"},
        {"inline:{ {k = v with spaces}, x=y }", "k", "=v with spaces"},
        {"static:OK", "anything", "=OK"},
        {"static:{ text with spaces }", "x", "=text with spaces"},
        {"fail:down", "x", "!t"},
        {"environ:", "MR_TABLE_TEST_VAR", "=envvalue"},
        {"environ:", "MR_TABLE_TEST_UNSET_VAR", "-"},
        {"unionmap:{inline:{a=1}, inline:{a=2,b=3}}", "a", "=1,2"},
        {"unionmap:{inline:{a=1}, inline:{a=2,b=3}}", "b", "=3"},
        {"unionmap:{inline:{a=1}, inline:{a=2,b=3}}", "z", "-"},
        {"unionmap:{inline:{a=1}, fail:x}", "a", "!t"},
        {"pipemap:{inline:{a=b}, inline:{b=c}}", "a", "=c"},
        {"pipemap:{inline:{a=b}, inline:{x=c}}", "a", "-"},
        {"pipemap:{inline:{a=b}, fail:x}", "a", "!t"},
    };
    for (const Case& c : cases) {
        INFO(c.spec << " ? " << c.key);
        TablePtr t = must_open(c.spec);
        CHECK(lookup(*t, c.key) == c.want);
    }
    CHECK(!open_table("inline:a=b").ok());
    CHECK(!open_table("inline:{a}").ok());
    CHECK(!open_table("unionmap:inline:{a=b}").ok());
}

TEST_CASE("cidr: table of cases", "[unit]") {
    std::vector<std::string> warnings;
    auto t = open_cidr_text(
        "# comment\n"
        "192.168.1.1        exact\n"
        "192.168.0.0/16     net16\n"
        "2001:db8::/32      v6net\n"
        "[::1]              v6loop\n"
        "10.1.2.3/24        bad-bits\n"
        "300.1.1.1/8        bad-addr\n"
        "if 10.0.0.0/8\n"
        "10.9.0.0/16        inside-if\n"
        "endif\n"
        "if !172.16.0.0/12\n"
        "11.0.0.0/8         outside-172\n"
        "endif\n"
        "172.16.0.0/12      is-172\n"
        "!10.0.0.0/8        not-ten\n"
        "endif\n",
        "cidr.map", &warnings);
    REQUIRE(t.ok());
    struct Case {
        const char* key;
        const char* want;
    };
    const Case cases[] = {
        {"192.168.1.1", "=exact"},
        {"192.168.7.7", "=net16"},
        {"10.9.1.1", "=inside-if"},
        {"11.1.1.1", "=outside-172"},
        {"172.16.5.5", "=is-172"},
        {"12.0.0.1", "=not-ten"},
        {"10.8.1.1", "-"},
        {"2001:db8:1::5", "=v6net"},
        {"::1", "=v6loop"},
        {"2001:db9::1", "-"},  // a negated IPv4 block says nothing about IPv6
        {"not-an-ip", "-"},
        {"10.1.2.3", "-"},     // the rule with host bits was dropped
    };
    for (const Case& c : cases) {
        INFO(c.key);
        CHECK(lookup(**t, c.key) == c.want);
    }

    // Host bits, a bad address and a stray endif are reported with file and line.
    REQUIRE(warnings.size() == 3);
    CHECK(warnings[0] ==
          "cidr.map, line 6: non-null host address bits in \"10.1.2.3/24\", perhaps you should use "
          "\"10.1.2.0/24\" instead");
    CHECK(warnings[1].rfind("cidr.map, line 7: bad net/mask pattern", 0) == 0);
    CHECK(warnings[2] == "cidr.map, line 16: ignoring ENDIF without matching IF");

    auto v6 = open_cidr_text("2001:db8::/32 v6net\n[::1] loop\n::/0 any6\n", "c6", nullptr);
    REQUIRE(v6.ok());
    CHECK(lookup(**v6, "2001:db8:ffff::1") == "=v6net");
    CHECK(lookup(**v6, "::1") == "=loop");
    CHECK(lookup(**v6, "2001:db9::1") == "=any6");
    CHECK(lookup(**v6, "1.2.3.4") == "-");
}

TEST_CASE("regexp and pcre: shared syntax, table of cases", "[unit]") {
    const char* text =
        "/^(.*)@example\\.com$/      local:$1\n"
        "/^Exact$/i                   case-sensitive\n"
        "/^exact$/                    case-insensitive\n"
        "if /^if-/\n"
        "/-(a)$/                      inside ${1}\n"
        "endif\n"
        "/^dollar/                    cost $$5\n"
        "/^(x)(y)?$/                  [$1][$2]\n"
        "!/\\./                       no-dot\n";
    for (const char* type : {"regexp", "pcre"}) {
        SECTION(type) {
            std::vector<std::string> warnings;
            auto t = open_regexp_text(type, text, "re.map", &warnings);
            REQUIRE(t.ok());
            CHECK(warnings.empty());
            CHECK(lookup(**t, "joe@example.com") == "=local:joe");
            CHECK(lookup(**t, "JOE@EXAMPLE.COM") == "=local:JOE");
            CHECK(lookup(**t, "Exact") == "=case-sensitive");
            CHECK(lookup(**t, "EXACT") == "=case-insensitive");
            CHECK(lookup(**t, "nodots") == "=no-dot");
            CHECK(lookup(**t, "if-a") == "=inside a");
            CHECK(lookup(**t, "x-a.b") == "-");
            CHECK(lookup(**t, "dollar.x") == "=cost $5");
            CHECK(lookup(**t, "x") == "=[x][]");
            CHECK(lookup(**t, "other.thing") == "-");
        }
    }
}

TEST_CASE("regexp and pcre: bad rules are skipped with warnings", "[unit]") {
    struct Case {
        const char* type;
        const char* line;
        const char* warning_part;
    };
    const Case cases[] = {
        {"regexp", "/a(b)/ $2\n", "out of range replacement index"},
        {"pcre", "/a(b)/ $2\n", "out of range replacement index"},
        {"regexp", "!/a(b)/ $1\n", "negative match"},
        {"regexp", "/abc\n", "unmatched delimiter"},
        {"regexp", "/abc/q x\n", "unknown regexp option"},
        {"pcre", "/abc/q x\n", "unknown PCRE option"},
        {"pcre", "/a(/ x\n", "error in regex"},
        {"regexp", "/a(/ x\n", "regcomp error"},
        {"regexp", "/abc/\n", "no replacement text"},
        {"regexp", "if /a/\n/b/ c\n", "IF has no matching ENDIF"},
        {"pcre", "endif\n", "ENDIF without matching IF"},
    };
    for (const Case& c : cases) {
        INFO(c.type << ": " << c.line);
        std::vector<std::string> warnings;
        auto t = open_regexp_text(c.type, c.line, "f", &warnings);
        REQUIRE(t.ok());
        REQUIRE(!warnings.empty());
        CHECK(warnings[0].find(c.warning_part) != std::string::npos);
        CHECK(warnings[0].rfind("f, line ", 0) == 0);
    }
}

TEST_CASE("pcre flags", "[unit]") {
    auto t = open_regexp_text("pcre", "/^a.b$/s dotall\n/^x$/m multi\n/^(a+?)/U greedy:$1\n", "f", nullptr);
    REQUIRE(t.ok());
    CHECK(lookup(**t, "a\nb") == "=dotall");
    CHECK(lookup(**t, "y\nx\nz") == "=multi");
    CHECK(lookup(**t, "aaa") == "=greedy:aaa");
}

TEST_CASE("file-backed cidr/regexp/pcre tables open by name and notice changes", "[unit]") {
    TempDir dir;
    std::string c = dir.write("c", "127.0.0.0/8 loop\n");
    std::string r = dir.write("r", "/^a/ A\n");
    TablePtr ct = must_open("cidr:" + c);
    TablePtr rt = must_open("regexp:" + r);
    TablePtr pt = must_open("pcre:" + r);
    CHECK(lookup(*ct, "127.1.2.3") == "=loop");
    CHECK(lookup(*rt, "abc") == "=A");
    CHECK(lookup(*pt, "abc") == "=A");
    CHECK(!rt->changed());
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    dir.write("r", "/^b/ B\n");
    CHECK(rt->changed());
    CHECK(!open_table("cidr:" + dir.path() + "/none").ok());
}

TEST_CASE("proxy: and unix: tables", "[unit]") {
    TablePtr p = must_open("proxy:inline:{a=1}");
    CHECK(lookup(*p, "a") == "=1");
    CHECK(lookup(*p, "b") == "-");
    CHECK(!open_table("proxy:proxy:inline:{a=1}").ok());
    CHECK(!open_table("proxy:nosuch:x").ok());

    TablePtr pw = must_open("unix:passwd.byname");
    CHECK(lookup(*pw, "root").rfind("=root:", 0) == 0);
    CHECK(lookup(*pw, "root").find(":0:0:") != std::string::npos);
    CHECK(lookup(*pw, "no-such-user-mr") == "-");
    TablePtr gr = must_open("unix:group.byname");
    CHECK(lookup(*gr, "root").rfind("=root:", 0) == 0);
    CHECK(lookup(*gr, "no-such-group-mr") == "-");
    CHECK(!open_table("unix:shadow.byname").ok());
}
