#include "lib/config/expand.h"

#include <catch2/catch.hpp>
#include <map>

using namespace mailroom::config;

namespace {
RawLookup table(std::map<std::string, std::string> m) {
    return [m](std::string_view n) -> std::optional<std::string> {
        auto it = m.find(std::string(n));
        if (it == m.end()) return std::nullopt;
        return it->second;
    };
}
}  // namespace

TEST_CASE("parameter references expand recursively", "[unit]") {
    auto lookup = table({{"myhostname", "mail.magedu.com"},
                         {"mydomain", "magedu.com"},
                         {"myorigin", "$myhostname"},
                         {"empty", ""},
                         {"dotted.name", "d"}});
    struct Case {
        const char* in;
        const char* out;
    } cases[] = {
        {"$myhostname, localhost.$mydomain, localhost", "mail.magedu.com, localhost.magedu.com, localhost"},
        {"${myhostname}x", "mail.magedu.comx"},
        {"$(mydomain)", "magedu.com"},
        {"$myorigin", "mail.magedu.com"},
        {"$undefined.", "."},
        {"$$myhostname", "$myhostname"},
        {"cost $", "cost $"},
        {"${mydomain?yes}", "yes"},
        {"${empty?yes}", ""},
        {"${undefined?yes}", ""},
        {"${mydomain:no}", ""},
        {"${empty:no}", "no"},
        {"${undefined:fallback $mydomain}", "fallback magedu.com"},
        {"${mydomain?{set: $mydomain}:{unset}}", "set: magedu.com"},
        {"${empty?{set}:{unset: a:b}}", "unset: a:b"},
        {"${mydomain?{only}}", "only"},
        {"${empty:{only}}", "only"},
        {"${dotted.name}", "d"},
    };
    for (const auto& c : cases) {
        INFO(c.in);
        auto r = expand_value(c.in, lookup);
        REQUIRE(r.ok());
        CHECK(*r == c.out);
    }
}

TEST_CASE("recursion is detected and names the chain", "[unit]") {
    auto lookup = table({{"a", "x $b"}, {"b", "${c}"}, {"c", "$a"}, {"self", "$self"}});
    auto r = expand_param("a", lookup);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message == "recursive parameter expansion: a -> b -> c -> a");
    auto s = expand_value("$self", lookup);
    REQUIRE_FALSE(s.ok());
    CHECK(s.error().message == "recursive parameter expansion: self -> self");
    // A conditional that is not taken never expands the loop.
    auto lookup2 = table({{"loop", "$loop"}, {"e", ""}});
    auto t = expand_value("${e?$loop}", lookup2);
    REQUIRE(t.ok());
    CHECK(*t == "");
}

TEST_CASE("malformed references are errors", "[unit]") {
    auto lookup = table({{"a", "1"}});
    for (const char* bad : {"${a", "$(a", "${}", "${a!x}", "${a?{x}:y}", "${a?{x}:{y}z}", "${a ? {x}}"}) {
        INFO(bad);
        CHECK_FALSE(expand_value(bad, lookup).ok());
    }
}
