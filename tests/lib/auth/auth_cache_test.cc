// auth_cache_test.cc - the user cache: hits, ttl and negative ttl, the
// memory bound with least-recently-used eviction, temporary failures never
// cached, and stale entries used while the backend is down.
#include <catch2/catch.hpp>

#include "lib/auth/auth_cache.h"

using namespace mailroom;
using namespace mailroom::auth;

namespace {

LookupResult found(const std::string& name) {
    LookupResult r;
    r.outcome = Outcome::kOk;
    r.user.username = name;
    r.user.crypt_password = "{PLAIN}pw";
    return r;
}

}  // namespace

TEST_CASE("auth cache: disabled at size 0", "[unit]") {
    AuthCache c(0, 3600, 3600);
    CHECK_FALSE(c.enabled());
    c.put("a", found("a"), 100);
    CHECK_FALSE(c.get("a", 100).has_value());
}

TEST_CASE("auth cache: positive and negative entries expire", "[unit]") {
    AuthCache c(1 << 20, 60, 10);
    c.put("a", found("a"), 100);
    c.put("nobody", LookupResult{}, 100);
    LookupResult temp;
    temp.outcome = Outcome::kTempFail;
    c.put("t", temp, 100);
    CHECK(c.entries() == 2);
    auto a = c.get("a", 159);
    REQUIRE(a.has_value());
    CHECK(a->user.username == "a");
    auto n = c.get("nobody", 109);
    REQUIRE(n.has_value());
    CHECK(n->outcome == Outcome::kNotFound);
    CHECK_FALSE(c.get("nobody", 110).has_value());
    CHECK_FALSE(c.get("t", 100).has_value());
    // Expired, but usable while the backend is down.
    CHECK(c.get("a", 200, true).has_value());
    CHECK_FALSE(c.get("a", 200).has_value());
    CHECK(c.hits() == 3);
    // An ordinary get() of an expired entry leaves it for the outage.
    CHECK(c.get("a", 200, true).has_value());
    REQUIRE(c.stale("a").has_value());
    CHECK(c.stale("a")->user.username == "a");
    CHECK_FALSE(c.stale("nobody").has_value());
}

TEST_CASE("auth cache: the memory bound evicts the least recently used", "[unit]") {
    AuthCache c(1000, 3600, 3600);
    for (int i = 0; i < 20; ++i) {
        c.put("user" + std::to_string(i), found("user" + std::to_string(i)), 100);
        // Keep user0 in use.
        CHECK(c.get("user0", 100).has_value());
    }
    CHECK(c.bytes() <= 1000);
    CHECK(c.entries() < 20);
    CHECK(c.get("user0", 100).has_value());
    CHECK(c.get("user19", 100).has_value());
    CHECK_FALSE(c.get("user1", 100).has_value());
    c.remove("user0");
    CHECK_FALSE(c.get("user0", 100).has_value());
    // Zero negative ttl: unknown users are not kept.
    AuthCache nc(1000, 3600, 0);
    nc.put("x", LookupResult{}, 1);
    CHECK(nc.entries() == 0);
}
