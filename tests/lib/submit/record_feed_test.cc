// record_feed_test.cc - the record feeder turns a cleanup stream into a
// queue file: envelope, DSN records bound to their recipient, content,
// extracted segment; records out of place are refused.
#include "lib/submit/record_feed.h"

#include <catch2/catch.hpp>

#include "queue_test_util.h"

using namespace mailroom;
using queue::RecordType;

TEST_CASE("RecordFeeder writes the stream into a queue file", "[unit]") {
    queue::testing::TempQueue q;
    auto w = queue::QueueWriter::create(q.layout);
    REQUIRE(w);
    submit::RecordFeeder feeder(&*w);
    const std::pair<RecordType, std::string> stream[] = {
        {RecordType::kArrivalTime, "1700000000.250000"},
        {RecordType::kAttribute, "client_name=client.example"},
        {RecordType::kSender, "alice@example.org"},
        {RecordType::kDsnOrcpt, "rfc822;Bob@Example.org"},
        {RecordType::kDsnNotify, "SUCCESS,FAILURE"},
        {RecordType::kRecipient, std::string(1, queue::kRcptPending) + "bob@example.org"},
        {RecordType::kRecipient, std::string(1, queue::kRcptPending) + "carol@example.org"},
        {RecordType::kContentStart, ""},
        {RecordType::kNormal, "Subject: test"},
        {RecordType::kNormal, ""},
        {RecordType::kContinued, "long "},
        {RecordType::kNormal, "line"},
        {RecordType::kExtractedStart, ""},
    };
    for (const auto& [type, payload] : stream) REQUIRE(feeder.feed(type, payload));
    CHECK_FALSE(feeder.feed(RecordType::kEnd, ""));  // the caller commits
    auto path = w->commit();
    REQUIRE(path);
    auto f = queue::QueueFile::open(*path, false);
    REQUIRE(f);
    std::string content;
    auto env = f->read([&](std::string_view piece, bool line_end) {
        content.append(piece);
        if (line_end) content += '\n';
        return ok_status();
    });
    REQUIRE(env);
    CHECK(env->sender == "alice@example.org");
    CHECK(env->arrival_seconds == 1700000000);
    CHECK(env->arrival_microseconds == 250000);
    CHECK(env->attribute("client_name") == "client.example");
    REQUIRE(env->recipients.size() == 2);
    CHECK(env->recipients[0].address == "bob@example.org");
    CHECK(env->recipients[0].dsn_orcpt == "rfc822;Bob@Example.org");
    CHECK(env->recipients[0].dsn_notify == "SUCCESS,FAILURE");
    CHECK(env->recipients[1].dsn_notify.empty());
    CHECK(content == "Subject: test\n\nlong line\n");
}

TEST_CASE("RecordFeeder refuses a bad arrival time and a recipient without status byte", "[unit]") {
    queue::testing::TempQueue q;
    auto w = queue::QueueWriter::create(q.layout);
    REQUIRE(w);
    submit::RecordFeeder feeder(&*w);
    CHECK_FALSE(feeder.feed(RecordType::kRecipient, ""));
    CHECK_FALSE(feeder.feed(RecordType::kAttribute, "no equals sign"));
    w->abort();
    std::int64_t s = 0;
    std::int32_t us = 0;
    CHECK(submit::parse_arrival_time("1700000000.5", &s, &us));
    CHECK(s == 1700000000);
    CHECK_FALSE(submit::parse_arrival_time("soon", &s, &us));
}
