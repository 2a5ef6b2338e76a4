// attr_channel_test.cc - attribute records on the loop over a socketpair:
// records split across reads, a malformed record, delete inside a handler.
#include "lib/ipc/attr_channel.h"

#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <functional>

#include "lib/ipc/protocol.h"

using namespace mailroom;
using namespace std::chrono_literals;

namespace {

bool run_until(event::Loop& loop, const std::function<bool()>& done, std::chrono::milliseconds limit = 3000ms) {
    bool expired = false;
    event::Timer guard(loop, [&] { expired = true; });
    guard.start(limit);
    while (!done() && !expired) loop.run_once();
    return done();
}

void socket_pair(util::UniqueFd* a, util::UniqueFd* b) {
    int fds[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds) == 0);
    a->reset(fds[0]);
    b->reset(fds[1]);
}

}  // namespace

TEST_CASE("AttrChannel exchanges records, also split across reads", "[unit]") {
    event::Loop loop;
    util::UniqueFd a, b;
    socket_pair(&a, &b);
    auto server = ipc::AttrChannel::create(loop, std::move(a));
    REQUIRE(server);
    std::vector<ipc::AttrList> got;
    server->on_record([&](ipc::AttrList r) {
        got.push_back(r);
        ipc::AttrList reply;
        reply.add_int("status", static_cast<std::int64_t>(got.size()));
        REQUIRE(server->send(reply));
    });
    ipc::AttrList req;
    req.add("request", "connect").add("ident", "smtp:127.0.0.1");
    auto bytes = ipc::encode_record(req);
    REQUIRE(bytes);
    std::string twice = *bytes + *bytes;
    // Byte by byte for the first record, the second in one go.
    for (size_t i = 0; i < bytes->size(); ++i) REQUIRE(::write(b.get(), twice.data() + i, 1) == 1);
    REQUIRE(::write(b.get(), twice.data() + bytes->size(), bytes->size()) == static_cast<ssize_t>(bytes->size()));
    REQUIRE(run_until(loop, [&] { return got.size() == 2; }));
    CHECK(ipc::get_string(got[1], "ident").value() == "smtp:127.0.0.1");

    auto client = ipc::AttrChannel::create(loop, std::move(b));
    std::vector<std::int64_t> statuses;
    client->on_record([&](ipc::AttrList r) { statuses.push_back(ipc::get_int(r, "status").value()); });
    REQUIRE(run_until(loop, [&] { return statuses.size() == 2; }));
    CHECK(statuses == std::vector<std::int64_t>{1, 2});
}

TEST_CASE("AttrChannel ends the conversation on a malformed record or end of input", "[unit]") {
    event::Loop loop;
    util::UniqueFd a, b;
    socket_pair(&a, &b);
    auto ch = ipc::AttrChannel::create(loop, std::move(a));
    std::string reason;
    int records = 0;
    ch->on_record([&](ipc::AttrList) { ++records; });
    ipc::AttrChannel::Close kind = ipc::AttrChannel::Close::kEof;
    ch->on_close([&](ipc::AttrChannel::Close k, const std::string& why) {
        kind = k;
        reason = why.empty() ? "?" : why;
    });
    const char bad[] = "Bad Name\0value\0\0";
    REQUIRE(::write(b.get(), bad, sizeof(bad) - 1) > 0);
    REQUIRE(run_until(loop, [&] { return !reason.empty(); }));
    CHECK(records == 0);
    CHECK(kind == ipc::AttrChannel::Close::kMalformed);

    util::UniqueFd c, d;
    socket_pair(&c, &d);
    auto ch2 = ipc::AttrChannel::create(loop, std::move(c));
    std::string reason2;
    ch2->on_close([&](ipc::AttrChannel::Close k, const std::string& why) {
        CHECK(k == ipc::AttrChannel::Close::kEof);
        reason2 = why;
    });
    d.reset();
    REQUIRE(run_until(loop, [&] { return !reason2.empty(); }));
    CHECK(reason2 == "lost connection");
}

TEST_CASE("AttrChannel dropped inside its record handler", "[unit]") {
    event::Loop loop;
    util::UniqueFd a, b;
    socket_pair(&a, &b);
    auto ch = ipc::AttrChannel::create(loop, std::move(a));
    int records = 0;
    ch->on_record([&](ipc::AttrList) {
        ++records;
        ch.reset();  // the owner is done with the peer
    });
    auto bytes = ipc::encode_record(ipc::make_announcement(ipc::kAnvilProtocol));
    REQUIRE(bytes);
    std::string three = *bytes + *bytes + *bytes;
    REQUIRE(::write(b.get(), three.data(), three.size()) == static_cast<ssize_t>(three.size()));
    REQUIRE(run_until(loop, [&] { return !ch; }));
    // The descriptor was closed after the handler: the peer sees end of input.
    char buf[8];
    REQUIRE(run_until(loop, [&] { return ::recv(b.get(), buf, sizeof(buf), MSG_DONTWAIT) == 0; }));
    CHECK(records == 1);
}
