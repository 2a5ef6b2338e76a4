// cleanup_async_test.cc - AsyncCleanupClient, the cleanup protocol on the
// loop, against a fake cleanup: handshake, records, final status, a
// cleanup that goes away, a slow cleanup that never blocks the loop.
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <functional>
#include <optional>
#include <thread>

#include "lib/ipc/ipc_socket.h"
#include "lib/ipc/protocol.h"
#include "lib/queue/record.h"
#include "lib/submit/cleanup_async.h"
#include "lib/submit/cleanup_proto.h"
#include "tests/support/loop_util.h"

using namespace mailroom;
using mailroom::testing::run_until;
using namespace std::chrono_literals;
using queue::RecordType;

namespace {

struct Received {
    std::int64_t flags = -1;
    std::vector<std::pair<RecordType, std::string>> records;
};

// One cleanup conversation on `fd`: announcement, request, queue ID, the
// records up to E, then the status. With stall, it stops reading after the
// request until *release turns true.
void fake_cleanup(util::UniqueFd fd, Received* got, std::int64_t status, const std::function<bool()>& release = {}) {
    ipc::IpcStream s(std::move(fd), 5000);
    REQUIRE(s.announce(ipc::kCleanupProtocol, ipc::kProtocolVersion));
    auto req = s.receive();
    REQUIRE(req);
    got->flags = ipc::get_int(*req, submit::kAttrFlags).value();
    ipc::AttrList id;
    id.add(std::string(submit::kAttrQueueId), "4FAKEID");
    REQUIRE(s.send(id));
    if (release) {
        while (!release()) std::this_thread::sleep_for(5ms);
    }
    std::string buf;
    char tmp[65536];
    for (;;) {
        queue::DecodedRecord rec;
        std::string error;
        auto step = queue::decode_record(buf, &rec, &error);
        if (step == queue::DecodeStep::kRecord) {
            got->records.emplace_back(rec.type, std::string(rec.payload));
            buf.erase(0, rec.length);
            if (rec.type == RecordType::kEnd) break;
            continue;
        }
        REQUIRE(step == queue::DecodeStep::kNeedMore);
        ssize_t n = ::read(s.fd(), tmp, sizeof(tmp));
        if (n < 0 && errno == EAGAIN) {
            std::this_thread::sleep_for(1ms);
            continue;
        }
        REQUIRE(n > 0);
        buf.append(tmp, static_cast<size_t>(n));
    }
    ipc::AttrList reply;
    reply.add_int(std::string(submit::kAttrStatus), status)
        .add(std::string(submit::kAttrDsn), status == 0 ? "2.0.0" : "5.7.1")
        .add(std::string(submit::kAttrReason), status == 0 ? "queued" : "rejected by test");
    REQUIRE(s.send(reply));
}


}  // namespace

TEST_CASE("AsyncCleanupClient hands a message over on the loop", "[unit]") {
    event::Loop loop;
    int fds[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds) == 0);
    Received got;
    std::thread server([&, fd = fds[1]] { fake_cleanup(util::UniqueFd(fd), &got, 6); });
    std::unique_ptr<submit::AsyncCleanupClient> client;
    std::optional<Result<submit::CleanupResult>> result;
    submit::AsyncCleanupClient::start(loop, util::UniqueFd(fds[0]), 0, 5000, [&](auto c) {
        REQUIRE(c);
        client = std::move(*c);
    });
    REQUIRE(run_until(loop, [&] { return client != nullptr; }));
    CHECK(client->queue_id() == "4FAKEID");
    REQUIRE(client->send(RecordType::kSender, "alice@example.org"));
    REQUIRE(client->send(RecordType::kContentStart, ""));
    REQUIRE(client->send(RecordType::kNormal, "Subject: hi"));
    REQUIRE(client->send(RecordType::kEnd, ""));
    client->finish([&](Result<submit::CleanupResult> r) {
        result = std::move(r);
        client.reset();  // dropped inside its own callback
    });
    REQUIRE(run_until(loop, [&] { return result.has_value(); }));
    server.join();
    REQUIRE(*result);
    CHECK((*result)->status == submit::CleanupStatus::kContent);
    CHECK((*result)->reason == "rejected by test");
    CHECK(got.records.size() == 4);
}

TEST_CASE("AsyncCleanupClient: a slow cleanup does not block the loop", "[unit]") {
    event::Loop loop;
    int fds[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds) == 0);
    Received got;
    std::atomic<bool> release{false};
    std::thread server([&, fd = fds[1]] { fake_cleanup(util::UniqueFd(fd), &got, 0, [&] { return release.load(); }); });
    std::unique_ptr<submit::AsyncCleanupClient> client;
    submit::AsyncCleanupClient::start(loop, util::UniqueFd(fds[0]), 0, 5000, [&](auto c) { client = std::move(*c); });
    REQUIRE(run_until(loop, [&] { return client != nullptr; }));
    // Far more than a socket buffer while cleanup reads nothing: every
    // send() returns at once and the loop keeps turning.
    std::string line(1000, 'x');
    auto started = std::chrono::steady_clock::now();
    REQUIRE(client->send(RecordType::kContentStart, ""));
    for (int i = 0; i < 4000; ++i) REQUIRE(client->send(RecordType::kNormal, line));
    REQUIRE(client->send(RecordType::kEnd, ""));
    CHECK(std::chrono::steady_clock::now() - started < 2s);
    int ticks = 0;
    event::Timer tick(loop, [&] { ++ticks; });
    tick.start(10ms);
    REQUIRE(run_until(loop, [&] { return ticks == 1; }));
    CHECK(client->unsent() > 1000000);
    bool drained = false;
    client->on_drained([&] { drained = client->unsent() == 0; });
    std::optional<Result<submit::CleanupResult>> result;
    client->finish([&](Result<submit::CleanupResult> r) { result = std::move(r); });
    release = true;
    REQUIRE(run_until(loop, [&] { return result.has_value(); }));
    server.join();
    REQUIRE(*result);
    CHECK((*result)->ok());
    CHECK(drained);
    CHECK(got.records.size() == 4002);
}

TEST_CASE("AsyncCleanupClient: cleanup going away fails the open or the finish", "[unit]") {
    event::Loop loop;
    {
        int fds[2];
        REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds) == 0);
        ::close(fds[1]);  // cleanup died before the announcement
        std::optional<Error> error;
        submit::AsyncCleanupClient::start(loop, util::UniqueFd(fds[0]), 0, 5000, [&](auto c) {
            REQUIRE_FALSE(c);
            error = c.error();
        });
        REQUIRE(run_until(loop, [&] { return error.has_value(); }));
        CHECK(error->kind == ErrorKind::kTemporary);
    }
    {
        std::optional<Error> error;
        submit::AsyncCleanupClient::open(loop, "/nonexistent-queue", ipc::ServiceClass::kPublic, "cleanup", 0, 100,
                                         [&](auto c) { error = c.error(); });
        CHECK_FALSE(error.has_value());  // never called back inside open()
        REQUIRE(run_until(loop, [&] { return error.has_value(); }));
    }
}
