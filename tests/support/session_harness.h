// session_harness.h - one client session of a mail-access server (pop3d,
// imapd) over a loopback TCP connection, for the session unit tests.
//
// SessionHarness<Server, Config> makes the server on its own event loop
// (authd's socket pointed at a path nothing serves, so every login is a
// temporary failure), connects a non-blocking client from `client_addr`
// and hands the server end to Server::accept(). line() turns the loop
// until a CRLF-terminated reply line arrives ("<eof>", or "<timeout>"
// after 5 s).
#pragma once

#include <arpa/inet.h>
#include <event2/event.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <memory>
#include <string>

#include "lib/event/event_loop.h"
#include "lib/server/server.h"
#include "lib/util/unique_fd.h"

namespace mailroom::test {

template <class Server, class Config>
class SessionHarness {
public:
    // sockbuf > 0: small socket buffers on both ends, so a client that
    // does not read fills them quickly.
    explicit SessionHarness(Config cfg, const char* client_addr = "127.0.0.1", int sockbuf = 0) {
        cfg.login.authd.socket_path = "/nonexistent/private/authd";
        server_ = std::make_unique<Server>(loop_, std::move(cfg), nullptr);
        int lfd = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        REQUIRE(::bind(lfd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0);
        REQUIRE(::listen(lfd, 1) == 0);
        socklen_t len = sizeof(a);
        ::getsockname(lfd, reinterpret_cast<sockaddr*>(&a), &len);
        client_ = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in c{};
        c.sin_family = AF_INET;
        ::inet_pton(AF_INET, client_addr, &c.sin_addr);
        REQUIRE(::bind(client_, reinterpret_cast<sockaddr*>(&c), sizeof(c)) == 0);
        if (sockbuf > 0) {
            ::setsockopt(client_, SOL_SOCKET, SO_SNDBUF, &sockbuf, sizeof(sockbuf));
            ::setsockopt(client_, SOL_SOCKET, SO_RCVBUF, &sockbuf, sizeof(sockbuf));
            ::setsockopt(lfd, SOL_SOCKET, SO_SNDBUF, &sockbuf, sizeof(sockbuf));
            ::setsockopt(lfd, SOL_SOCKET, SO_RCVBUF, &sockbuf, sizeof(sockbuf));
        }
        REQUIRE(::connect(client_, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0);
        int sfd = ::accept(lfd, nullptr, nullptr);
        ::close(lfd);
        REQUIRE(sfd >= 0);
        server_fd_ = sfd;
        ::fcntl(client_, F_SETFL, O_NONBLOCK);
        // While line() waits, the loop wakes for the client's end too: a
        // reply the server has written may reach it a little later (the
        // kernel delivers loopback data on its own time on a loaded
        // machine), with nothing else left to wake the loop.
        client_watch_ = event::FdWatcher(loop_, client_, event::Interest::kRead, [] {});
        server_->accept(server::Connection(util::UniqueFd(sfd), nullptr));
    }
    ~SessionHarness() {
        client_watch_ = event::FdWatcher();
        ::close(client_);
        server_.reset();
    }
    SessionHarness(const SessionHarness&) = delete;
    SessionHarness& operator=(const SessionHarness&) = delete;

    // The next reply line, or "<eof>"; a guard timer stops a stuck wait.
    std::string line() {
        bool expired = false;
        event::Timer guard(loop_, [&] { expired = true; });
        guard.start(std::chrono::seconds(5));
        for (;;) {
            const auto nl = buf_.find("\r\n");
            if (nl != std::string::npos) {
                std::string l = buf_.substr(0, nl);
                buf_.erase(0, nl + 2);
                return l;
            }
            char tmp[4096];
            ssize_t n = ::recv(client_, tmp, sizeof(tmp), 0);
            if (n > 0) {
                buf_.append(tmp, static_cast<std::size_t>(n));
                continue;
            }
            if (n == 0) return "<eof>";
            if (expired) return "<timeout>";
            client_watch_.enable();
            loop_.run_once();
            client_watch_.disable();
        }
    }
    void write(const std::string& bytes) {
        REQUIRE(::send(client_, bytes.data(), bytes.size(), 0) == static_cast<ssize_t>(bytes.size()));
    }
    std::string say(const std::string& cmd) {
        write(cmd + "\r\n");
        return line();
    }

    int client() const { return client_; }
    int server_fd() const { return server_fd_; }
    // Runs the callbacks of whatever is ready now, without waiting.
    void poll() { event_base_loop(loop_.base(), EVLOOP_NONBLOCK); }

private:
    event::Loop loop_;
    event::FdWatcher client_watch_;
    std::unique_ptr<Server> server_;
    int client_ = -1;
    int server_fd_ = -1;
    std::string buf_;
};

}  // namespace mailroom::test
