// anvil_client_test.cc - the non-blocking client against AnvilServer on one
// event loop, over a real UNIX socket: replies in order, connections of a
// client that goes away are dropped, and an absent or silent anvil answers
// nullopt without blocking the loop.
#include <catch2/catch.hpp>

#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <optional>
#include <vector>

#include "anvil/anvil_server.h"
#include "lib/anvil/anvil_client.h"
#include "lib/ipc/ipc_socket.h"
#include "lib/log/log.h"

using namespace mailroom;
using namespace mailroom::anvil;

namespace {

struct Fixture {
    std::string dir;
    std::string path;
    event::Loop loop;
    util::UniqueFd listener;
    event::FdWatcher acceptor;
    std::unique_ptr<AnvilServer> server;
    event::Timer deadline;
    std::vector<std::string> logs;

    Fixture() {
        char tmpl[] = "/tmp/anvil_client_test.XXXXXX";
        dir = ::mkdtemp(tmpl);
        path = dir + "/anvil";
        deadline = event::Timer(loop, [this] { loop.stop(); });
        log::set_capture([this](log::Level level, const std::string& text) {
            logs.push_back(log::level_prefix(level) + text);
        });
    }
    ~Fixture() {
        log::set_capture(nullptr);
        acceptor = event::FdWatcher();
        server.reset();
        ::unlink(path.c_str());
        ::rmdir(dir.c_str());
    }
    void serve(bool accept = true) {
        auto fd = ipc::listen_unix(path);
        REQUIRE(fd.ok());
        listener = std::move(*fd);
        if (!accept) return;
        server = std::make_unique<AnvilServer>(loop, AnvilConfig{});
        acceptor = event::FdWatcher(loop, listener.get(), event::Interest::kRead, [this] {
            int c = ::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC);
            if (c >= 0) server->accept(server::Connection(util::UniqueFd(c), nullptr));
        });
        acceptor.enable();
    }
    ClientOptions options(int timeout_ms = 2000) {
        ClientOptions o;
        o.socket_path = path;
        o.timeout = std::chrono::milliseconds(timeout_ms);
        return o;
    }
    // Runs the loop until `done` or 30 s.
    void run_until(const std::function<bool()>& done) {
        auto start = std::chrono::steady_clock::now();
        while (!done() && std::chrono::steady_clock::now() - start < std::chrono::seconds(30)) {
            deadline.start(std::chrono::milliseconds(50));
            loop.run_once();
        }
        deadline.cancel();
    }
    bool logged(const std::string& text) const {
        for (const auto& l : logs) {
            if (l.find(text) != std::string::npos) return true;
        }
        return false;
    }
};

}  // namespace

TEST_CASE("anvil_client pipelined requests are answered in order", "[unit]") {
    Fixture f;
    f.serve();
    Client client(f.loop, f.options());
    std::vector<Reply> replies;
    auto keep = [&](std::optional<Reply> r) {
        REQUIRE(r.has_value());
        replies.push_back(*r);
    };
    client.request(RequestType::kConnect, "smtp:192.0.2.1", keep);
    client.request(RequestType::kConnect, "smtp:192.0.2.1", keep);
    client.request(RequestType::kMessage, "smtp:192.0.2.1", keep);
    client.request(RequestType::kRecipient, "smtp:192.0.2.1", keep);
    client.request(RequestType::kRecipient, "smtp:192.0.2.1", keep);
    client.request(RequestType::kLookup, "smtp:192.0.2.1", keep);
    CHECK(replies.empty());  // nothing is answered from inside request()
    f.run_until([&] { return replies.size() == 6; });
    REQUIRE(replies.size() == 6);
    CHECK(replies[0].count == 1);
    CHECK(replies[1].count == 2);
    CHECK(replies[1].rate == 2);
    CHECK(replies[2].rate == 1);
    CHECK(replies[4].rate == 2);
    CHECK(replies[5].count == 2);
    CHECK(replies[5].mail == 1);
    CHECK(replies[5].rcpt == 2);
    CHECK(client.generation() == 1);
}

TEST_CASE("anvil_client connections of a client that goes away are dropped", "[unit]") {
    Fixture f;
    f.serve();
    {
        Client gone(f.loop, f.options());
        int answered = 0;
        gone.request(RequestType::kConnect, "smtp:192.0.2.9", [&](std::optional<Reply>) { ++answered; });
        gone.request(RequestType::kConnect, "smtp:192.0.2.9", [&](std::optional<Reply>) { ++answered; });
        f.run_until([&] { return answered == 2; });
        CHECK(f.server->state().lookup("smtp:192.0.2.9", std::time(nullptr)).count == 2);
    }
    f.run_until([&] { return f.server->clients() == 0; });
    CHECK(f.server->state().lookup("smtp:192.0.2.9", std::time(nullptr)).count == 0);
}

TEST_CASE("anvil_client without anvil every request gets nullopt", "[unit]") {
    Fixture f;
    Client client(f.loop, f.options());
    int failed = 0;
    client.request(RequestType::kConnect, "smtp:192.0.2.1", [&](std::optional<Reply> r) {
        CHECK_FALSE(r.has_value());
        ++failed;
    });
    CHECK(failed == 0);
    f.run_until([&] { return failed == 1; });
    CHECK(failed == 1);
    CHECK(f.logged("warning: connect to private/anvil: No such file or directory"));
}

TEST_CASE("anvil_client a silent anvil times out and is not asked again at once", "[unit]") {
    Fixture f;
    f.serve(false);  // the socket exists, nobody accepts (a stopped anvil)
    Client client(f.loop, f.options(200));
    int failed = 0;
    auto fail = [&](std::optional<Reply> r) {
        CHECK_FALSE(r.has_value());
        ++failed;
    };
    client.request(RequestType::kConnect, "smtp:192.0.2.1", fail);
    client.request(RequestType::kMessage, "smtp:192.0.2.1", fail);
    f.run_until([&] { return failed == 2; });
    CHECK(failed == 2);
    CHECK(f.logged("warning: problem talking to server private/anvil: timeout"));
    // During retry_delay a request fails from the loop without waiting.
    client.request(RequestType::kConnect, "smtp:192.0.2.1", fail);
    f.run_until([&] { return failed == 3; });
    CHECK(failed == 3);
    CHECK_FALSE(client.connected());
}
