// pop3_session_test.cc - the session's state machine over a loopback TCP
// connection, with authd absent (every login is a temporary failure):
// greeting, CAPA, AUTHORIZATION-state refusals, SASL exchanges and their
// aborts, pipelined commands, disable_plaintext_auth for a client on
// another address, the bad-command limit and QUIT.
#include <arpa/inet.h>
#include <event2/event.h>
#include <sys/ioctl.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

#include "lib/event/event_loop.h"
#include "lib/util/base64.h"
#include "pop3d/pop3_server.h"
#include "tests/support/session_harness.h"

using namespace mailroom;
using namespace mailroom::pop3d;

namespace {

class Harness : public test::SessionHarness<Pop3Server, Pop3Config> {
public:
    using SessionHarness::SessionHarness;
    std::vector<std::string> lines_until_dot() {
        std::vector<std::string> out;
        for (std::string l = line(); l != "." && l != "<eof>" && l != "<timeout>"; l = line()) out.push_back(l);
        return out;
    }
};

}  // namespace

TEST_CASE("pop3 session: AUTHORIZATION state with authd down", "[unit]") {
    Pop3Config cfg;
    cfg.login.failure_delay = std::chrono::milliseconds(10);
    Harness h{cfg};
    CHECK(h.line() == "+OK mailroom ready.");
    CHECK(h.say("CAPA") == "+OK");
    CHECK(h.lines_until_dot() == std::vector<std::string>{"CAPA", "TOP", "UIDL", "RESP-CODES", "PIPELINING",
                                                           "AUTH-RESP-CODE", "USER", "SASL PLAIN LOGIN",
                                                           "IMPLEMENTATION mailroom"});
    CHECK(h.say("STAT") == "-ERR Unknown command.");
    CHECK(h.say("PASS x") == "-ERR No username given.");
    CHECK(h.say("STLS") == "-ERR TLS support isn't enabled.");
    CHECK(h.say("USER openstack") == "+OK");
    CHECK(h.say("PASS redhat") == "-ERR [SYS/TEMP] Temporary authentication failure.");
    CHECK(h.say("AUTH") == "+OK");
    CHECK(h.lines_until_dot() == std::vector<std::string>{"PLAIN", "LOGIN"});
    CHECK(h.say("AUTH CRAM-MD5") == "-ERR Unsupported authentication mechanism.");
    CHECK(h.say("AUTH LOGIN") == "+ VXNlcm5hbWU6");
    CHECK(h.say("*") == "-ERR Authentication aborted by client.");
    CHECK(h.say("AUTH PLAIN") == "+ ");
    CHECK(h.say("!!!") == "-ERR Invalid base64 data in continued response");
    CHECK(h.say("AUTH PLAIN " + util::base64_encode(std::string("\0only-one-nul", 13))) ==
          "-ERR [AUTH] Authentication failed.");
    CHECK(h.say("AUTH LOGIN " + util::base64_encode("openstack")) == "+ UGFzc3dvcmQ6");
    CHECK(h.say(util::base64_encode("redhat")) == "-ERR [SYS/TEMP] Temporary authentication failure.");
    CHECK(h.say("APOP openstack 0123") == "-ERR APOP is not enabled.");
    // Pipelined commands are answered in order, also across an authd wait.
    h.write("USER a\r\nPASS b\r\nUSER c\r\n");
    CHECK(h.line() == "+OK");
    CHECK(h.line() == "-ERR [SYS/TEMP] Temporary authentication failure.");
    CHECK(h.line() == "+OK");
    CHECK(h.say(std::string(9000, 'x')) == "-ERR Input line too long.");
    CHECK(h.say("QUIT") == "+OK Logging out.");
    CHECK(h.line() == "<eof>");
}

TEST_CASE("pop3 session: plaintext refused off the server's own address", "[unit]") {
    Pop3Config cfg;
    cfg.greeting = "Dovecot ready.";
    cfg.login.mech_apop = true;
    cfg.login.hostname = "mail.yuliang.com";
    Harness h{cfg, "127.0.0.2"};
    const std::string greeting = h.line();
    CHECK(greeting.rfind("+OK Dovecot ready. <", 0) == 0);
    CHECK(greeting.find("@mail.yuliang.com>") != std::string::npos);
    const std::string refused = "-ERR [AUTH] Plaintext authentication disallowed on non-secure (SSL/TLS) connections.";
    CHECK(h.say("USER openstack") == refused);
    CHECK(h.say("AUTH PLAIN") == refused);
    CHECK(h.say("CAPA") == "+OK");
    auto caps = h.lines_until_dot();
    CHECK(std::find(caps.begin(), caps.end(), "USER") == caps.end());
    CHECK(std::find(caps.begin(), caps.end(), "SASL") != caps.end());
}

TEST_CASE("pop3 session: twenty bad commands end the session", "[unit]") {
    Harness h{Pop3Config{}};
    h.line();
    for (int i = 1; i < 20; ++i) CHECK(h.say("BOGUS") == "-ERR Unknown command: BOGUS");
    CHECK(h.say("BOGUS") == "-ERR Unknown command: BOGUS");
    CHECK(h.line() == "-ERR Too many bad commands.");
    CHECK(h.line() == "<eof>");
}

TEST_CASE("pop3 session: the idle timeout's reply reaches the client before the close", "[unit]") {
    Pop3Config cfg;
    cfg.idle_timeout = std::chrono::milliseconds(300);
    Harness h{cfg};
    CHECK(h.line() == "+OK mailroom ready.");
    CHECK(h.line() == "-ERR Disconnected for inactivity.");
    CHECK(h.line() == "<eof>");
}

TEST_CASE("pop3 session: failed logins are answered after the failure delay, the third ends the session", "[unit]") {
    Pop3Config cfg;
    cfg.login.failure_delay = std::chrono::milliseconds(300);
    Harness h{cfg};
    h.line();
    const std::string bad_plain = "AUTH PLAIN " + util::base64_encode(std::string("\0only-one-nul", 13));
    for (int i = 1; i <= 3; ++i) {
        const auto t0 = std::chrono::steady_clock::now();
        CHECK(h.say(bad_plain) == "-ERR [AUTH] Authentication failed.");
        // Slack for the loop's coarse clock.
        CHECK(std::chrono::steady_clock::now() - t0 >= std::chrono::milliseconds(280));
        if (i < 3) CHECK(h.say("NOOP") == "-ERR Unknown command.");  // still AUTHORIZATION
    }
    CHECK(h.line() == "<eof>");
}

TEST_CASE("pop3 session: a client pipelining without reading is not read further", "[unit]") {
    Harness h{Pop3Config{}, "127.0.0.1", 16 * 1024};
    CHECK(h.line() == "+OK mailroom ready.");
    const std::string cmd = "CAPA\r\n";
    std::string chunk;
    for (int i = 0; i < 1000; ++i) chunk += cmd;
    // Write CAPA commands, letting pop3d run, until neither the kernel nor
    // pop3d takes more. Each CAPA is ~17 times its size in replies: without
    // a bound pop3d would read all 2 MB and queue some 35 MB of them.
    constexpr std::size_t kCap = 2 * 1024 * 1024;
    std::size_t sent = 0;
    for (int idle = 0; sent < kCap && idle < 100;) {
        const std::size_t off = sent % chunk.size();
        const ssize_t n = ::send(h.client(), chunk.data() + off, chunk.size() - off, MSG_NOSIGNAL);
        if (n > 0) {
            sent += static_cast<std::size_t>(n);
            idle = 0;
            continue;
        }
        REQUIRE(errno == EAGAIN);
        ++idle;
        h.poll();
    }
    REQUIRE(sent < kCap);
    // pop3d is runnable and has input waiting in the kernel, yet it does
    // not read it: its queue of replies is full.
    for (int i = 0; i < 10; ++i) h.poll();
    int unread = 0;
    REQUIRE(::ioctl(h.server_fd(), FIONREAD, &unread) == 0);
    CHECK(unread > 0);
    // Once the client reads, every command is answered, in order.
    const std::string tail = "IMPLEMENTATION mailroom\r\n.\r\n";
    std::string carry;
    std::size_t answered = 0;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (std::chrono::steady_clock::now() < deadline) {
        if (sent % cmd.size() != 0) {  // finish the command cut short
            const std::size_t off = sent % cmd.size();
            const ssize_t n = ::send(h.client(), cmd.data() + off, cmd.size() - off, MSG_NOSIGNAL);
            if (n > 0) sent += static_cast<std::size_t>(n);
        }
        if (sent % cmd.size() == 0 && answered == sent / cmd.size()) break;
        char buf[65536];
        const ssize_t n = ::recv(h.client(), buf, sizeof(buf), 0);
        if (n <= 0) {
            REQUIRE(n < 0);
            REQUIRE(errno == EAGAIN);
            h.poll();
            continue;
        }
        carry.append(buf, static_cast<std::size_t>(n));
        for (auto p = carry.find(tail); p != std::string::npos; p = carry.find(tail)) {
            ++answered;
            carry.erase(0, p + tail.size());
        }
        if (carry.size() > tail.size()) carry.erase(0, carry.size() - tail.size());
    }
    CHECK(answered == sent / cmd.size());
    CHECK(h.say("QUIT") == "+OK Logging out.");
}
