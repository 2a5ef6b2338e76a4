// cleanup_client_test.cc - CleanupClient, the client side of the hand-off to
// cleanup, against a fake cleanup on public/cleanup: the request flags,
// the queue ID, the records exactly as sent (also past the client's write
// buffer), the final reply parsed into a CleanupResult, and every failure
// a client must treat as temporary.
#include <catch2/catch.hpp>

#include <poll.h>
#include <unistd.h>

#include <cerrno>

#include <future>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "lib/ipc/protocol.h"
#include "lib/queue/record.h"
#include "lib/submit/cleanup_proto.h"
#include "tests/support/cleanup_stream.h"
#include "tests/support/fake_service.h"

using namespace mailroom;
using queue::RecordType;
using submit::CleanupClient;
using submit::CleanupStatus;

namespace {

using testing::Records;

constexpr const char* kId = "6B1D4A9F02";

// What the fake cleanup saw.
struct Seen {
    std::optional<std::int64_t> flags;
    Records records;
    bool got_end = false;
};

// Reads raw cleanup-stream records from `fd` up to and including E.
void read_stream(int fd, Seen* seen) {
    std::string buf;
    char tmp[16384];
    for (;;) {
        std::size_t used = 0;
        for (;;) {
            queue::DecodedRecord rec;
            std::string error;
            auto step = queue::decode_record(std::string_view(buf).substr(used), &rec, &error);
            if (step != queue::DecodeStep::kRecord) {
                if (step == queue::DecodeStep::kError) return;
                break;
            }
            used += rec.length;
            if (rec.type == RecordType::kEnd) {
                seen->got_end = true;
                return;
            }
            seen->records.emplace_back(rec.type, std::string(rec.payload));
        }
        buf.erase(0, used);
        ssize_t n = ::read(fd, tmp, sizeof(tmp));
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
            pollfd p{fd, POLLIN, 0};
            if (::poll(&p, 1, 5000) <= 0) return;
            continue;
        }
        if (n <= 0) return;
        buf.append(tmp, static_cast<std::size_t>(n));
    }
}

// Announcement, request, queue ID: the part every script shares.
bool greet(ipc::IpcStream& s, Seen* seen) {
    if (!s.announce(ipc::kCleanupProtocol, ipc::kProtocolVersion)) return false;
    auto req = s.receive();
    if (!req) return false;
    if (auto f = ipc::get_int(*req, submit::kAttrFlags); f) seen->flags = *f;
    ipc::AttrList id;
    id.add(std::string(submit::kAttrQueueId), kId);
    return s.send(id).ok();
}

void reply(ipc::IpcStream& s, CleanupStatus status, const std::string& dsn, const std::string& reason) {
    ipc::AttrList r;
    r.add_int(std::string(submit::kAttrStatus), static_cast<std::int64_t>(status))
        .add(std::string(submit::kAttrDsn), dsn)
        .add(std::string(submit::kAttrReason), reason);
    (void)s.send(r);
}

// A message with `body_lines` lines of about 70 bytes.
Records sample_message(std::size_t body_lines) {
    std::vector<std::string> lines = {"Subject: hand-off", ""};
    for (std::size_t i = 0; i < body_lines; ++i) lines.push_back("line " + std::to_string(i) + std::string(60, 'x'));
    return testing::cleanup_stream("alice@example.com", {"bob@example.org"}, lines);
}

}  // namespace

TEST_CASE("CleanupClient hands over the flags and the records and parses the reply", "[unit]") {
    testing::TempQueue tq;
    const std::string dir = tq.layout.queue_directory;
    testing::FakeService cleanup(dir, ipc::ServiceClass::kPublic, "cleanup");
    // 2000 lines of ~70 bytes: well past the client's 64 KiB write buffer.
    const Records message = sample_message(GENERATE(3, 2000));
    Seen seen;
    cleanup.serve([&](ipc::IpcStream& s) {
        if (!greet(s, &seen)) return;
        read_stream(s.fd(), &seen);
        reply(s, CleanupStatus::kOk, "2.0.0", "queued");
    });
    auto client = CleanupClient::open(dir, ipc::ServiceClass::kPublic, "cleanup",
                                      submit::kCleanupFlagBounce | submit::kCleanupFlagNoHeaderBodyChecks, 5000);
    REQUIRE(client);
    CHECK(client->queue_id() == kId);
    auto result = testing::submit_records(*client, message);
    cleanup.join();
    REQUIRE(result);
    CHECK(result->ok());
    CHECK(result->queue_id == kId);
    CHECK(result->dsn == "2.0.0");
    CHECK(result->reason == "queued");
    CHECK(seen.flags == (submit::kCleanupFlagBounce | submit::kCleanupFlagNoHeaderBodyChecks));
    CHECK(seen.got_end);
    CHECK(seen.records == message);
}

TEST_CASE("CleanupClient reports cleanup's rejections with their DSN class", "[unit]") {
    testing::TempQueue tq;
    const std::string dir = tq.layout.queue_directory;
    testing::FakeService cleanup(dir, ipc::ServiceClass::kPublic, "cleanup");
    struct Case {
        CleanupStatus status;
        const char* dsn;
        const char* reason;
        bool temporary;
    };
    const Case c = GENERATE(Case{CleanupStatus::kContent, "5.7.1", "no spam here", false},
                            Case{CleanupStatus::kSize, "5.3.4", "message file too big", false},
                            Case{CleanupStatus::kWrite, "4.3.0", "queue file write error", true},
                            Case{CleanupStatus::kDefer, "4.3.0", "server configuration error", true});
    Seen seen;
    cleanup.serve([&](ipc::IpcStream& s) {
        if (!greet(s, &seen)) return;
        read_stream(s.fd(), &seen);
        reply(s, c.status, c.dsn, c.reason);
    });
    auto client = CleanupClient::open(dir, ipc::ServiceClass::kPublic, "cleanup", submit::kCleanupFlagNone, 5000);
    REQUIRE(client);
    auto result = testing::submit_records(*client, sample_message(1));
    cleanup.join();
    REQUIRE(result);
    CHECK_FALSE(result->ok());
    CHECK(result->status == c.status);
    CHECK(result->dsn == c.dsn);
    CHECK(result->reason == c.reason);
    CHECK(result->temporary() == c.temporary);
    CHECK(seen.flags == submit::kCleanupFlagNone);
}

TEST_CASE("CleanupClient failures are temporary", "[unit]") {
    testing::TempQueue tq;
    const std::string dir = tq.layout.queue_directory;

    SECTION("cleanup is not running") {
        auto client = CleanupClient::open(dir, ipc::ServiceClass::kPublic, "cleanup", 0, 1000);
        REQUIRE_FALSE(client);
        CHECK(client.error().temporary());
    }
    testing::FakeService cleanup(dir, ipc::ServiceClass::kPublic, "cleanup");
    SECTION("the server speaks another protocol") {
        cleanup.serve([](ipc::IpcStream& s) { (void)s.announce(ipc::kBounceProtocol, ipc::kProtocolVersion); });
        auto client = CleanupClient::open(dir, ipc::ServiceClass::kPublic, "cleanup", 0, 5000);
        cleanup.join();
        REQUIRE_FALSE(client);
        CHECK(client.error().temporary());
    }
    SECTION("the server answers the request without a queue ID") {
        cleanup.serve([](ipc::IpcStream& s) {
            if (!s.announce(ipc::kCleanupProtocol, ipc::kProtocolVersion) || !s.receive()) return;
            ipc::AttrList wrong;
            wrong.add("queue", "nope");
            (void)s.send(wrong);
        });
        auto client = CleanupClient::open(dir, ipc::ServiceClass::kPublic, "cleanup", 0, 5000);
        cleanup.join();
        REQUIRE_FALSE(client);
        CHECK(client.error().temporary());
    }
    SECTION("the server hangs up before the final reply") {
        Seen seen;
        cleanup.serve([&](ipc::IpcStream& s) {
            if (greet(s, &seen)) read_stream(s.fd(), &seen);
        });
        auto client = CleanupClient::open(dir, ipc::ServiceClass::kPublic, "cleanup", 0, 5000);
        REQUIRE(client);
        auto result = testing::submit_records(*client, sample_message(1));
        cleanup.join();
        REQUIRE_FALSE(result);
        CHECK(result.error().temporary());
        CHECK(seen.got_end);
    }
    SECTION("a final reply without a status") {
        Seen seen;
        cleanup.serve([&](ipc::IpcStream& s) {
            if (!greet(s, &seen)) return;
            read_stream(s.fd(), &seen);
            ipc::AttrList r;
            r.add(std::string(submit::kAttrReason), "what status?");
            (void)s.send(r);
        });
        auto client = CleanupClient::open(dir, ipc::ServiceClass::kPublic, "cleanup", 0, 5000);
        REQUIRE(client);
        auto result = testing::submit_records(*client, sample_message(1));
        cleanup.join();
        REQUIRE_FALSE(result);
        CHECK(result.error().temporary());
    }
    SECTION("a server that stops reading makes send time out") {
        std::promise<void> client_done;
        auto done = client_done.get_future();
        Seen seen;
        cleanup.serve([&](ipc::IpcStream& s) {
            if (greet(s, &seen)) done.wait();  // reads nothing until the client gave up
        });
        auto client = CleanupClient::open(dir, ipc::ServiceClass::kPublic, "cleanup", 0, 300);
        REQUIRE(client);
        Status st = ok_status();
        // Far more than a socket buffer holds.
        for (int i = 0; i < 100000 && st; ++i) st = client->send(RecordType::kNormal, std::string(100, 'y'));
        client_done.set_value();
        cleanup.join();
        REQUIRE_FALSE(st);
        CHECK(st.error().temporary());
        CHECK(st.error().message == "cleanup: timeout while sending the message");
    }
}

TEST_CASE("cleanup status codes have Postfix's DSN codes and texts", "[unit]") {
    struct Case {
        CleanupStatus status;
        const char* dsn;
        const char* text;
    };
    const Case cases[] = {
        {CleanupStatus::kOk, "2.0.0", "queued"},
        {CleanupStatus::kWrite, "4.3.0", "queue file write error"},
        {CleanupStatus::kSize, "5.3.4", "message file too big"},
        {CleanupStatus::kRcpt, "5.1.0", "no recipients specified"},
        {CleanupStatus::kBad, "5.3.0", "malformed message stream"},
        {CleanupStatus::kTimeout, "4.4.2", "timeout while receiving the message"},
        {CleanupStatus::kContent, "5.7.1", "message content rejected"},
        {CleanupStatus::kDefer, "4.3.0", "server configuration error"},
    };
    for (const auto& c : cases) {
        auto t = submit::cleanup_status_text(c.status);
        CHECK(std::string(t.dsn) == c.dsn);
        CHECK(std::string(t.text) == c.text);
    }
}
