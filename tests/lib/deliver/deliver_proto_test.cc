// deliver_proto_test.cc - the qmgr <-> delivery agent codec: round trips,
// strict decoding, and the DSN class check.
#include <catch2/catch.hpp>

#include "lib/deliver/deliver_proto.h"
#include "tests/lib/deliver/deliver_test_util.h"

using namespace mailroom;
using deliver::DeliveryStatus;
using deliver::testing::sample_request;

TEST_CASE("a delivery request survives encoding and decoding", "[unit]") {
    auto in = sample_request();
    auto bytes = ipc::encode_record(deliver::encode_request(in));
    REQUIRE(bytes);
    auto list = ipc::decode_record(*bytes);
    REQUIRE(list);
    auto out = deliver::decode_request(*list);
    REQUIRE(out);
    CHECK(out->queue_id == in.queue_id);
    CHECK(out->sender == in.sender);
    CHECK(out->nexthop == in.nexthop);
    CHECK_FALSE(out->nexthop_explicit);
    CHECK(out->active_time_us == in.active_time_us);
    CHECK(out->handoff_time_us == 0);
    REQUIRE(out->recipients.size() == 2);
    CHECK(out->recipients[0].orig_recipient == "bob");
    CHECK(out->recipients[0].dsn_notify == "SUCCESS,FAILURE");
    CHECK(out->recipients[0].offset == 123);
    CHECK(out->recipients[1].orig_recipient.empty());
}

TEST_CASE("the connection-store flag travels in the request", "[unit]") {
    auto in = sample_request();
    CHECK_FALSE(deliver::encode_request(in).find("flags"));
    CHECK(deliver::decode_request(deliver::encode_request(in))->flags == 0);
    in.flags = deliver::kRequestFlagConnStore;
    auto out = deliver::decode_request(deliver::encode_request(in));
    REQUIRE(out);
    CHECK(out->flags == deliver::kRequestFlagConnStore);
    auto unknown = deliver::encode_request(sample_request());
    unknown.add_int("flags", 1 << 20);
    CHECK_FALSE(deliver::decode_request(unknown));
}

TEST_CASE("a malformed delivery request is refused", "[unit]") {
    auto list = deliver::encode_request(sample_request());
    ipc::AttrList extra = list;
    extra.add("surprise", "x");
    CHECK_FALSE(deliver::decode_request(extra));
    auto empty = sample_request();
    empty.recipients.clear();
    CHECK_FALSE(deliver::decode_request(deliver::encode_request(empty)));
}

TEST_CASE("a delivery reply must match the request", "[unit]") {
    deliver::DeliveryReply reply;
    reply.results.push_back({DeliveryStatus::kSent, "2.0.0", "none", "discarded"});
    reply.results.push_back({DeliveryStatus::kBounced, "5.1.1", "none", "no such user"});
    auto list = deliver::encode_reply(reply);
    auto ok = deliver::decode_reply(list, 2);
    REQUIRE(ok);
    CHECK(ok->results[1].status == DeliveryStatus::kBounced);
    CHECK(ok->results[1].reason == "no such user");
    CHECK_FALSE(deliver::decode_reply(list, 3));  // wrong count

    deliver::DeliveryReply bad;
    bad.results.push_back({DeliveryStatus::kSent, "5.0.0", "none", "class does not fit"});
    CHECK_FALSE(deliver::decode_reply(deliver::encode_reply(bad), 1));
}

TEST_CASE("a relayed success survives the delivery reply", "[unit]") {
    deliver::DeliveryReply reply;
    reply.results.push_back({DeliveryStatus::kSent, "2.0.0", "maildrop", "delivered via maildrop service", true});
    reply.results.push_back({DeliveryStatus::kSent, "2.0.0", "virtual", "delivered to maildir"});
    auto ok = deliver::decode_reply(deliver::encode_reply(reply), 2);
    REQUIRE(ok);
    CHECK(ok->results[0].relayed);
    CHECK_FALSE(ok->results[1].relayed);
}

TEST_CASE("a success delegated to a DSN server survives the delivery reply", "[unit]") {
    deliver::DeliveryReply reply;
    deliver::RecipientResult r{DeliveryStatus::kSent, "2.0.0", "mx[192.0.2.1]:25", "250 2.0.0 Ok", true};
    r.dsn_delegated = true;
    reply.results.push_back(r);
    reply.results.push_back({DeliveryStatus::kSent, "2.0.0", "mx[192.0.2.1]:25", "250 2.0.0 Ok", true});
    auto ok = deliver::decode_reply(deliver::encode_reply(reply), 2);
    REQUIRE(ok);
    CHECK(ok->results[0].relayed);
    CHECK(ok->results[0].dsn_delegated);
    CHECK(ok->results[1].relayed);
    CHECK_FALSE(ok->results[1].dsn_delegated);
}

TEST_CASE("dsn_matches_status checks syntax and class", "[unit]") {
    CHECK(deliver::dsn_matches_status("2.0.0", DeliveryStatus::kSent));
    CHECK(deliver::dsn_matches_status("4.4.1", DeliveryStatus::kDeferred));
    CHECK(deliver::dsn_matches_status("5.123.456", DeliveryStatus::kBounced));
    CHECK_FALSE(deliver::dsn_matches_status("2.0.0", DeliveryStatus::kBounced));
    CHECK_FALSE(deliver::dsn_matches_status("5.0", DeliveryStatus::kBounced));
    CHECK_FALSE(deliver::dsn_matches_status("5..0", DeliveryStatus::kBounced));
    CHECK_FALSE(deliver::dsn_matches_status("5.1234.0", DeliveryStatus::kBounced));
    CHECK_FALSE(deliver::dsn_matches_status("", DeliveryStatus::kSent));
}

