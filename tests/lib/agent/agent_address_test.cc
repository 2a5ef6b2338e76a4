// agent_address_test.cc - address, extension and local-part quoting helpers.
#include "lib/agent/agent_address.h"

#include <catch2/catch.hpp>

using namespace mailroom::agent;

TEST_CASE("address split at the last at-sign", "[unit]") {
    auto a = split_address("user+ext@example.com");
    CHECK(a.local == "user+ext");
    CHECK(a.domain == "example.com");
    auto b = split_address("\"a@b\"@c");
    CHECK(b.local == "\"a@b\"");
    CHECK(b.domain == "c");
    auto c = split_address("openstack");
    CHECK(c.local == "openstack");
    CHECK(c.domain.empty());
}

TEST_CASE("extension split by recipient_delimiter", "[unit]") {
    struct Case {
        const char* local;
        const char* delims;
        const char* user;
        const char* ext;
    };
    const Case cases[] = {
        {"user+foo", "+", "user", "foo"},
        {"user+foo+bar", "+", "user", "foo+bar"},
        {"user-foo", "+-", "user", "foo"},
        {"user", "+", "user", ""},
        {"user+foo", "", "user+foo", ""},
        {"+foo", "+", "+foo", ""},
        {"owner-list", "-", "owner-list", ""},
        {"list-request", "-", "list-request", ""},
        {"owner-list-x", "-", "owner-list", "x"},
        {"user-request-x", "-", "user", "request-x"},
    };
    for (const auto& c : cases) {
        INFO(c.local << " / " << c.delims);
        auto p = split_extension(c.local, c.delims);
        CHECK(p.user == c.user);
        CHECK(p.extension == c.ext);
    }
}

TEST_CASE("local parts get RFC 5322 quoting when needed", "[unit]") {
    CHECK(quote_local_part("user.name") == "user.name");
    CHECK(quote_local_part("a b") == "\"a b\"");
    CHECK(quote_local_part("a\"b") == "\"a\\\"b\"");
    CHECK(quote_local_part(".x") == "\".x\"");
    CHECK(quote_local_part("a..b") == "\"a..b\"");
}
