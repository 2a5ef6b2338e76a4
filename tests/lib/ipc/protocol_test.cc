// protocol_test.cc - the protocol announcement check.
#include "lib/ipc/protocol.h"

#include <catch2/catch.hpp>
#include <array>

using namespace mailroom;
using namespace mailroom::ipc;

TEST_CASE("a matching announcement passes", "[unit]") {
    AttrList a = make_announcement(kCleanupProtocol);
    CHECK(*get_string(a, "protocol") == "cleanup_protocol");
    CHECK(*get_int(a, "version") == kProtocolVersion);
    CHECK(check_announcement(a, kCleanupProtocol).ok());
    // The record survives the wire.
    CHECK(check_announcement(*decode_record(*encode_record(a)), kCleanupProtocol).ok());
}

TEST_CASE("a wrong announcement fails with a clear reason", "[unit]") {
    struct Case {
        const char* name;
        AttrList record;
        const char* error;
    };
    std::array<Case, 7> cases = {{
        {"other protocol", make_announcement(kBounceProtocol),
         "protocol mismatch: expected cleanup_protocol, peer announced bounce_protocol"},
        {"other version", make_announcement(kCleanupProtocol, 2),
         "cleanup_protocol version mismatch: expected 1, peer announced 2"},
        {"no version", AttrList().add("protocol", "cleanup_protocol"), "missing required attribute \"version\""},
        {"no protocol", AttrList().add_int("version", 1), "missing required attribute \"protocol\""},
        {"empty record", AttrList(), "missing required attribute \"protocol\""},
        {"version as string", AttrList().add("protocol", "cleanup_protocol").add("version", "1"),
         "\"version\" is a string"},
        {"extra attribute", AttrList(make_announcement(kCleanupProtocol)).add("status", "0"),
         "unexpected attribute \"status\""},
    }};
    for (const Case& c : cases) {
        SECTION(c.name) {
            Status st = check_announcement(c.record, kCleanupProtocol);
            REQUIRE_FALSE(st.ok());
            CHECK_THAT(st.error().message, Catch::Contains(c.error));
        }
    }
}
