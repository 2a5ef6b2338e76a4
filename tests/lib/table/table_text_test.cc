// table_text_test.cc - logical lines, map and alias source parsing.
#include "lib/table/table_text.h"

#include <catch2/catch.hpp>

using namespace mailroom::table;

TEST_CASE("split_table_lines joins continuations and skips comments", "[unit]") {
    std::vector<std::string> warnings;
    auto lines = split_table_lines("# c\n\nkey value\n  more\n\t# indented comment\nnext x\n   \n", "f", &warnings);
    REQUIRE(lines.size() == 2);
    CHECK(lines[0].text == "key value  more");  // only the newline goes
    CHECK(lines[0].line == 3);
    CHECK(lines[1].text == "next x");
    CHECK(lines[1].line == 6);
    CHECK(warnings.empty());
}

TEST_CASE("split_table_lines warns about a leading continuation and long lines", "[unit]") {
    std::vector<std::string> warnings;
    auto lines = split_table_lines("  orphan\nok 1\n", "f", &warnings);
    REQUIRE(lines.size() == 1);
    REQUIRE(warnings.size() == 1);
    CHECK(warnings[0].rfind("f, line 1: ", 0) == 0);

    std::string big = "k " + std::string(kMaxLineLength + 10, 'x') + "\nsmall v\n";
    warnings.clear();
    lines = split_table_lines(big, "g", &warnings);
    REQUIRE(lines.size() == 1);
    CHECK(lines[0].text == "small v");
    REQUIRE(warnings.size() == 1);
    CHECK(warnings[0] == "g, line 1: line too long; skipped");
}

TEST_CASE("parse_map_source: table of cases", "[unit]") {
    struct Case {
        const char* name;
        const char* text;
        std::vector<std::pair<std::string, std::string>> entries;
        std::vector<std::string> warnings;
    };
    const Case cases[] = {
        {"simple", "a b\n", {{"a", "b"}}, {}},
        {"value keeps inner spaces", "key  REJECT no  way \n", {{"key", "REJECT no  way"}}, {}},
        {"continuation", "a b\n c\n", {{"a", "b c"}}, {}},
        {"continuation keeps its leading whitespace",
         "multi.example  554 5.7.1 multi word\n  continued value\n",
         {{"multi.example", "554 5.7.1 multi word  continued value"}}, {}},
        {"continuation after trailing blanks, CRLF", "k v \r\n\tw\r\n", {{"k", "v \tw"}}, {}},
        {"missing value", "lonely\nok v\n", {{"ok", "v"}}, {"t, line 1: expected format: key whitespace value"}},
        {"quoted key", "\"a b\" v\n", {{"a b", "v"}}, {}},
        {"quoted key with escape", "\"a\\\"b\" v\n", {{"a\"b", "v"}}, {}},
        {"unterminated quote", "\"ab v\n", {}, {"t, line 1: missing closing '\"' in key"}},
        {"alias-looking line",
         "root: admin\n",
         {{"root:", "admin"}},
         {"t, line 1: record is in \"key: value\" format; is this an alias file?"}},
    };
    for (const Case& c : cases) {
        SECTION(c.name) {
            TextParse p = parse_map_source(c.text, "t");
            REQUIRE(p.entries.size() == c.entries.size());
            for (size_t i = 0; i < c.entries.size(); ++i) {
                CHECK(p.entries[i].key == c.entries[i].first);
                CHECK(p.entries[i].value == c.entries[i].second);
            }
            CHECK(p.warnings == c.warnings);
        }
    }
}

TEST_CASE("parse_alias_source: table of cases", "[unit]") {
    struct Case {
        const char* name;
        const char* text;
        std::vector<std::pair<std::string, std::string>> entries;
        size_t warnings;
    };
    const Case cases[] = {
        {"simple", "postmaster: root\n", {{"postmaster", "root"}}, 0},
        {"tabs and list", "tomcat:\t\thadoop, other\n", {{"tomcat", "hadoop, other"}}, 0},
        {"continuation", "staff: a,\n\tb\n", {{"staff", "a,\tb"}}, 0},
        {"quoted name", "\"a b\": x\n", {{"a b", "x"}}, 0},
        {"quoted name with colon", "\"a:b\" : x\n", {{"a:b", "x"}}, 0},
        {"missing colon", "nocolon x\nok: y\n", {{"ok", "y"}}, 1},
        {"missing value", "empty:\n", {}, 1},
        {"pipe and include", "prog: \"|/bin/cat\", :include:/etc/list\n",
         {{"prog", "\"|/bin/cat\", :include:/etc/list"}}, 0},
    };
    for (const Case& c : cases) {
        SECTION(c.name) {
            TextParse p = parse_alias_source(c.text, "aliases");
            REQUIRE(p.entries.size() == c.entries.size());
            for (size_t i = 0; i < c.entries.size(); ++i) {
                CHECK(p.entries[i].key == c.entries[i].first);
                CHECK(p.entries[i].value == c.entries[i].second);
            }
            CHECK(p.warnings.size() == c.warnings);
            for (const auto& w : p.warnings) CHECK(w.rfind("aliases, line ", 0) == 0);
        }
    }
}

TEST_CASE("split_brace_list keeps inner braces as one element", "[unit]") {
    std::string err;
    auto items = split_brace_list("{ a=b, {c = d e}, f=g }", &err);
    CHECK(err.empty());
    CHECK(items == std::vector<std::string>{"a=b", "c = d e", "f=g"});
    items = split_brace_list("{ a=b", &err);
    CHECK(!err.empty());
    CHECK(strip_braces(" { x y } ") == "x y");
}
