// parser_robustness_test.cc - every table-source parser survives arbitrary
// bytes (a fixed-seed random sweep; the fuzz-style check the parsers owe).
#include <catch2/catch.hpp>
#include <random>

#include "lib/table/access_match.h"
#include "lib/table/cidr_table.h"
#include "lib/table/mysql_table.h"
#include "lib/table/regexp_table.h"
#include "lib/table/table_text.h"

using namespace mailroom;
using namespace mailroom::table;

namespace {
// Random text biased towards the characters the parsers care about.
std::string random_text(std::mt19937& rng) {
    static const std::string alphabet = "ab1.:/!@%$#{}()[]\\\"'= \t\n\n-+ifendsudSUD09\xff";
    std::uniform_int_distribution<size_t> len(0, 120), pick(0, alphabet.size() - 1), byte(0, 255);
    std::string s;
    size_t n = len(rng);
    for (size_t i = 0; i < n; ++i) {
        s.push_back(byte(rng) < 16 ? static_cast<char>(byte(rng)) : alphabet[pick(rng)]);
    }
    return s;
}
}  // namespace

TEST_CASE("table parsers accept arbitrary input without crashing", "[unit]") {
    std::mt19937 rng(20261124);
    auto quote = [](std::string_view s) { return std::string(s); };
    for (int i = 0; i < 3000; ++i) {
        std::string text = random_text(rng);
        std::string key = random_text(rng);
        INFO("text=" << text << " key=" << key);
        (void)parse_map_source(text, "f");
        (void)parse_alias_source(text, "f");
        std::string err;
        (void)split_brace_list(text, &err);
        std::vector<std::string> w;
        auto c = open_cidr_text(text, "f", &w);
        REQUIRE(c.ok());
        (void)(*c)->lookup(key);
        for (const char* type : {"regexp", "pcre"}) {
            auto r = open_regexp_text(type, text, "f", &w);
            REQUIRE(r.ok());
            (void)(*r)->lookup(key);
        }
        (void)parse_mysql_config(text, "f");
        (void)parse_mysql_host(text);
        if (check_mysql_template(text, false).ok()) (void)expand_mysql_query(text, key, quote);
        if (check_mysql_template(text, true).ok()) (void)expand_mysql_result(text, key, key);
        (void)access_address_keys(key, i % 2 == 0);
        (void)access_client_keys(text, key, i % 2 == 1);
        (void)parse_ip_address(key);
    }
    // Rules built from random lines with valid structure must also hold up.
    for (int i = 0; i < 500; ++i) {
        std::string rule = "/" + random_text(rng) + "/ $1 ${2} $$ " + random_text(rng) + "\n";
        std::vector<std::string> w;
        for (const char* type : {"regexp", "pcre"}) {
            auto r = open_regexp_text(type, rule, "f", &w);
            REQUIRE(r.ok());
            (void)(*r)->lookup(random_text(rng));
        }
    }
}
