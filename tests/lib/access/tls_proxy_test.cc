// tls_proxy_test.cc - TlsProxy moves bytes both ways between the client's
// channel and the clear-text socket a mail process holds, lets the mail
// process's last words reach the client when it closes, and ends when the
// client goes. (The client side is a plain channel here: the proxy does
// not care whether TLS runs under it.)
#include "lib/access/mail_process.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <string>

#include "tests/support/loop_util.h"

using namespace mailroom;

namespace {

struct Pair {
    util::UniqueFd a, b;
    Pair() {
        int sv[2];
        REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
        a.reset(sv[0]);
        b.reset(sv[1]);
        ::fcntl(a.get(), F_SETFL, O_NONBLOCK);
    }
};

// Reads what is there on a non-blocking descriptor; sets *eof at its end.
std::string drain(int fd, bool* eof) {
    std::string out;
    char buf[65536];
    ssize_t n;
    while ((n = ::read(fd, buf, sizeof(buf))) > 0) out.append(buf, static_cast<std::size_t>(n));
    if (n == 0) *eof = true;
    return out;
}

}  // namespace

TEST_CASE("tls proxy: both ways, then the mail process's close reaches the client", "[unit]") {
    event::Loop loop;
    Pair client;  // a: the client, b: the login process's side
    Pair mail;    // a: the mail process, b: the proxy's clear end
    auto channel = event::Channel::create(loop, std::move(client.b));
    REQUIRE(channel);
    bool done = false;
    access::TlsProxy proxy(std::move(channel), std::move(mail.b), loop, [&] { done = true; });

    REQUIRE(::write(client.a.get(), "STAT\r\n", 6) == 6);
    std::string at_mail;
    bool eof = false;
    REQUIRE(testing::run_until(loop, [&] {
        at_mail += drain(mail.a.get(), &eof);
        return at_mail == "STAT\r\n";
    }));
    // A reply larger than the socket buffers, then the mail process closes.
    std::string big(1 << 20, 'x');
    std::size_t sent = 0;
    std::string at_client;
    bool client_eof = false;
    REQUIRE(testing::run_until(loop, [&] {
        if (sent < big.size()) {
            ssize_t n = ::write(mail.a.get(), big.data() + sent, big.size() - sent);
            if (n > 0) sent += static_cast<std::size_t>(n);
            if (sent == big.size()) mail.a.reset();
        }
        at_client += drain(client.a.get(), &client_eof);
        return done && at_client.size() == big.size();
    }));
    CHECK(at_client == big);
}

TEST_CASE("tls proxy: the client going away ends it", "[unit]") {
    event::Loop loop;
    Pair client, mail;
    auto channel = event::Channel::create(loop, std::move(client.b));
    REQUIRE(channel);
    bool done = false;
    access::TlsProxy proxy(std::move(channel), std::move(mail.b), loop, [&] { done = true; });
    client.a.reset();
    REQUIRE(testing::run_until(loop, [&] { return done; }));
}
