#include "lib/config/main_cf.h"

#include <catch2/catch.hpp>

using namespace mailroom::config;

namespace {
struct Case {
    const char* name;
    const char* text;
    std::vector<std::pair<std::string, std::string>> expect;
};
}  // namespace

TEST_CASE("main.cf logical lines follow Postfix's rules", "[unit]") {
    const Case cases[] = {
        {"simple", "myhostname = mail.magedu.com\n", {{"myhostname", "mail.magedu.com"}}},
        {"no spaces around =", "mydestination=$myhostname, $mydomain\n",
         {{"mydestination", "$myhostname, $mydomain"}}},
        {"trailing white space dropped", "a = b  \t\n", {{"a", "b"}}},
        {"empty value", "virtual_alias_domains =\n", {{"virtual_alias_domains", ""}}},
        {"continuation lines join with one space",
         "smtpd_recipient_restrictions =\n    permit_mynetworks,\n\treject_unauth_destination\n",
         {{"smtpd_recipient_restrictions", "permit_mynetworks, reject_unauth_destination"}}},
        {"comments and blank lines do not end a logical line",
         "a = 1,\n# comment\n\n  2\nb = 3\n", {{"a", "1, 2"}, {"b", "3"}}},
        {"indented comment is a comment", "a = 1\n   # not a continuation\nb = 2\n", {{"a", "1"}, {"b", "2"}}},
        {"hash inside a value is kept", "smtpd_banner = x # y\n", {{"smtpd_banner", "x # y"}}},
        {"no final newline", "a = 1", {{"a", "1"}}},
        {"CRLF line ends", "a = 1\r\nb = 2\r\n", {{"a", "1"}, {"b", "2"}}},
        {"value with = signs", "header = a=b=c\n", {{"header", "a=b=c"}}},
    };
    for (const Case& c : cases) {
        SECTION(c.name) {
            auto r = parse_main_cf(c.text, "main.cf");
            REQUIRE(r.ok());
            std::vector<std::pair<std::string, std::string>> got;
            for (const auto& e : r->entries) got.emplace_back(e.name, e.value);
            CHECK(got == c.expect);
        }
    }
}

TEST_CASE("main.cf entries remember their line", "[unit]") {
    auto r = parse_main_cf("# head\n\na = 1\n  x\nb = 2\n", "main.cf");
    REQUIRE(r.ok());
    REQUIRE(r->entries.size() == 2);
    CHECK(r->entries[0].line == 3);
    CHECK(r->entries[1].line == 5);
}

TEST_CASE("main.cf errors name the file and the line", "[unit]") {
    auto r = parse_main_cf("a = 1\nthis is not a parameter\n", "/etc/mailroom/main.cf");
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message ==
          "/etc/mailroom/main.cf, line 2: missing '=' after attribute name: \"this is not a parameter\"");
    auto r2 = parse_main_cf("a = 1\n= value\n", "main.cf");
    REQUIRE_FALSE(r2.ok());
    CHECK(r2.error().message.find("main.cf, line 2: missing attribute name") == 0);
    auto r3 = parse_main_cf("bad name = 1\n", "main.cf");
    REQUIRE_FALSE(r3.ok());
    CHECK(r3.error().message.find("main.cf, line 1: bad parameter name") == 0);
}

TEST_CASE("main.cf warnings: orphan continuation and duplicates", "[unit]") {
    auto r = parse_main_cf("  orphan\na = 1\na = 2\n", "main.cf");
    REQUIRE(r.ok());
    REQUIRE(r->warnings.size() == 2);
    CHECK(r->warnings[0].find("main.cf, line 1:") == 0);
    CHECK(r->warnings[1].find("main.cf, line 3: overriding earlier entry (line 2): a=2") == 0);
    REQUIRE(r->entries.size() == 2);
    CHECK(r->entries.back().value == "2");
}
