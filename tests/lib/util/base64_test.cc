// base64_test.cc - RFC 4648 vectors, the seed's AUTH LOGIN strings, and
// strict refusal of malformed input.
#include <catch2/catch.hpp>

#include "lib/util/base64.h"

using namespace mailroom::util;

TEST_CASE("base64 round trips RFC 4648 vectors", "[base64]") {
    const char* vectors[][2] = {{"", ""},         {"f", "Zg=="},         {"fo", "Zm8="},       {"foo", "Zm9v"},
                                {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"}};
    for (auto& v : vectors) {
        CHECK(base64_encode(v[0]) == v[1]);
        auto d = base64_decode(v[1]);
        REQUIRE(d.has_value());
        CHECK(*d == v[0]);
    }
    // The seed's AUTH LOGIN dialogue.
    CHECK(base64_encode("Username:") == "VXNlcm5hbWU6");
    CHECK(base64_encode("Password:") == "UGFzc3dvcmQ6");
    CHECK(*base64_decode("aGFkb29w") == "hadoop");
    CHECK(base64_encode(std::string("\0user\0pass", 10)) == "AHVzZXIAcGFzcw==");
}

TEST_CASE("base64 decoding refuses malformed input", "[base64]") {
    for (const char* bad : {"Zg=", "Zm9v Yg==", "Zm9vY*==", "Zg==Zg==", "=Zg=", "Zh==", "Zm9=", "a", "!!!!"}) {
        CHECK_FALSE(base64_decode(bad).has_value());
    }
}
