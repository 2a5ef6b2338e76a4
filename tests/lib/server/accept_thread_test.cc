// accept_thread_test.cc - the accept thread takes no more clients than the
// process has credits for, also while the loop is taking the ones it has.
#include "lib/server/accept_thread.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "lib/event/event_loop.h"
#include "lib/util/unique_fd.h"

using namespace mailroom;
using util::UniqueFd;

namespace {

struct Listener {
    std::filesystem::path dir;
    UniqueFd fd;
    sockaddr_un addr{};

    Listener() {
        char tmpl[] = "/tmp/mr-accept-XXXXXX";
        REQUIRE(::mkdtemp(tmpl) != nullptr);
        dir = tmpl;
        addr.sun_family = AF_UNIX;
        std::string path = (dir / "s").string();
        std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
        fd.reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
        REQUIRE(fd.valid());
        REQUIRE(::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
        REQUIRE(::listen(fd.get(), 16) == 0);
    }
    ~Listener() { std::filesystem::remove_all(dir); }

    UniqueFd connect() const {
        UniqueFd c(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
        REQUIRE(::connect(c.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) == 0);
        return c;
    }
};

}  // namespace

TEST_CASE("accept thread: the clients taken use up their credits", "[unit]") {
    Listener l;
    event::Loop loop;
    server::AcceptThread thread;
    std::vector<server::AcceptThread::Accepted> got;
    REQUIRE(thread.start(loop, {l.fd.get()}, [&] {
        for (auto& a : thread.take()) got.push_back(a);
        loop.stop();
    }).ok());
    thread.set_credits(3);
    std::vector<UniqueFd> clients;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    auto wait_for = [&](size_t n) {
        while (got.size() < n && std::chrono::steady_clock::now() < deadline) loop.run_once();
        REQUIRE(got.size() == n);
    };
    clients.push_back(l.connect());
    wait_for(1);

    // The loop took one client and has not said anything since, as between
    // take() and its next set_credits(): two credits are left, not three.
    // Of three more clients the thread takes two; the third stays in the
    // backlog, where this test's own accept finds it.
    for (int i = 0; i < 3; ++i) clients.push_back(l.connect());
    wait_for(3);
    for (auto& a : got) {
        CHECK(a.fd >= 0);
        ::close(a.fd);
    }
    int fd = -1;
    while (fd < 0 && std::chrono::steady_clock::now() < deadline) {
        fd = ::accept4(l.fd.get(), nullptr, nullptr, SOCK_CLOEXEC);
        if (fd < 0) {
            REQUIRE((errno == EAGAIN || errno == EWOULDBLOCK));
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
    }
    CHECK(fd >= 0);
    if (fd >= 0) ::close(fd);
}
