// deliver_proto_test.cc - the answers of the discard and error agents
// (the protocol codec itself is tested in tests/lib/deliver).
#include <catch2/catch.hpp>

#include "discard/discard_agent.h"
#include "error/error_agent.h"
#include "lib/deliver/deliver_proto.h"
#include "tests/lib/deliver/deliver_test_util.h"

using namespace mailroom;
using deliver::DeliveryStatus;
using deliver::testing::sample_request;

TEST_CASE("discard reports sent with discarded or the explicit nexthop", "[unit]") {
    auto r = sample_request();
    auto reply = discard::discard_reply(r);
    REQUIRE(reply.results.size() == 2);
    for (const auto& res : reply.results) {
        CHECK(res.status == DeliveryStatus::kSent);
        CHECK(res.dsn == "2.0.0");
        CHECK(res.relay == "none");
        CHECK(res.reason == "discarded");
    }
    r.nexthop = "silently dropped";
    r.nexthop_explicit = true;
    CHECK(discard::discard_reply(r).results[0].reason == "silently dropped");
}

TEST_CASE("error bounces with the nexthop text or a default", "[unit]") {
    auto r = sample_request();
    r.transport = "error";
    auto reply = error_agent::error_reply(r);
    REQUIRE(reply.results.size() == 2);
    CHECK(reply.results[0].status == DeliveryStatus::kBounced);
    CHECK(reply.results[0].dsn == "5.0.0");
    CHECK(reply.results[0].reason == "mail for example.org is not deliverable");

    r.nexthop = "this domain is gone";
    r.nexthop_explicit = true;
    reply = error_agent::error_reply(r);
    CHECK(reply.results[1].reason == "this domain is gone");

    r.nexthop = "4.3.2 try again later";
    reply = error_agent::error_reply(r);
    CHECK(reply.results[0].status == DeliveryStatus::kDeferred);
    CHECK(reply.results[0].dsn == "4.3.2");
    CHECK(reply.results[0].reason == "try again later");

    r.nexthop = "5.1.1 no such user";
    reply = error_agent::error_reply(r);
    CHECK(reply.results[0].status == DeliveryStatus::kBounced);
    CHECK(reply.results[0].dsn == "5.1.1");
}
