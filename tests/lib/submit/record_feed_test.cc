// record_feed_test.cc - RecordFeeder replays a cleanup stream into a queue
// file: every envelope, content and extracted record lands where the
// reader finds it, and records the stream may not carry are refused.
#include <catch2/catch.hpp>

#include <string>
#include <utility>
#include <vector>

#include "lib/queue/queue_file.h"
#include "lib/submit/record_feed.h"
#include "tests/lib/queue/queue_test_util.h"

using namespace mailroom;
using queue::RecordType;

namespace {

using Stream = std::vector<std::pair<RecordType, std::string>>;

// A stream as pickup or smtpd sends it (without the end marker).
Stream sample_stream() {
    return {
        {RecordType::kArrivalTime, "1795500000.012345"},
        {RecordType::kSender, "alice@example.com"},
        {RecordType::kAttribute, "client_address=192.0.2.7"},
        {RecordType::kAttribute, "protocol_name=ESMTP"},
        {RecordType::kDsnRet, "HDRS"},
        {RecordType::kDsnEnvid, "ENV-1"},
        {RecordType::kOrigRecipient, "Bob@Example.org"},
        {RecordType::kDsnOrcpt, "rfc822;bob@example.org"},
        {RecordType::kDsnNotify, "SUCCESS,FAILURE"},
        {RecordType::kRecipient, "Pbob@example.org"},
        {RecordType::kRecipient, "Pcarol@example.org"},
        {RecordType::kContentStart, ""},
        {RecordType::kNormal, "Subject: feed"},
        {RecordType::kNormal, ""},
        {RecordType::kContinued, "a long line "},
        {RecordType::kNormal, "in two pieces"},
        {RecordType::kExtractedStart, ""},
        {RecordType::kRecipient, "Pdave@example.org"},
    };
}

queue::testing::ReadBack feed_and_read(const queue::QueueLayout& layout, const Stream& stream) {
    auto writer = queue::QueueWriter::create(layout);
    REQUIRE(writer);
    submit::RecordFeeder feeder(&*writer);
    for (const auto& [type, payload] : stream) {
        INFO(static_cast<char>(type) << " " << payload);
        REQUIRE(feeder.feed(type, payload));
    }
    auto path = writer->commit();
    REQUIRE(path);
    return queue::testing::read_back(*path);
}

}  // namespace

TEST_CASE("RecordFeeder writes every record of the stream to the queue file", "[unit]") {
    queue::testing::TempQueue q;
    auto f = feed_and_read(q.layout, sample_stream());
    CHECK(f.env.arrival_seconds == 1795500000);
    CHECK(f.env.arrival_microseconds == 12345);
    CHECK(f.env.sender == "alice@example.com");
    CHECK(f.env.attribute("client_address") == "192.0.2.7");
    CHECK(f.env.attribute("protocol_name") == "ESMTP");
    CHECK(f.env.dsn_ret == "HDRS");
    CHECK(f.env.dsn_envid == "ENV-1");
    REQUIRE(f.env.recipients.size() == 3);
    // O, o and n belong to the next R only.
    CHECK(f.env.recipients[0].address == "bob@example.org");
    CHECK(f.env.recipients[0].orig_recipient == "Bob@Example.org");
    CHECK(f.env.recipients[0].dsn_orcpt == "rfc822;bob@example.org");
    CHECK(f.env.recipients[0].dsn_notify == "SUCCESS,FAILURE");
    CHECK(f.env.recipients[1].address == "carol@example.org");
    CHECK(f.env.recipients[1].orig_recipient.empty());
    CHECK(f.env.recipients[1].dsn_notify.empty());
    CHECK_FALSE(f.env.recipients[1].extracted);
    CHECK(f.env.recipients[2].address == "dave@example.org");
    CHECK(f.env.recipients[2].extracted);
    CHECK(f.lines == std::vector<std::string>{"Subject: feed", "", "a long line in two pieces"});
}

TEST_CASE("RecordFeeder refuses what a cleanup stream may not carry", "[unit]") {
    queue::testing::TempQueue q;
    auto writer = queue::QueueWriter::create(q.layout);
    REQUIRE(writer);
    submit::RecordFeeder feeder(&*writer);
    CHECK_FALSE(feeder.feed(RecordType::kArrivalTime, "1795500000"));    // no microseconds
    CHECK_FALSE(feeder.feed(RecordType::kArrivalTime, "17955x0000.1"));  // not a number
    CHECK_FALSE(feeder.feed(RecordType::kArrivalTime, "1795500000.1 "));
    CHECK_FALSE(feeder.feed(RecordType::kAttribute, "no equals sign"));
    CHECK_FALSE(feeder.feed(RecordType::kRecipient, ""));  // no status byte
    CHECK_FALSE(feeder.feed(RecordType::kSize, "1 2 3 4 5"));
    CHECK_FALSE(feeder.feed(RecordType::kEnd, ""));  // the caller commits instead
    writer->abort();
}

TEST_CASE("RecordFeeder passes the writer's order checks through", "[unit]") {
    queue::testing::TempQueue q;
    auto writer = queue::QueueWriter::create(q.layout);
    REQUIRE(writer);
    submit::RecordFeeder feeder(&*writer);
    REQUIRE(feeder.feed(RecordType::kArrivalTime, "1795500000.000001"));
    REQUIRE(feeder.feed(RecordType::kSender, ""));
    REQUIRE(feeder.feed(RecordType::kRecipient, "Pbob@example.org"));
    REQUIRE(feeder.feed(RecordType::kContentStart, ""));
    // A second sender in the content segment is out of order.
    CHECK_FALSE(feeder.feed(RecordType::kSender, "mallory@example.net"));
    writer->abort();
}

TEST_CASE("parse_arrival_time reads seconds and microseconds", "[unit]") {
    std::int64_t s = -1;
    std::int32_t us = -1;
    REQUIRE(submit::parse_arrival_time("1795500000.999999", &s, &us));
    CHECK(s == 1795500000);
    CHECK(us == 999999);
    CHECK_FALSE(submit::parse_arrival_time("", &s, &us));
    CHECK_FALSE(submit::parse_arrival_time(".5", &s, &us));
    CHECK_FALSE(submit::parse_arrival_time("5.", &s, &us));
}
