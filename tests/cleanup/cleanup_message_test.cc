// cleanup_message_test.cc - a cleanup stream in, a queue file out
// (cleanup_message.h), checked by reading the file back.
#include <stdlib.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <string>
#include <vector>

#include "cleanup/cleanup_message.h"
#include "lib/queue/queue_file.h"
#include "tests/lib/queue/queue_test_util.h"

using namespace mailroom;
using queue::RecordType;

namespace {

struct TempQueue {
    TempQueue() {
        char tmpl[] = "/tmp/mr-cleanup-test-XXXXXX";
        dir = ::mkdtemp(tmpl);
        layout.queue_directory = dir;
        REQUIRE(queue::create_queue_directories(layout));
    }
    ~TempQueue() { std::filesystem::remove_all(dir); }
    std::string dir;
    queue::QueueLayout layout;
};

using Output = queue::testing::ReadBack;

cleanup::CleanupParams params_for(const TempQueue& q) {
    cleanup::CleanupParams p;
    p.layout = q.layout;
    p.myhostname = "mx.o.test";
    p.myorigin = "o.test";
    return p;
}

void feed_envelope(cleanup::CleanupMessage& m, const std::vector<std::string>& rcpts, const char* sender = "alice") {
    m.feed(RecordType::kArrivalTime, "1795500000.000001");
    m.feed(RecordType::kSender, sender);
    for (const auto& r : rcpts) m.feed(RecordType::kRecipient, "P" + r);
    m.feed(RecordType::kContentStart, "");
}

void feed_lines(cleanup::CleanupMessage& m, const std::vector<std::string>& lines) {
    for (const auto& l : lines) m.feed(RecordType::kNormal, l);
    m.feed(RecordType::kExtractedStart, "");
    m.feed(RecordType::kEnd, "");
}

Output read_back(const TempQueue& q, const std::string& id) {
    return queue::testing::read_back(q.layout.file_path("incoming", id));
}

bool has_line(const Output& o, const std::string& l) {
    for (const auto& x : o.lines)
        if (x == l) return true;
    return false;
}

}  // namespace

TEST_CASE("cleanup qualifies addresses and adds the missing headers", "[unit]") {
    TempQueue q;
    auto m = cleanup::CleanupMessage::start(params_for(q));
    REQUIRE(m);
    std::string id = (*m)->queue_id();
    feed_envelope(**m, {"bob", "carol@x.test"});
    feed_lines(**m, {"To: bob, carol@x.test", "Subject: hi", "", "body"});
    REQUIRE((*m)->finish() == submit::CleanupStatus::kOk);

    Output o = read_back(q, id);
    CHECK(o.env.sender == "alice@o.test");
    REQUIRE(o.env.recipients.size() == 2);
    CHECK(o.env.recipients[0].address == "bob@o.test");
    CHECK(o.env.recipients[0].orig_recipient == "bob");
    CHECK(o.env.recipients[1].address == "carol@x.test");
    CHECK(o.env.recipients[1].orig_recipient.empty());
    std::vector<std::string> expected_start = {"To: bob@o.test, carol@x.test", "Subject: hi"};
    REQUIRE(o.lines.size() == 7);
    CHECK(o.lines[0] == expected_start[0]);
    CHECK(o.lines[1] == expected_start[1]);
    CHECK(o.lines[2] == "Message-ID: <20261124060000." + id + "@mx.o.test>");
    CHECK(o.lines[3].rfind("Date: ", 0) == 0);
    CHECK(o.lines[4] == "From: alice@o.test");
    CHECK(o.lines[5] == "");
    CHECK(o.lines[6] == "body");
    CHECK((*m)->message_id() == "<20261124060000." + id + "@mx.o.test>");
}

TEST_CASE("cleanup keeps existing headers and folded From lines", "[unit]") {
    TempQueue q;
    auto m = cleanup::CleanupMessage::start(params_for(q));
    REQUIRE(m);
    std::string id = (*m)->queue_id();
    feed_envelope(**m, {"bob@x.test"});
    feed_lines(**m, {"From: Alice <alice>,", "\tbert", "Date: Mon, 1 Jan 2024 00:00:00 +0000",
                     "Message-ID: <given@x.test>", "", "b"});
    REQUIRE((*m)->finish() == submit::CleanupStatus::kOk);
    Output o = read_back(q, id);
    REQUIRE(o.lines.size() == 6);
    CHECK(o.lines[0] == "From: Alice <alice@o.test>,");
    CHECK(o.lines[1] == "\tbert@o.test");
    CHECK(o.lines[3] == "Message-ID: <given@x.test>");
    CHECK((*m)->message_id() == "<given@x.test>");
}

TEST_CASE("cleanup adds headers to a message without a body", "[unit]") {
    TempQueue q;
    auto m = cleanup::CleanupMessage::start(params_for(q));
    REQUIRE(m);
    std::string id = (*m)->queue_id();
    feed_envelope(**m, {"bob@x.test"}, "");
    feed_lines(**m, {"Subject: only"});
    REQUIRE((*m)->finish() == submit::CleanupStatus::kOk);
    Output o = read_back(q, id);
    CHECK(o.env.sender.empty());
    CHECK(has_line(o, "From: MAILER-DAEMON@o.test"));
    CHECK(o.lines.size() == 4);
}

TEST_CASE("cleanup rejects a message over message_size_limit and leaves no file", "[unit]") {
    TempQueue q;
    auto p = params_for(q);
    p.message_size_limit = 100;
    auto m = cleanup::CleanupMessage::start(p);
    REQUIRE(m);
    feed_envelope(**m, {"bob@x.test"});
    feed_lines(**m, {"Subject: big", "", std::string(200, 'x')});
    CHECK((*m)->finish() == submit::CleanupStatus::kSize);
    CHECK(std::filesystem::is_empty(q.dir + "/incoming"));
}

TEST_CASE("cleanup rejects a message without recipients", "[unit]") {
    TempQueue q;
    auto m = cleanup::CleanupMessage::start(params_for(q));
    REQUIRE(m);
    feed_envelope(**m, {});
    feed_lines(**m, {"Subject: x", "", "y"});
    CHECK((*m)->finish() == submit::CleanupStatus::kRcpt);
    CHECK(std::filesystem::is_empty(q.dir + "/incoming"));
}

TEST_CASE("cleanup rejects records out of order and an unfinished stream", "[unit]") {
    TempQueue q;
    {
        auto m = cleanup::CleanupMessage::start(params_for(q));
        REQUIRE(m);
        (*m)->feed(RecordType::kContentStart, "");  // no T, no S
        (*m)->feed(RecordType::kEnd, "");
        CHECK((*m)->finish() == submit::CleanupStatus::kBad);
    }
    {
        auto m = cleanup::CleanupMessage::start(params_for(q));
        REQUIRE(m);
        feed_envelope(**m, {"bob@x.test"});
        (*m)->feed(RecordType::kNormal, "Subject: x");
        CHECK((*m)->finish() == submit::CleanupStatus::kBad);
    }
    CHECK(std::filesystem::is_empty(q.dir + "/incoming"));
}

TEST_CASE("cleanup truncates a header longer than header_size_limit", "[unit]") {
    TempQueue q;
    auto p = params_for(q);
    p.header_size_limit = 50;
    auto m = cleanup::CleanupMessage::start(p);
    REQUIRE(m);
    std::string id = (*m)->queue_id();
    feed_envelope(**m, {"bob@x.test"});
    (*m)->feed(RecordType::kContinued, "Subject: " + std::string(60, 'a'));
    (*m)->feed(RecordType::kNormal, std::string(60, 'b'));
    feed_lines(**m, {"", "body"});
    REQUIRE((*m)->finish() == submit::CleanupStatus::kOk);
    Output o = read_back(q, id);
    CHECK(o.lines[0] == "Subject: " + std::string(41, 'a'));
    CHECK(has_line(o, "body"));
}

TEST_CASE("cleanup records an 8bit Content-Transfer-Encoding as encoding=8bit", "[unit]") {
    auto encodings = [](const Output& o) {
        std::vector<std::string> out;
        for (const auto& [name, value] : o.env.attributes)
            if (name == queue::kAttrEncoding) out.push_back(value);
        return out;
    };
    TempQueue q;
    auto m = cleanup::CleanupMessage::start(params_for(q));
    REQUIRE(m);
    std::string id = (*m)->queue_id();
    feed_envelope(**m, {"bob@x.test"});
    feed_lines(**m, {"MIME-Version: 1.0", "Content-Transfer-Encoding: 8BIT", "", "caf\xc3\xa9"});
    REQUIRE((*m)->finish() == submit::CleanupStatus::kOk);
    CHECK(encodings(read_back(q, id)) == std::vector<std::string>{"8bit"});

    // The client's BODY=8BITMIME is not written twice; a 7bit body adds nothing.
    auto e = cleanup::CleanupMessage::start(params_for(q));
    REQUIRE(e);
    std::string eid = (*e)->queue_id();
    (*e)->feed(RecordType::kArrivalTime, "1795500000.000001");
    (*e)->feed(RecordType::kAttribute, "encoding=8bit");
    (*e)->feed(RecordType::kSender, "alice");
    (*e)->feed(RecordType::kRecipient, "Pbob@x.test");
    (*e)->feed(RecordType::kContentStart, "");
    feed_lines(**e, {"Content-Transfer-Encoding: binary", "", "b"});
    REQUIRE((*e)->finish() == submit::CleanupStatus::kOk);
    CHECK(encodings(read_back(q, eid)) == std::vector<std::string>{"8bit"});

    auto s = cleanup::CleanupMessage::start(params_for(q));
    REQUIRE(s);
    std::string sid = (*s)->queue_id();
    feed_envelope(**s, {"bob@x.test"});
    feed_lines(**s, {"Content-Transfer-Encoding: 7bit", "", "b"});
    REQUIRE((*s)->finish() == submit::CleanupStatus::kOk);
    CHECK(encodings(read_back(q, sid)).empty());
}
