// imap_session_test.cc - the session's state machine over a loopback TCP
// connection, with authd absent (every login is a temporary failure):
// greeting and CAPABILITY, commands refused before login, LOGIN with a
// synchronising literal ("+ OK"), [UNAVAILABLE], AUTHENTICATE and its
// abort, SASL-IR, parse errors answered with tagged BAD while the session
// goes on, line and literal bounds, disable_plaintext_auth for a client
// on another address, the bad-command limit and LOGOUT.
#include <arpa/inet.h>
#include <event2/event.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <vector>

#include "imapd/imap_server.h"
#include "tests/support/session_harness.h"
#include "lib/event/event_loop.h"

using namespace mailroom;
using namespace mailroom::imapd;

namespace {

class Harness : public test::SessionHarness<ImapServer, ImapConfig> {
public:
    using SessionHarness::SessionHarness;
    // Lines up to and including the one starting with `tag` (or eof/timeout).
    std::vector<std::string> until(const std::string& tag) {
        std::vector<std::string> out;
        for (;;) {
            std::string l = line();
            out.push_back(l);
            if (l.rfind(tag + " ", 0) == 0 || l == "<eof>" || l == "<timeout>") return out;
        }
    }
};

}  // namespace

TEST_CASE("imap session: not authenticated state with authd down", "[unit]") {
    ImapConfig cfg;
    cfg.greeting = "Dovecot ready.";
    Harness h{cfg};
    const std::string greeting = h.line();
    CHECK(greeting.rfind("* OK [CAPABILITY IMAP4rev1 ", 0) == 0);
    CHECK(greeting.find("AUTH=PLAIN") != std::string::npos);
    CHECK(greeting.find("] Dovecot ready.") != std::string::npos);
    h.write("a1 CAPABILITY\r\n");
    auto caps = h.until("a1");
    REQUIRE(caps.size() == 2);
    CHECK(caps[0].rfind("* CAPABILITY IMAP4rev1", 0) == 0);
    CHECK(caps[0].find("UIDPLUS") == std::string::npos);  // only after login
    CHECK(caps[1] == "a1 OK Capability completed.");
    CHECK(h.say("a2 SELECT INBOX").rfind("a2 BAD ", 0) == 0);
    CHECK(h.say("a3 NOOP") == "a3 OK NOOP completed.");
    // A synchronising literal gets "+ OK"; authd is down: [UNAVAILABLE].
    h.write("a4 LOGIN {4}\r\n");
    CHECK(h.line() == "+ OK");
    h.write("user pass\r\n");
    CHECK(h.line() == "a4 NO [UNAVAILABLE] Temporary authentication failure.");
    // LITERAL+: no continuation.
    h.write("a5 LOGIN {4+}\r\nuser {4+}\r\npass\r\n");
    CHECK(h.line() == "a5 NO [UNAVAILABLE] Temporary authentication failure.");
    // AUTHENTICATE: an exchange, its abort, and SASL-IR.
    h.write("a6 AUTHENTICATE PLAIN\r\n");
    CHECK(h.line() == "+ ");
    CHECK(h.say("*") == "a6 BAD Authentication aborted by client.");
    CHECK(h.say("a7 AUTHENTICATE PLAIN AHVzZXIAcGFzcw==") == "a7 NO [UNAVAILABLE] Temporary authentication failure.");
    h.write("a8 AUTHENTICATE LOGIN\r\n");
    CHECK(h.line() == "+ VXNlcm5hbWU6");
    CHECK(h.say("!!!") == "a8 BAD Invalid base64 data in continued response");
    CHECK(h.say("a9 AUTHENTICATE CRAM-MD5") == "a9 NO Unsupported authentication mechanism.");
    // Garbage: tagged BAD (untagged when there is no tag), the session goes on.
    CHECK(h.say("b1 LOGIN \"unterminated").rfind("b1 BAD ", 0) == 0);
    CHECK(h.say("b2 FETCH 1 (FLAGS").rfind("b2 BAD ", 0) == 0);
    CHECK(h.say("+bad NOOP").rfind("* BAD ", 0) == 0);
    CHECK(h.say("b3 NOSUCHCOMMAND").rfind("b3 BAD ", 0) == 0);
    CHECK(h.say("b4 NOOP") == "b4 OK NOOP completed.");
    auto bye = h.say("b5 LOGOUT");
    CHECK(bye == "* BYE Logging out");
    CHECK(h.line() == "b5 OK Logout completed.");
    CHECK(h.line() == "<eof>");
}

TEST_CASE("imap session: line and literal bounds", "[unit]") {
    ImapConfig cfg;
    cfg.max_line = 1024;
    cfg.append_limit = 2000;
    Harness h{cfg};
    h.line();
    CHECK(h.say("c1 NOOP " + std::string(3000, 'x')) ==
          "c1 BAD Error in IMAP command received by server: Too long argument.");
    CHECK(h.say("c2 NOOP") == "c2 OK NOOP completed.");
    CHECK(h.say("c3 LOGIN {5000}") == "c3 BAD [TOOBIG] Literal too large.");
    h.write("c4 LOGIN {5000+}\r\n" + std::string(5000, 'y') + " x\r\n");
    CHECK(h.line() == "c4 BAD [TOOBIG] Literal too large.");
    CHECK(h.say("c5 APPEND INBOX {3000}") == "c5 NO [TOOBIG] Mail size is too large.");
    CHECK(h.say("c6 NOOP") == "c6 OK NOOP completed.");
}

TEST_CASE("imap session: plaintext refused from another address, bad-command limit", "[unit]") {
    ImapConfig cfg;
    Harness h{cfg, "127.0.0.2"};
    const std::string greeting = h.line();
    CHECK(greeting.find("LOGINDISABLED") != std::string::npos);
    CHECK(greeting.find("AUTH=PLAIN") == std::string::npos);
    h.write("d1 LOGIN user pass\r\n");
    auto r = h.until("d1");
    CHECK(r.back() ==
          "d1 NO [PRIVACYREQUIRED] Plaintext authentication disallowed on non-secure (SSL/TLS) connections.");
    CHECK(h.say("d2 AUTHENTICATE PLAIN").rfind("d2 NO [PRIVACYREQUIRED]", 0) == 0);
    CHECK(h.say("d3 STARTTLS") == "d3 BAD TLS support isn't enabled.");
    for (int i = 0; i < 18; ++i) h.say("x" + std::to_string(i) + " BOGUS");
    CHECK(h.say("last BOGUS").rfind("last BAD ", 0) == 0);
    CHECK(h.line() == "* BYE Too many invalid IMAP commands.");
    CHECK(h.line() == "<eof>");
}
