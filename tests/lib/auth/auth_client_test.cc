// auth_client_test.cc - the authd client, on the loop and blocking, against
// a fake courier-style server on a socket in a temporary directory: a user,
// FAIL, a server that closes without a reply, one that never answers, a
// malformed reply, and no server at all.
#include <catch2/catch.hpp>

#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>

#include <atomic>
#include <filesystem>
#include <string>
#include <thread>

#include "lib/auth/auth_client.h"
#include "lib/ipc/ipc_socket.h"
#include "tests/support/loop_util.h"

using namespace mailroom;
using namespace mailroom::auth;
using namespace std::chrono_literals;

namespace {

// Accepts one connection, reads one request, answers `reply` (or nothing
// when `silent`), and records the request it read.
class FakeAuthd {
public:
    FakeAuthd() {
        char tmpl[] = "/tmp/mr-authd-test-XXXXXX";
        REQUIRE(::mkdtemp(tmpl) != nullptr);
        dir_ = tmpl;
        path = dir_ + "/authd";
        auto fd = ipc::listen_unix(path);
        REQUIRE(fd.ok());
        listener_ = std::move(*fd);
    }
    ~FakeAuthd() {
        join();
        std::error_code ec;
        std::filesystem::remove_all(dir_, ec);
    }
    void serve(std::string reply, bool silent = false) {
        thread_ = std::thread([this, reply, silent] {
            auto conn = ipc::accept_unix(listener_.get(), 5000);
            if (!conn) return;
            RequestDecoder d;
            char buf[512];
            for (;;) {
                pollfd p{conn->get(), POLLIN, 0};
                if (::poll(&p, 1, 5000) <= 0) return;
                ssize_t n = ::recv(conn->get(), buf, sizeof(buf), 0);
                if (n <= 0) return;
                std::size_t used = 0;
                auto step = d.feed(std::string_view(buf, static_cast<size_t>(n)), &used);
                if (step == RequestDecoder::Step::kError) return;
                if (step == RequestDecoder::Step::kRequest) break;
            }
            seen = d.take();
            if (silent) {
                // Hold the connection until the client gives up.
                pollfd p{conn->get(), POLLIN, 0};
                ::poll(&p, 1, 5000);
                return;
            }
            std::string out = reply;
            std::string err;
            (void)ipc::send_pending(conn->get(), out, &err);
        });
    }
    void join() {
        if (thread_.joinable()) thread_.join();
    }
    AuthClientOptions options(std::chrono::milliseconds timeout = 2000ms) const {
        AuthClientOptions o;
        o.socket_path = path;
        o.timeout = timeout;
        return o;
    }

    std::string path;
    Request seen;

private:
    std::string dir_;
    util::UniqueFd listener_;
    std::thread thread_;
};

AuthResult run(event::Loop& loop, AuthClient& client, const Request& req) {
    std::optional<AuthResult> got;
    client.request(req, [&](AuthResult r) { got = std::move(r); });
    REQUIRE(testing::run_until(loop, [&] { return got.has_value(); }, 10s));
    return *got;
}

}  // namespace

TEST_CASE("the loop client gets the user of a successful AUTH", "[unit]") {
    FakeAuthd server;
    server.serve("USERNAME=vmail\nUID=2000\nGID=2000\nHOME=/var/mailbox/joe\nADDRESS=joe@example.com\n.\n");
    event::Loop loop;
    AuthClient client(loop, server.options());
    auto r = run(loop, client, make_login_request("smtp", "joe@example.com", "secret"));
    server.join();
    CHECK(r.kind == AuthResult::Kind::kOk);
    CHECK(r.reply.user.address == "joe@example.com");
    CHECK(r.reply.user.uid == uid_t{2000});
    CHECK(server.seen.authtype == "login");
    CHECK(server.seen.authdata == "joe@example.com\nsecret\n");
    CHECK(client.pending() == 0);
}

TEST_CASE("FAIL is a permanent failure, a closed connection a temporary one", "[unit]") {
    struct Case {
        const char* reply;
        AuthResult::Kind kind;
        const char* reason;
    };
    const Case cases[] = {
        {"FAIL\n", AuthResult::Kind::kFail, ""},
        {"", AuthResult::Kind::kTempFail, "problem talking to server private/authd: connection closed without a reply"},
        {"UID=x\n.\n", AuthResult::Kind::kTempFail, "problem talking to server private/authd: authd reply: bad UID"},
    };
    event::Loop loop;
    for (const Case& c : cases) {
        INFO("reply: " << c.reply);
        FakeAuthd server;
        server.serve(c.reply);
        AuthClient client(loop, server.options());
        auto r = run(loop, client, make_login_request("smtp", "joe", "bad"));
        CHECK(r.kind == c.kind);
        CHECK(r.reason == c.reason);
    }
}

TEST_CASE("a silent server is a temporary failure after the timeout", "[unit]") {
    FakeAuthd server;
    server.serve("", true);
    event::Loop loop;
    AuthClient client(loop, server.options(300ms));
    auto start = std::chrono::steady_clock::now();
    auto r = run(loop, client, make_login_request("smtp", "joe", "pw"));
    auto took = std::chrono::steady_clock::now() - start;
    CHECK(r.kind == AuthResult::Kind::kTempFail);
    CHECK(r.reason == "problem talking to server private/authd: timeout");
    CHECK(took >= 280ms);  // the loop's timers run on a coarse clock
    CHECK(took < 3s);
}

TEST_CASE("no server is a temporary failure at once, delivered from the loop", "[unit]") {
    event::Loop loop;
    AuthClientOptions o;
    o.socket_path = "/nonexistent/authd";
    AuthClient client(loop, o);
    std::optional<AuthResult> got;
    client.request(make_pre_request("smtp", "joe"), [&](AuthResult r) { got = std::move(r); });
    CHECK_FALSE(got.has_value());  // never from inside request()
    REQUIRE(testing::run_until(loop, [&] { return got.has_value(); }, 1s));
    CHECK(got->kind == AuthResult::Kind::kTempFail);
    CHECK(got->reason == "connect to private/authd: No such file or directory");
}

TEST_CASE("cancel drops the callback", "[unit]") {
    FakeAuthd server;
    server.serve("FAIL\n");
    event::Loop loop;
    AuthClient client(loop, server.options());
    bool called = false;
    auto id = client.request(make_pre_request("smtp", "joe"), [&](AuthResult) { called = true; });
    client.cancel(id);
    CHECK(client.pending() == 0);
    testing::run_until(loop, [&] { return false; }, 200ms);
    CHECK_FALSE(called);
}

TEST_CASE("the blocking call", "[unit]") {
    {
        FakeAuthd server;
        server.serve("HOME=/home/joe\nADDRESS=joe\n.\n");
        auto r = authd_call(server.options(), make_pre_request("smtp", "joe"));
        CHECK(r.kind == AuthResult::Kind::kOk);
        CHECK(r.reply.user.home == "/home/joe");
    }
    {
        FakeAuthd server;
        server.serve("", true);
        auto r = authd_call(server.options(200ms), make_pre_request("smtp", "joe"));
        CHECK(r.kind == AuthResult::Kind::kTempFail);
        CHECK(r.reason == "problem talking to server private/authd: timeout");
    }
    AuthClientOptions o;
    o.socket_path = "/nonexistent/authd";
    CHECK(authd_call(o, make_pre_request("smtp", "joe")).kind == AuthResult::Kind::kTempFail);
    CHECK(authd_socket_path("/var/spool/mailroom", "private/authd") == "/var/spool/mailroom/private/authd");
    CHECK(authd_socket_path("/var/spool/mailroom/", "/run/courier/authdaemon/socket") ==
          "/run/courier/authdaemon/socket");
}
