// ipc_socket_test.cc - blocking record I/O over socketpairs and a temp UNIX socket.
#include "lib/ipc/ipc_socket.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "lib/ipc/protocol.h"

using namespace mailroom;
using namespace mailroom::ipc;
using namespace std::string_literals;

namespace {

struct Pair {
    IpcStream a;
    IpcStream b;
};

Pair make_pair(int timeout_ms = 2000) {
    int sv[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
    return Pair{IpcStream(util::UniqueFd(sv[0]), timeout_ms), IpcStream(util::UniqueFd(sv[1]), timeout_ms)};
}

std::string make_temp_dir() {
    char tmpl[] = "/tmp/mr-ipc-test-XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    return tmpl;
}

}  // namespace

TEST_CASE("records travel over a socketpair in both directions", "[unit]") {
    Pair p = make_pair();
    AttrList req;
    req.add("request", "flush").add_int("n", 3);
    REQUIRE(p.a.send(req).ok());
    auto got = p.b.receive();
    REQUIRE(got.ok());
    CHECK(*got == req);
    AttrList reply;
    reply.add_int("status", 0).add("reason", "");
    REQUIRE(p.b.send(reply).ok());
    CHECK(*p.a.receive() == reply);
}

TEST_CASE("bytes after a record wait for the next receive", "[unit]") {
    Pair p = make_pair();
    std::string two = *encode_record(AttrList().add("a", "1")) + *encode_record(AttrList().add("b", "2"));
    REQUIRE(::write(p.a.fd(), two.data(), two.size()) == static_cast<ssize_t>(two.size()));
    CHECK(*p.b.receive() == AttrList().add("a", "1"));
    CHECK(*p.b.receive() == AttrList().add("b", "2"));
}

TEST_CASE("a record larger than the socket buffer is sent and received", "[unit]") {
    Pair p = make_pair();
    AttrList big;
    for (int i = 0; i < 3; ++i) big.add("v" + std::to_string(i), std::string(kMaxStringLength, 'a' + i));
    std::thread sender([&] { REQUIRE(p.a.send(big).ok()); });
    auto got = p.b.receive();
    sender.join();
    REQUIRE(got.ok());
    CHECK(*got == big);
}

TEST_CASE("the client checks the server's announcement", "[unit]") {
    SECTION("match") {
        Pair p = make_pair();
        REQUIRE(p.a.announce(kCleanupProtocol, kProtocolVersion).ok());
        CHECK(p.b.expect_announcement(kCleanupProtocol, kProtocolVersion).ok());
    }
    SECTION("wrong protocol") {
        Pair p = make_pair();
        REQUIRE(p.a.announce(kBounceProtocol, kProtocolVersion).ok());
        Status st = p.b.expect_announcement(kCleanupProtocol, kProtocolVersion);
        REQUIRE_FALSE(st.ok());
        CHECK_THAT(st.error().message, Catch::Contains("protocol mismatch"));
    }
    SECTION("peer hangs up instead") {
        Pair p = make_pair();
        p.a = IpcStream(util::UniqueFd(), 0);
        Status st = p.b.expect_announcement(kCleanupProtocol, kProtocolVersion);
        REQUIRE_FALSE(st.ok());
        CHECK(st.error().temporary());
        CHECK_THAT(st.error().message, Catch::Contains("reading cleanup_protocol announcement"));
    }
}

TEST_CASE("receive errors: timeout, hang-up mid-record, malformed bytes", "[unit]") {
    SECTION("timeout") {
        Pair p = make_pair(100);
        auto r = p.b.receive();
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().temporary());
        CHECK_THAT(r.error().message, Catch::Contains("timeout"));
    }
    SECTION("hang-up in the middle of a record") {
        Pair p = make_pair();
        std::string part = "status\0i1"s;
        REQUIRE(::write(p.a.fd(), part.data(), part.size()) == static_cast<ssize_t>(part.size()));
        p.a = IpcStream(util::UniqueFd(), 0);
        auto r = p.b.receive();
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().temporary());
        CHECK_THAT(r.error().message, Catch::Contains("in the middle of a record (9 bytes)"));
    }
    SECTION("malformed") {
        Pair p = make_pair();
        std::string bad = "Status\0i1\0\0"s;
        REQUIRE(::write(p.a.fd(), bad.data(), bad.size()) == static_cast<ssize_t>(bad.size()));
        auto r = p.b.receive();
        REQUIRE_FALSE(r.ok());
        CHECK_FALSE(r.error().temporary());
        CHECK_THAT(r.error().message, Catch::Contains("bad character 0x53"));
    }
    SECTION("send to a closed peer is a temporary error, not SIGPIPE") {
        Pair p = make_pair();
        p.b = IpcStream(util::UniqueFd(), 0);
        Status st = p.a.send(AttrList().add("a", "b"));
        REQUIRE_FALSE(st.ok());
        CHECK(st.error().temporary());
    }
    SECTION("an invalid record is never sent") {
        Pair p = make_pair();
        Status st = p.a.send(AttrList().add("Bad", "x"));
        REQUIRE_FALSE(st.ok());
        CHECK_FALSE(st.error().temporary());
    }
}

TEST_CASE("service sockets under queue_directory/private and public", "[unit]") {
    CHECK(service_socket_path("/var/spool/mailroom", ServiceClass::kPrivate, "cleanup") ==
          "/var/spool/mailroom/private/cleanup");
    CHECK(service_socket_path("/q/", ServiceClass::kPublic, "pickup") == "/q/public/pickup");

    std::string dir = make_temp_dir();
    REQUIRE(::mkdir((dir + "/private").c_str(), 0700) == 0);
    std::string path = service_socket_path(dir, ServiceClass::kPrivate, "cleanup");
    auto listener = listen_unix(path);
    REQUIRE(listener.ok());

    std::thread server([&] {
        auto conn = accept_unix(listener->get(), 2000);
        REQUIRE(conn.ok());
        IpcStream s(std::move(*conn), 2000);
        REQUIRE(s.announce(kCleanupProtocol, kProtocolVersion).ok());
        auto req = s.receive();
        REQUIRE(req.ok());
        AttrList reply;
        reply.add_int("status", 0).add("queue_id", *get_string(*req, "echo"));
        REQUIRE(s.send(reply).ok());
    });
    auto fd = connect_service(dir, ServiceClass::kPrivate, "cleanup", 2000);
    REQUIRE(fd.ok());
    IpcStream c(std::move(*fd), 2000);
    REQUIRE(c.expect_announcement(kCleanupProtocol, kProtocolVersion).ok());
    REQUIRE(c.send(AttrList().add("echo", "D786582E95")).ok());
    auto reply = c.receive();
    server.join();
    REQUIRE(reply.ok());
    CHECK(*get_string(*reply, "queue_id") == "D786582E95");

    SECTION("no listener: temporary error naming the path") {
        auto r = connect_service(dir, ServiceClass::kPublic, "pickup", 200);
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().temporary());
        CHECK_THAT(r.error().message, Catch::Contains(dir + "/public/pickup"));
    }
    SECTION("accept times out") {
        auto r = accept_unix(listener->get(), 50);
        REQUIRE_FALSE(r.ok());
        CHECK_THAT(r.error().message, Catch::Contains("timeout"));
    }
    ::unlink(path.c_str());
    ::rmdir((dir + "/private").c_str());
    ::rmdir(dir.c_str());
}

TEST_CASE("an over-long socket path is a permanent error", "[unit]") {
    auto r = connect_unix("/tmp/" + std::string(200, 'x'), 100);
    REQUIRE_FALSE(r.ok());
    CHECK_FALSE(r.error().temporary());
    CHECK_THAT(r.error().message, Catch::Contains("socket path too long"));
}

TEST_CASE("connect gives up after its timeout when the backlog stays full", "[unit]") {
    std::string dir = make_temp_dir();
    std::string path = dir + "/busy";
    auto listener = listen_unix(path, 1);
    REQUIRE(listener.ok());
    std::vector<util::UniqueFd> held;
    bool timed_out = false;
    for (int i = 0; i < 16 && !timed_out; ++i) {
        struct timespec t0, t1;
        ::clock_gettime(CLOCK_MONOTONIC, &t0);
        auto fd = connect_unix(path, 150);
        ::clock_gettime(CLOCK_MONOTONIC, &t1);
        if (fd.ok()) {
            held.push_back(std::move(*fd));
            continue;
        }
        timed_out = true;
        CHECK(fd.error().temporary());
        long elapsed_ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
        CHECK(elapsed_ms >= 140);
        CHECK(elapsed_ms < 2000);
    }
    CHECK(timed_out);
    ::unlink(path.c_str());
    ::rmdir(dir.c_str());
}
