// receive_overrides_test.cc - receive_override_options as the clients of
// cleanup read it (lib/submit/cleanup_proto.h).
#include <catch2/catch.hpp>

#include "lib/submit/cleanup_proto.h"

using namespace mailroom;

TEST_CASE("receive_override_options words become cleanup flags and smtpd's own switch", "[unit]") {
    auto none = submit::parse_receive_override_options("");
    REQUIRE(none);
    CHECK(none->cleanup_flags == submit::kCleanupFlagNone);
    CHECK_FALSE(none->no_unknown_recipient_checks);
    auto all = submit::parse_receive_override_options(
        "no_unknown_recipient_checks, no_address_mappings no_header_body_checks,no_milters");
    REQUIRE(all);
    CHECK(all->cleanup_flags == (submit::kCleanupFlagNoAddressMappings | submit::kCleanupFlagNoHeaderBodyChecks));
    CHECK(all->no_unknown_recipient_checks);
    auto bad = submit::parse_receive_override_options("no_address_mappings, no_such_thing");
    REQUIRE_FALSE(bad);
    CHECK(bad.error().message == "invalid receive_override_options value: no_such_thing");
}

TEST_CASE("receive_override_options words are read in any case, as the validator accepts them", "[unit]") {
    auto upper = submit::parse_receive_override_options("NO_ADDRESS_MAPPINGS, No_Milters");
    REQUIRE(upper);
    CHECK(upper->cleanup_flags == submit::kCleanupFlagNoAddressMappings);
}
