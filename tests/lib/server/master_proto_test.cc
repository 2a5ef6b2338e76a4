// master_proto_test.cc - the status message wire format.
#include "lib/server/master_proto.h"

#include <catch2/catch.hpp>

using namespace mailroom::server::proto;

TEST_CASE("status message round trip", "[unit]") {
    StatusMessage m{1234, ChildState::kBusy, 7};
    auto bytes = encode_status(m);
    REQUIRE(bytes.size() == kStatusSize);
    auto back = decode_status(bytes);
    REQUIRE(back.ok());
    CHECK(*back == m);
    StatusMessage idle{99, ChildState::kAvailable, 0};
    CHECK(*decode_status(encode_status(idle)) == idle);
}

TEST_CASE("status message layout is little-endian and fixed", "[unit]") {
    auto b = encode_status({0x01020304, ChildState::kAvailable, 5});
    CHECK(b[0] == 'M');
    CHECK(b[1] == 'R');
    CHECK(b[2] == 'S');
    CHECK(b[3] == '1');
    CHECK(b[4] == 0x04);
    CHECK(b[7] == 0x01);
    CHECK(b[8] == 1);
    CHECK(b[12] == 5);
}

TEST_CASE("status message decoding is strict", "[unit]") {
    auto good = encode_status({42, ChildState::kBusy, 1});
    SECTION("short") {
        CHECK_FALSE(decode_status(std::span<const std::uint8_t>(good.data(), 15)).ok());
    }
    SECTION("bad magic") {
        auto b = good;
        b[0] ^= 0xff;
        CHECK_FALSE(decode_status(b).ok());
    }
    SECTION("bad state") {
        auto b = good;
        b[8] = 7;
        CHECK_FALSE(decode_status(b).ok());
    }
    SECTION("bad pid") {
        auto b = encode_status({0, ChildState::kBusy, 1});
        CHECK_FALSE(decode_status(b).ok());
        auto n = encode_status({-5, ChildState::kBusy, 1});
        CHECK_FALSE(decode_status(n).ok());
    }
}
