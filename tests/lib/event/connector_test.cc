// connector_test.cc - event::Connector and parse_stream_address(): the
// address forms main.cf uses, a connect that succeeds (UNIX and TCP), one
// refused, one to a missing socket, and a Connector dropped before it
// calls back.
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>

#include "lib/event/connector.h"
#include "tests/support/loop_util.h"

using namespace mailroom;
using mailroom::testing::run_until;
using namespace std::chrono_literals;

namespace {

struct Outcome {
    bool called = false;
    bool connected = false;
    std::string error;
};

event::Connector::Done record(Outcome* out) {
    return [out](Result<util::UniqueFd> fd) {
        out->called = true;
        out->connected = fd.ok() && fd->get() >= 0;
        if (!fd) out->error = fd.error().message;
    };
}

}  // namespace

TEST_CASE("stream addresses: unix, inet, bare host:port only when allowed", "[connector]") {
    auto u = event::parse_stream_address("unix:/run/clamav/clamd.ctl");
    REQUIRE(u);
    CHECK(u->path == "/run/clamav/clamd.ctl");
    CHECK(u->text() == "unix:/run/clamav/clamd.ctl");
    CHECK(event::parse_stream_address("/tmp/x.sock")->path == "/tmp/x.sock");
    auto i = event::parse_stream_address("inet:127.0.0.1:10024");
    REQUIRE(i);
    CHECK(i->address == "127.0.0.1");
    CHECK(i->port == 10024);
    CHECK(i->text() == "inet:127.0.0.1:10024");
    CHECK_FALSE(event::parse_stream_address("127.0.0.1:10024"));
    auto bare = event::parse_stream_address("127.0.0.1:10024", true);
    REQUIRE(bare);
    CHECK(bare->port == 10024);
    CHECK(event::parse_stream_address("localhost:25", true)->address == "127.0.0.1");
    auto v6 = event::parse_stream_address("[::1]:10024", true);
    REQUIRE(v6);
    CHECK(v6->address == "::1");
    CHECK(v6->text() == "inet:[::1]:10024");
    CHECK_FALSE(event::parse_stream_address("inet:mail.example.com:25"));
    CHECK_FALSE(event::parse_stream_address("inet:127.0.0.1:"));
    CHECK_FALSE(event::parse_stream_address("inet:127.0.0.1:65536"));
    CHECK_FALSE(event::parse_stream_address("inet:[::1:25"));
}

TEST_CASE("connector: a UNIX socket and a TCP port that listen, never a call from inside start()", "[connector]") {
    char tmpl[] = "/tmp/mr-connector-XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    std::string path = std::string(tmpl) + "/s";
    int l = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un sun{};
    sun.sun_family = AF_UNIX;
    std::strcpy(sun.sun_path, path.c_str());
    REQUIRE(::bind(l, reinterpret_cast<sockaddr*>(&sun), sizeof sun) == 0);
    REQUIRE(::listen(l, 4) == 0);
    int t = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(t, reinterpret_cast<sockaddr*>(&sin), sizeof sin) == 0);
    socklen_t len = sizeof sin;
    REQUIRE(::getsockname(t, reinterpret_cast<sockaddr*>(&sin), &len) == 0);
    REQUIRE(::listen(t, 4) == 0);

    event::Loop loop;
    Outcome a, b;
    auto ca = event::Connector::start(loop, *event::parse_stream_address("unix:" + path), 2000ms, record(&a));
    auto cb = event::Connector::start(
        loop, *event::parse_stream_address("inet:127.0.0.1:" + std::to_string(ntohs(sin.sin_port))), 2000ms,
        record(&b));
    CHECK_FALSE(a.called);
    CHECK_FALSE(b.called);
    REQUIRE(run_until(loop, [&] { return a.called && b.called; }));
    CHECK(a.connected);
    CHECK(b.connected);
    ::close(l);
    ::close(t);
    ::unlink(path.c_str());
    ::rmdir(tmpl);
}

TEST_CASE("connector: a missing socket and a refused port are errors with the reason", "[connector]") {
    int t = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(t, reinterpret_cast<sockaddr*>(&sin), sizeof sin) == 0);
    socklen_t len = sizeof sin;
    REQUIRE(::getsockname(t, reinterpret_cast<sockaddr*>(&sin), &len) == 0);
    // Bound, not listening: connections are refused.
    event::Loop loop;
    Outcome a, b;
    auto ca = event::Connector::start(loop, *event::parse_stream_address("unix:/nonexistent/mr.sock"), 2000ms,
                                      record(&a));
    auto cb = event::Connector::start(
        loop, *event::parse_stream_address("inet:127.0.0.1:" + std::to_string(ntohs(sin.sin_port))), 2000ms,
        record(&b));
    REQUIRE(run_until(loop, [&] { return a.called && b.called; }));
    CHECK_FALSE(a.connected);
    CHECK(a.error == "No such file or directory");
    CHECK_FALSE(b.connected);
    CHECK(b.error == "Connection refused");
    ::close(t);
}

TEST_CASE("connector: dropped before its answer, it calls nothing", "[connector]") {
    event::Loop loop;
    Outcome a;
    auto c = event::Connector::start(loop, *event::parse_stream_address("unix:/nonexistent/mr.sock"), 2000ms,
                                     record(&a));
    c.reset();
    bool turned = false;
    loop.defer([&] { turned = true; });
    REQUIRE(run_until(loop, [&] { return turned; }));
    CHECK_FALSE(a.called);
}
