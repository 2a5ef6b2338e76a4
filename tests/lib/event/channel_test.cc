// channel_test.cc - the connection type, driven through socketpairs: lines
// split across reads, over-long lines, back-pressure and resume, timeouts,
// end of input, delete from inside a callback, a TLS handshake.
#include "lib/event/channel.h"

#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "tests/support/loop_util.h"

using namespace mailroom;
using mailroom::testing::run_until;
using namespace std::chrono_literals;
using event::Channel;

namespace {

struct Pair {
    util::UniqueFd a, b;
    Pair() {
        int fds[2];
        REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds) == 0);
        a.reset(fds[0]);
        b.reset(fds[1]);
    }
};

void send_raw(int fd, std::string_view s) { REQUIRE(::write(fd, s.data(), s.size()) == static_cast<ssize_t>(s.size())); }

}  // namespace

TEST_CASE("Channel joins lines split across reads", "[unit]") {
    event::Loop loop;
    Pair p;
    auto ch = Channel::create(loop, p.a.get());
    REQUIRE(ch);
    std::vector<Channel::Line> lines;
    ch->on_input([&] {
        Channel::Line l;
        while (ch->read_line(&l)) lines.push_back(l);
    });
    send_raw(p.b.get(), "HEL");
    REQUIRE_FALSE(run_until(loop, [&] { return !lines.empty(); }, 100ms));
    send_raw(p.b.get(), "LO\r\nWOR");
    REQUIRE(run_until(loop, [&] { return lines.size() == 1; }));
    send_raw(p.b.get(), "LD\n\r\n");
    REQUIRE(run_until(loop, [&] { return lines.size() == 3; }));
    CHECK(lines[0].text == "HELLO");
    CHECK(lines[0].complete);
    CHECK_FALSE(lines[0].bare_lf);
    CHECK(lines[1].text == "WORLD");
    CHECK(lines[1].bare_lf);
    CHECK(lines[2].text.empty());
    CHECK(lines[2].complete);
}

TEST_CASE("Channel cuts an over-long line and skips its rest", "[unit]") {
    event::Loop loop;
    Pair p;
    Channel::Options opt;
    opt.max_line = 8;
    auto ch = Channel::create(loop, p.a.get(), opt);
    std::vector<Channel::Line> lines;
    ch->on_input([&] {
        Channel::Line l;
        while (ch->read_line(&l)) {
            lines.push_back(l);
            if (!l.complete) ch->skip_line();
        }
    });
    // A line of exactly max_line bytes plus CR LF is whole.
    send_raw(p.b.get(), "12345678\r\n0123456789");
    REQUIRE(run_until(loop, [&] { return lines.size() == 2; }));
    // The rest of the long line arrives later and is skipped, also across reads.
    send_raw(p.b.get(), "ABCDEF");
    send_raw(p.b.get(), "GHIJ\r\nok\r\n");
    REQUIRE(run_until(loop, [&] { return lines.size() == 3; }));
    CHECK(lines[0].text == "12345678");
    CHECK(lines[0].complete);
    CHECK(lines[1].text == "01234567");
    CHECK_FALSE(lines[1].complete);
    CHECK(lines[2].text == "ok");
    CHECK(lines[2].complete);
}

TEST_CASE("Channel pieces of a long line without skipping", "[unit]") {
    event::Loop loop;
    Pair p;
    Channel::Options opt;
    opt.max_line = 4;
    auto ch = Channel::create(loop, p.a.get(), opt);
    std::vector<std::string> pieces;
    ch->on_input([&] {
        Channel::Line l;
        while (ch->read_line(&l)) pieces.push_back(l.text + (l.complete ? "|" : "+"));
    });
    send_raw(p.b.get(), "abcdefghij\r\n");
    REQUIRE(run_until(loop, [&] { return pieces.size() == 3; }));
    CHECK(pieces == std::vector<std::string>{"abcd+", "efgh+", "ij|"});
}

TEST_CASE("Channel read timeout and end of input", "[unit]") {
    event::Loop loop;
    Pair p;
    Channel::Options opt;
    opt.read_timeout = 50ms;
    auto ch = Channel::create(loop, p.a.get(), opt);
    std::vector<Channel::Event> events;
    ch->on_event([&](Channel::Event e, const std::string&) { events.push_back(e); });
    REQUIRE(run_until(loop, [&] { return !events.empty(); }));
    CHECK(events[0] == Channel::Event::kTimeout);

    auto ch2 = Channel::create(loop, p.b.get());
    std::vector<Channel::Event> events2;
    ch2->on_event([&](Channel::Event e, const std::string&) { events2.push_back(e); });
    p.a.reset();
    REQUIRE(run_until(loop, [&] { return !events2.empty(); }));
    CHECK(events2[0] == Channel::Event::kEof);
}

TEST_CASE("Channel set_timeouts gives a watched read its new timeout, or takes it away", "[unit]") {
    event::Loop loop;
    Pair p;
    // No timeout at first; one of 50 ms once set: it fires.
    auto ch = Channel::create(loop, p.a.get());
    std::vector<Channel::Event> events;
    ch->on_event([&](Channel::Event e, const std::string&) { events.push_back(e); });
    ch->set_timeouts(50ms, 0ms);
    REQUIRE(run_until(loop, [&] { return !events.empty(); }));
    CHECK(events[0] == Channel::Event::kTimeout);

    // 50 ms at first, none once cleared: a line sent by a 300 ms timer
    // arrives with no timeout before it (the loop runs timers in order of
    // their deadlines, so an armed 50 ms one would have come first).
    Channel::Options opt;
    opt.read_timeout = 50ms;
    opt.nonblocking = false;
    auto ch2 = Channel::create(loop, p.b.get(), opt);
    std::vector<Channel::Event> events2;
    std::vector<std::string> lines;
    ch2->on_event([&](Channel::Event e, const std::string&) { events2.push_back(e); });
    ch2->on_input([&] {
        Channel::Line l;
        while (ch2->read_line(&l)) lines.push_back(l.text);
    });
    ch2->set_timeouts(0ms, 0ms);
    event::Timer later(loop, [&] { send_raw(p.a.get(), "hello\r\n"); });
    later.start(300ms);
    REQUIRE(run_until(loop, [&] { return !lines.empty() || !events2.empty(); }));
    CHECK(events2.empty());
    REQUIRE(lines.size() == 1);
    CHECK(lines[0] == "hello");
}

TEST_CASE("Channel on a descriptor that is non-blocking already", "[unit]") {
    event::Loop loop;
    int fds[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fds) == 0);
    util::UniqueFd a(fds[0]), b(fds[1]);
    Channel::Options opt;
    opt.nonblocking = true;
    auto ch = Channel::create(loop, a.get(), opt);
    std::vector<std::string> lines;
    ch->on_input([&] {
        Channel::Line l;
        while (ch->read_line(&l)) lines.push_back(l.text);
    });
    send_raw(b.get(), "one\r\ntwo\r\n");
    REQUIRE(run_until(loop, [&] { return lines.size() == 2; }));
    CHECK(lines[1] == "two");
}

TEST_CASE("Channel resume_reading delivers input buffered while paused", "[unit]") {
    event::Loop loop;
    Pair p;
    auto ch = Channel::create(loop, p.a.get());
    std::vector<std::string> lines;
    ch->on_input([&] {
        Channel::Line l;
        // One line per turn, then wait (as a session waiting for a lookup).
        if (ch->read_line(&l)) {
            lines.push_back(l.text);
            ch->pause_reading();
        }
    });
    send_raw(p.b.get(), "one\r\ntwo\r\n");
    REQUIRE(run_until(loop, [&] { return lines.size() == 1; }));
    CHECK_FALSE(run_until(loop, [&] { return lines.size() == 2; }, 100ms));
    ch->resume_reading();
    REQUIRE(run_until(loop, [&] { return lines.size() == 2; }));
    CHECK(lines[1] == "two");
}

TEST_CASE("Channel written output drains and reaches the peer", "[unit]") {
    event::Loop loop;
    Pair p;
    auto ch = Channel::create(loop, p.a.get());
    bool drained = false;
    ch->on_drained([&] { drained = true; });
    ch->write("250 ok\r\n");
    REQUIRE(run_until(loop, [&] { return drained; }));
    CHECK(ch->output_size() == 0);
    char buf[32];
    ssize_t n = ::read(p.b.get(), buf, sizeof(buf));
    REQUIRE(n == 8);
    CHECK(std::string(buf, 8) == "250 ok\r\n");
}

TEST_CASE("Channel dropped from inside its own callback", "[unit]") {
    event::Loop loop;
    Pair p;
    util::UniqueFd peer = std::move(p.b);
    auto ch = Channel::create(loop, std::move(p.a));  // owns the descriptor
    int calls = 0;
    ch->on_input([&] {
        ++calls;
        Channel::Line l;
        while (ch && ch->read_line(&l)) {
            if (l.text == "QUIT") {
                ch->write("221 bye\r\n");  // dropped unsent: the owner did not wait for drain
                ch.reset();                // the owner lets go inside the callback
            }
        }
    });
    send_raw(peer.get(), "NOOP\r\nQUIT\r\nNOOP\r\n");
    REQUIRE(run_until(loop, [&] { return !ch; }));
    CHECK(calls == 1);
    // Freed after the callback returned: the owned socket is closed, so the
    // peer sees end of input, and nothing more is called back.
    char buf[64];
    ssize_t n = -1;
    REQUIRE(run_until(loop, [&] {
        n = ::recv(peer.get(), buf, sizeof(buf), MSG_DONTWAIT);
        return n == 0;
    }));
    // The peer may already be closed (EPIPE, without SIGPIPE) or not yet.
    (void)::send(peer.get(), "MORE\r\n", 6, MSG_NOSIGNAL);
    CHECK_FALSE(run_until(loop, [&] { return calls > 1; }, 100ms));
}

TEST_CASE("Loop release_later destroys an object after the current callback", "[unit]") {
    event::Loop loop;
    struct Flag {
        explicit Flag(bool* g) : gone(g) {}
        Flag(const Flag&) = delete;
        bool* gone;
        ~Flag() { *gone = true; }
    };
    bool gone = false;
    auto obj = std::make_unique<Flag>(&gone);
    event::Timer t(loop, [&] {
        loop.release_later(std::move(obj));
        CHECK_FALSE(gone);  // still alive until the callback returns
    });
    t.start(0ms);
    REQUIRE(run_until(loop, [&] { return gone; }));
    // What is pending when the loop goes is destroyed then.
    bool gone2 = false;
    {
        event::Loop other;
        other.release_later(std::make_unique<Flag>(&gone2));
    }
    CHECK(gone2);
    // Deferred work that never got its turn is discarded, not run.
    bool ran = false;
    {
        event::Loop other;
        other.defer([&] { ran = true; });
    }
    CHECK_FALSE(ran);
}

namespace {

// A throw-away self-signed certificate for the handshake test.
struct TestCert {
    EVP_PKEY* key = nullptr;
    X509* cert = nullptr;
    TestCert() {
        key = EVP_RSA_gen(2048);
        REQUIRE(key);
        cert = X509_new();
        ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
        X509_gmtime_adj(X509_getm_notBefore(cert), 0);
        X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
        X509_set_pubkey(cert, key);
        X509_NAME* name = X509_get_subject_name(cert);
        X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("test.example"),
                                   -1, -1, 0);
        X509_set_issuer_name(cert, name);
        REQUIRE(X509_sign(cert, key, EVP_sha256()) > 0);
    }
    ~TestCert() {
        X509_free(cert);
        EVP_PKEY_free(key);
    }
};

}  // namespace

TEST_CASE("Channel STARTTLS: plaintext after the command is dropped, then lines flow through TLS", "[unit]") {
    event::Loop loop;
    Pair p;
    TestCert tc;
    SSL_CTX* sctx = SSL_CTX_new(TLS_server_method());
    SSL_CTX* cctx = SSL_CTX_new(TLS_client_method());
    REQUIRE(SSL_CTX_use_certificate(sctx, tc.cert) == 1);
    REQUIRE(SSL_CTX_use_PrivateKey(sctx, tc.key) == 1);

    auto server = Channel::create(loop, p.a.get());
    auto client = Channel::create(loop, p.b.get());
    std::vector<std::string> server_lines, client_lines;
    std::vector<Channel::Event> server_events, client_events;
    server->on_input([&] {
        Channel::Line l;
        while (server->read_line(&l)) {
            server_lines.push_back(l.text);
            if (l.text == "STARTTLS" && !server->ssl()) {
                server->write("220 go ahead\r\n");
                server->on_drained([&] {
                    server->on_drained(nullptr);
                    REQUIRE(server->start_tls(SSL_new(sctx), true));
                });
                return;  // what follows in the buffer is plaintext to drop
            }
        }
    });
    server->on_event([&](Channel::Event e, const std::string& why) {
        server_events.push_back(e);
        if (e == Channel::Event::kTlsReady) server->write("250 inside\r\n");
    });
    client->on_input([&] {
        Channel::Line l;
        while (client->read_line(&l)) client_lines.push_back(l.text);
    });
    client->on_event([&](Channel::Event e, const std::string&) {
        client_events.push_back(e);
        if (e == Channel::Event::kTlsReady) client->write("HELLO\r\n");
    });

    // The injection: a command pipelined after STARTTLS in plaintext.
    client->write("STARTTLS\r\nRCPT TO:<evil@example>\r\n");
    REQUIRE(run_until(loop, [&] { return client_lines.size() == 1; }));
    CHECK(client_lines[0] == "220 go ahead");
    REQUIRE(client->start_tls(SSL_new(cctx), false));
    REQUIRE(run_until(loop, [&] { return client_lines.size() == 2 && server_lines.size() == 2; }));
    CHECK(client_lines[1] == "250 inside");
    CHECK(server_lines == std::vector<std::string>{"STARTTLS", "HELLO"});
    CHECK(server_events == std::vector<Channel::Event>{Channel::Event::kTlsReady});
    CHECK(client_events == std::vector<Channel::Event>{Channel::Event::kTlsReady});
    REQUIRE(server->ssl());
    CHECK(SSL_version(server->ssl()) >= TLS1_2_VERSION);
    server.reset();
    client.reset();
    SSL_CTX_free(sctx);
    SSL_CTX_free(cctx);
}
