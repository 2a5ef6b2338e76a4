// interfaces_test.cc - inet_interfaces addresses and own address literals.
#include "lib/util/interfaces.h"

#include <catch2/catch.hpp>

#include <algorithm>

using namespace mailroom::util;

TEST_CASE("inet_interfaces names become addresses", "[unit]") {
    CHECK(interface_addresses({"loopback-only"}) == std::vector<std::string>{"127.0.0.1", "::1"});
    CHECK(interface_addresses({"192.0.2.1", "2001:DB8:0::1", "192.0.2.1"}) ==
          std::vector<std::string>{"192.0.2.1", "2001:db8::1"});
    // "all": every address of every interface, loopback among them.
    auto all = interface_addresses({"all"});
    CHECK(std::find(all.begin(), all.end(), "127.0.0.1") != all.end());
}

TEST_CASE("own address literals", "[unit]") {
    std::vector<std::string> own = {"127.0.0.1", "2001:db8::1"};
    CHECK(is_own_address_literal("[127.0.0.1]", own));
    CHECK(is_own_address_literal("[IPv6:2001:db8:0::1]", own));
    CHECK(is_own_address_literal("[ipv6:2001:DB8::1]", own));
    CHECK_FALSE(is_own_address_literal("[127.0.0.2]", own));
    CHECK_FALSE(is_own_address_literal("127.0.0.1", own));
    CHECK_FALSE(is_own_address_literal("[localhost]", own));
    CHECK_FALSE(is_own_address_literal("[]", own));
}
