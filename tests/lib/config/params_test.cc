#include "lib/config/params.h"

#include <catch2/catch.hpp>
#include <cstring>

using namespace mailroom::config;

TEST_CASE("the parameter table is sorted and unique and described", "[unit]") {
    const auto& t = param_table();
    REQUIRE(!t.empty());
    for (size_t i = 1; i < t.size(); ++i) {
        INFO(t[i].name);
        CHECK(std::strcmp(t[i - 1].name, t[i].name) < 0);
    }
    for (const auto& p : t) {
        INFO(p.name);
        CHECK(std::strlen(p.description) > 0);
        CHECK(find_param(p.name) == &p);
    }
    CHECK(find_param("no_such_parameter") == nullptr);
}

TEST_CASE("Postfix's defaults", "[unit]") {
    CHECK(default_value(*find_param("myorigin")) == "$myhostname");
    CHECK(default_value(*find_param("mydestination")) == "$myhostname, localhost.$mydomain, localhost");
    CHECK(default_value(*find_param("mynetworks_style")) == "host");
    CHECK(default_value(*find_param("mail_owner")) == "mailroom");
    CHECK(default_value(*find_param("setgid_group")) == "mrdrop");
    std::string host = default_value(*find_param("myhostname"));
    CHECK(host.find('.') != std::string::npos);
}

TEST_CASE("mydomain is myhostname minus its first label", "[unit]") {
    CHECK(domain_of_hostname("mail.magedu.com") == "magedu.com");
    CHECK(domain_of_hostname("a.b.c.example") == "b.c.example");
    CHECK(domain_of_hostname("example.com") == "localdomain");
    CHECK(domain_of_hostname("localhost") == "localdomain");
}

TEST_CASE("mynetworks for style host lists loopback", "[unit]") {
    std::string host = mynetworks_for_style("host");
    CHECK(host.find("127.0.0.1/32") != std::string::npos);
    std::string subnet = mynetworks_for_style("subnet");
    CHECK(subnet.find("127.0.0.0/8") != std::string::npos);
}

TEST_CASE("typed conversions with Postfix's diagnostics", "[unit]") {
    CHECK(parse_int_param("n", "42", nullptr).value() == 42);
    CHECK(parse_int_param("n", "4x", nullptr).error().message == "bad numerical configuration: n = 4x");
    CHECK_FALSE(parse_int_param("n", "", nullptr).ok());
    ParamSpec bounded{"n", ParamType::kInt, "1", "d", 's', 1, 10};
    CHECK(parse_int_param("n", "0", &bounded).error().message == "invalid n parameter value 0 < 1");
    CHECK(parse_int_param("n", "11", &bounded).error().message == "invalid n parameter value 11 > 10");

    CHECK(parse_bool_param("b", "yes").value());
    CHECK_FALSE(parse_bool_param("b", "NO").value());
    CHECK(parse_bool_param("b", "true").error().message == "bad boolean configuration: b = true");

    struct {
        const char* v;
        char unit;
        long long secs;
    } times[] = {{"300s", 's', 300}, {"300", 's', 300}, {"5m", 's', 300}, {"2h", 's', 7200},
                 {"5d", 's', 432000}, {"1w", 's', 604800}, {"5", 'd', 432000}, {"0", 's', 0}};
    for (const auto& t : times) {
        INFO(t.v);
        CHECK(parse_time_param("t", t.v, t.unit, nullptr).value() == t.secs);
    }
    for (const char* bad : {"", "5x", "s", "5ss", "-1", "1.5h"}) {
        INFO(bad);
        CHECK_FALSE(parse_time_param("t", bad, 's', nullptr).ok());
    }
    CHECK(parse_time_param("t", "5q", 's', nullptr).error().message == "parameter t: bad time value or unit: 5q");
}
