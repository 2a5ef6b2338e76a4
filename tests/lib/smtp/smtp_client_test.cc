// smtp_client_test.cc - the client engine's state machine, pipelining,
// reply classification and Postfix's texts (smtp_client.h).
#include "lib/smtp/smtp_client.h"

#include <catch2/catch.hpp>

using namespace mailroom::smtp;

namespace {

Reply reply(int code, std::string dsn, std::vector<std::string> lines) {
    Reply r;
    r.code = code;
    r.dsn = std::move(dsn);
    r.lines = std::move(lines);
    return r;
}

Reply ehlo(std::vector<std::string> keywords) {
    keywords.insert(keywords.begin(), "mx.example.com");
    return reply(250, "", keywords);
}

ClientMessage message(std::vector<std::string> rcpts) {
    ClientMessage m;
    m.sender = "alice@example.org";
    m.size = 1234;
    for (auto& r : rcpts) m.recipients.push_back({r, "", ""});
    return m;
}

ClientSettings settings(ClientProtocol p = ClientProtocol::kSmtp) {
    ClientSettings s;
    s.protocol = p;
    s.helo_name = "client.example.org";
    s.peer = "mx.example.com[127.0.0.2]";
    return s;
}

}  // namespace

TEST_CASE("ClientEngine pipelines MAIL, RCPT and DATA and reports per recipient", "[unit]") {
    ClientEngine e(settings(), message({"a@example.com", "b@example.com"}));
    CHECK(e.on_reply(reply(220, "", {"mx.example.com ESMTP"})).send == "EHLO client.example.org\r\n");
    Step s = e.on_reply(ehlo({"PIPELINING", "SIZE 10240000", "DSN"}));
    CHECK(s.send ==
          "MAIL FROM:<alice@example.org> SIZE=1234\r\nRCPT TO:<a@example.com>\r\nRCPT TO:<b@example.com>\r\n"
          "DATA\r\n");
    CHECK(e.on_reply(reply(250, "2.1.0", {"Ok"})).send.empty());
    CHECK(e.on_reply(reply(550, "5.1.1", {"<a@example.com>: Recipient address rejected: User unknown"}))
              .send.empty());
    CHECK(e.on_reply(reply(250, "2.1.5", {"Ok"})).send.empty());
    s = e.on_reply(reply(354, "", {"End data with <CR><LF>.<CR><LF>"}));
    CHECK(s.send_body);
    CHECK_FALSE(e.done());
    e.body_sent();
    s = e.on_reply(reply(250, "2.0.0", {"Ok: queued as 4XyZ"}));
    CHECK(s.send == "QUIT\r\n");
    CHECK(s.finished);
    REQUIRE(e.done());
    const auto& v = e.verdicts();
    CHECK(v[0]->kind == VerdictKind::kBounced);
    CHECK(v[0]->dsn == "5.1.1");
    CHECK(v[0]->reason ==
          "host mx.example.com[127.0.0.2] said: 550 5.1.1 <a@example.com>: Recipient address rejected: User "
          "unknown (in reply to RCPT TO command)");
    CHECK(v[1]->kind == VerdictKind::kSent);
    CHECK(v[1]->dsn == "2.0.0");
    CHECK(v[1]->reason == "250 2.0.0 Ok: queued as 4XyZ");
}

TEST_CASE("ClientEngine without PIPELINING sends one command at a time and falls back to HELO", "[unit]") {
    ClientEngine e(settings(), message({"a@example.com", "b@example.com"}));
    e.on_reply(reply(220, "", {"old ESMTP"}));
    CHECK(e.on_reply(reply(502, "", {"command not implemented"})).send == "HELO client.example.org\r\n");
    CHECK(e.on_reply(reply(250, "", {"old"})).send == "MAIL FROM:<alice@example.org>\r\n");
    CHECK(e.on_reply(reply(250, "", {"ok"})).send == "RCPT TO:<a@example.com>\r\n");
    CHECK(e.on_reply(reply(450, "", {"mailbox busy"})).send == "RCPT TO:<b@example.com>\r\n");
    CHECK(e.on_reply(reply(250, "", {"ok"})).send == "DATA\r\n");
    CHECK(e.on_reply(reply(354, "", {"go"})).send_body);
    e.body_sent();
    CHECK(e.on_reply(reply(554, "", {"rejected by content filter"})).finished);
    const auto& v = e.verdicts();
    CHECK(v[0]->kind == VerdictKind::kDeferred);
    CHECK(v[0]->dsn == "4.0.0");
    CHECK(v[0]->reason == "host mx.example.com[127.0.0.2] said: 450 mailbox busy (in reply to RCPT TO command)");
    CHECK(v[1]->kind == VerdictKind::kBounced);
    CHECK(v[1]->dsn == "5.0.0");
    CHECK(v[1]->reason ==
          "host mx.example.com[127.0.0.2] said: 554 rejected by content filter (in reply to end of DATA command)");
}

TEST_CASE("ClientEngine: MAIL FROM refused applies to every recipient", "[unit]") {
    ClientEngine e(settings(), message({"a@example.com", "b@example.com"}));
    e.on_reply(reply(220, "", {"x"}));
    e.on_reply(ehlo({"PIPELINING"}));
    e.on_reply(reply(553, "5.7.1", {"<alice@example.org>: Sender address rejected"}));
    e.on_reply(reply(503, "5.5.1", {"Error: need MAIL command"}));
    e.on_reply(reply(503, "5.5.1", {"Error: need MAIL command"}));
    Step s = e.on_reply(reply(503, "5.5.1", {"Error: need RCPT command"}));
    CHECK(s.finished);
    REQUIRE(e.done());
    for (const auto& v : e.verdicts()) {
        CHECK(v->kind == VerdictKind::kBounced);
        CHECK(v->reason.find("(in reply to MAIL FROM command)") != std::string::npos);
    }
}

TEST_CASE("ClientEngine refuses the greeting and names the host", "[unit]") {
    ClientEngine e(settings(), message({"a@example.com"}));
    Step s = e.on_reply(reply(421, "4.3.2", {"Service currently unavailable"}));
    CHECK(s.finished);
    REQUIRE(e.session_failure());
    CHECK(e.session_failure()->try_next);
    CHECK(e.session_failure()->kind == VerdictKind::kDeferred);
    CHECK(e.session_failure()->reason ==
          "host mx.example.com[127.0.0.2] refused to talk to me: 421 4.3.2 Service currently unavailable");
}

TEST_CASE("ClientEngine: SIZE and SMTPUTF8 are checked before MAIL FROM", "[unit]") {
    auto m = message({"a@example.com"});
    m.size = 20000;
    ClientEngine e(settings(), m);
    e.on_reply(reply(220, "", {"x"}));
    CHECK(e.on_reply(ehlo({"SIZE 10000"})).send == "QUIT\r\n");
    REQUIRE(e.done());
    CHECK(e.verdicts()[0]->dsn == "5.3.4");
    CHECK(e.verdicts()[0]->reason == "message size 20000 exceeds size limit 10000 of server mx.example.com[127.0.0.2]");

    m.size = 10;
    m.smtputf8 = true;
    ClientEngine u(settings(), m);
    u.on_reply(reply(220, "", {"x"}));
    u.on_reply(ehlo({"SIZE 10000"}));
    REQUIRE(u.done());
    CHECK(u.verdicts()[0]->kind == VerdictKind::kBounced);
    CHECK(u.verdicts()[0]->dsn == "5.6.7");
    CHECK(u.verdicts()[0]->reason == "SMTPUTF8 is required, but was not offered by host mx.example.com[127.0.0.2]");
}

TEST_CASE("ClientEngine passes DSN parameters only to a server that offers DSN", "[unit]") {
    auto m = message({"a@example.com"});
    m.dsn_ret = "HDRS";
    m.dsn_envid = "id+1";
    m.recipients[0].dsn_notify = "SUCCESS,FAILURE";
    m.recipients[0].dsn_orcpt = "rfc822;a=b@example.com";
    ClientEngine e(settings(), m);
    e.on_reply(reply(220, "", {"x"}));
    CHECK(e.on_reply(ehlo({"PIPELINING", "DSN"})).send ==
          "MAIL FROM:<alice@example.org> RET=HDRS ENVID=id+2B1\r\n"
          "RCPT TO:<a@example.com> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;a+3Db@example.com\r\nDATA\r\n");
    ClientEngine plain(settings(), m);
    plain.on_reply(reply(220, "", {"x"}));
    CHECK(plain.on_reply(ehlo({"PIPELINING"})).send ==
          "MAIL FROM:<alice@example.org>\r\nRCPT TO:<a@example.com>\r\nDATA\r\n");
}

TEST_CASE("ClientEngine: STARTTLS when wanted, refused when required and not offered", "[unit]") {
    auto s = settings();
    s.tls = TlsWant::kRequired;
    ClientEngine e(s, message({"a@example.com"}));
    e.on_reply(reply(220, "", {"x"}));
    CHECK(e.on_reply(ehlo({"STARTTLS"})).send == "STARTTLS\r\n");
    CHECK(e.on_reply(reply(220, "2.0.0", {"Ready to start TLS"})).start_tls);
    CHECK(e.tls_ready().send == "EHLO client.example.org\r\n");
    CHECK(e.on_reply(ehlo({"PIPELINING"})).send.rfind("MAIL FROM:", 0) == 0);
    CHECK(e.tls_active());

    ClientEngine n(s, message({"a@example.com"}));
    n.on_reply(reply(220, "", {"x"}));
    n.on_reply(ehlo({"PIPELINING"}));
    REQUIRE(n.session_failure());
    CHECK(n.session_failure()->dsn == "4.7.4");
    CHECK(n.session_failure()->reason == "TLS is required, but was not offered by host mx.example.com[127.0.0.2]");

    s.tls = TlsWant::kMay;
    ClientEngine m(s, message({"a@example.com"}));
    m.on_reply(reply(220, "", {"x"}));
    CHECK(m.on_reply(ehlo({"PIPELINING"})).send.rfind("MAIL FROM:", 0) == 0);
}

TEST_CASE("ClientEngine: LMTP reads one reply per accepted recipient", "[unit]") {
    ClientEngine e(settings(ClientProtocol::kLmtp), message({"a@example.com", "b@example.com", "c@example.com"}));
    CHECK(e.on_reply(reply(220, "", {"lmtp"})).send == "LHLO client.example.org\r\n");
    e.on_reply(ehlo({"PIPELINING", "ENHANCEDSTATUSCODES"}));
    e.on_reply(reply(250, "2.1.0", {"ok"}));
    e.on_reply(reply(250, "2.1.5", {"ok"}));
    e.on_reply(reply(550, "5.1.1", {"no such user"}));
    e.on_reply(reply(250, "2.1.5", {"ok"}));
    CHECK(e.on_reply(reply(354, "", {"go"})).send_body);
    e.body_sent();
    CHECK_FALSE(e.on_reply(reply(250, "2.0.0", {"a delivered"})).finished);
    CHECK(e.on_reply(reply(452, "4.2.2", {"c over quota"})).finished);
    const auto& v = e.verdicts();
    CHECK(v[0]->reason == "250 2.0.0 a delivered");
    CHECK(v[1]->kind == VerdictKind::kBounced);
    CHECK(v[2]->kind == VerdictKind::kDeferred);
    CHECK(v[2]->reason ==
          "host mx.example.com[127.0.0.2] said: 452 4.2.2 c over quota (in reply to end of DATA command)");
}

TEST_CASE("ClientEngine: lost connections and timeouts say where", "[unit]") {
    ClientEngine g(settings(), message({"a@example.com"}));
    g.on_lost(true);
    REQUIRE(g.session_failure());
    CHECK(g.session_failure()->reason ==
          "conversation with mx.example.com[127.0.0.2] timed out while receiving the initial server greeting");

    ClientEngine e(settings(), message({"a@example.com"}));
    e.on_reply(reply(220, "", {"x"}));
    e.on_reply(ehlo({"PIPELINING"}));
    e.on_reply(reply(250, "", {"ok"}));
    e.on_reply(reply(250, "", {"ok"}));
    e.on_reply(reply(354, "", {"go"}));
    e.body_sent();
    e.on_lost(false);
    REQUIRE(e.done());
    CHECK(e.verdicts()[0]->dsn == "4.4.2");
    CHECK(e.verdicts()[0]->reason == "lost connection with mx.example.com[127.0.0.2] while sending end of data -- "
                                     "message may be sent more than once");
}

namespace {

// PLAIN with an initial response, or LOGIN's two challenges.
class FakeSasl : public SaslClient {
public:
    explicit FakeSasl(bool fail_step = false) : fail_step_(fail_step) {}
    mailroom::Result<Start> start(const std::string& mechanisms, bool tls) override {
        offered = mechanisms;
        in_tls = tls;
        if (mechanisms.find("PLAIN") != std::string::npos) return Start{"PLAIN", std::string("\0u\0p", 4)};
        if (mechanisms.find("LOGIN") != std::string::npos) return Start{"LOGIN", std::nullopt};
        return mailroom::make_error("no mechanism available");
    }
    mailroom::Result<std::string> step(const std::string& challenge) override {
        if (fail_step_) return mailroom::make_error("authentication failure");
        return challenge == "Username:" ? std::string("u") : std::string("p");
    }
    std::string offered;
    bool in_tls = false;

private:
    bool fail_step_;
};

}  // namespace

TEST_CASE("ClientEngine authenticates after EHLO when the server offers AUTH", "[unit]") {
    auto s = settings();
    auto sasl = std::make_shared<FakeSasl>();
    s.sasl = sasl;
    ClientEngine e(s, message({"a@example.com"}));
    e.on_reply(reply(220, "", {"x"}));
    CHECK(e.on_reply(ehlo({"PIPELINING", "AUTH PLAIN LOGIN"})).send == "AUTH PLAIN AHUAcA==\r\n");
    CHECK(sasl->offered == "PLAIN LOGIN");
    CHECK(e.on_reply(reply(235, "2.7.0", {"Authentication successful"})).send.rfind("MAIL FROM:", 0) == 0);
    CHECK(e.authenticated());

    ClientEngine l(s, message({"a@example.com"}));
    l.on_reply(reply(220, "", {"x"}));
    CHECK(l.on_reply(ehlo({"AUTH LOGIN"})).send == "AUTH LOGIN\r\n");
    CHECK(l.on_reply(reply(334, "", {"VXNlcm5hbWU6"})).send == "dQ==\r\n");
    CHECK(l.on_reply(reply(334, "", {"UGFzc3dvcmQ6"})).send == "cA==\r\n");
    CHECK(l.on_reply(reply(535, "5.7.8", {"Authentication credentials invalid"})).finished);
    REQUIRE(l.session_failure());
    CHECK(l.session_failure()->kind == VerdictKind::kDeferred);
    CHECK(l.session_failure()->dsn == "4.7.0");
    CHECK(l.session_failure()->try_next);
    CHECK(l.session_failure()->reason == "SASL authentication failed; server mx.example.com[127.0.0.2] said: 535 "
                                         "5.7.8 Authentication credentials invalid");
}

TEST_CASE("ClientEngine goes on without AUTH when not offered and defers when no mechanism fits", "[unit]") {
    auto s = settings();
    s.sasl = std::make_shared<FakeSasl>();
    ClientEngine e(s, message({"a@example.com"}));
    e.on_reply(reply(220, "", {"x"}));
    CHECK(e.on_reply(ehlo({"PIPELINING"})).send.rfind("MAIL FROM:", 0) == 0);
    CHECK_FALSE(e.authenticated());

    ClientEngine n(s, message({"a@example.com"}));
    n.on_reply(reply(220, "", {"x"}));
    CHECK(n.on_reply(ehlo({"AUTH GSSAPI"})).finished);
    REQUIRE(n.session_failure());
    CHECK(n.session_failure()->reason == "SASL authentication failed; cannot authenticate to server "
                                         "mx.example.com[127.0.0.2]: no mechanism available");
}

TEST_CASE("ClientEngine keeps a session open for the cache and resumes it at MAIL FROM", "[unit]") {
    auto s = settings();
    s.keep_open = true;
    ClientEngine e(s, message({"a@example.com"}));
    e.on_reply(reply(220, "", {"x"}));
    e.on_reply(ehlo({"PIPELINING", "SIZE 100000"}));
    e.on_reply(reply(250, "", {"ok"}));
    e.on_reply(reply(250, "", {"ok"}));
    e.on_reply(reply(354, "", {"go"}));
    e.body_sent();
    Step done = e.on_reply(reply(250, "2.0.0", {"Ok: queued as A"}));
    CHECK(done.finished);
    CHECK(done.reusable);
    CHECK(done.send.empty());  // no QUIT

    ClientEngine next(s, message({"b@example.com"}));
    Step first = next.resume(e.keywords(), false, false);
    CHECK(first.send == "MAIL FROM:<alice@example.org> SIZE=1234\r\nRCPT TO:<b@example.com>\r\nDATA\r\n");
}

TEST_CASE("ClientEngine: a 5xx greeting is skipped (4.x.x, next server) unless smtp_skip_5xx_greeting = no",
          "[unit]") {
    ClientEngine skip(settings(), message({"a@example.com"}));
    CHECK(skip.on_reply(reply(554, "5.7.1", {"go away"})).finished);
    REQUIRE(skip.session_failure());
    CHECK(skip.session_failure()->kind == VerdictKind::kDeferred);
    CHECK(skip.session_failure()->dsn == "4.7.1");
    CHECK(skip.session_failure()->try_next);
    CHECK(skip.session_failure()->reason == "host mx.example.com[127.0.0.2] refused to talk to me: 554 5.7.1 go away");

    auto s = settings();
    s.skip_5xx_greeting = false;
    ClientEngine bounce(s, message({"a@example.com"}));
    bounce.on_reply(reply(554, "", {"go away"}));
    REQUIRE(bounce.session_failure());
    CHECK(bounce.session_failure()->kind == VerdictKind::kBounced);
    CHECK(bounce.session_failure()->dsn == "5.0.0");
    CHECK_FALSE(bounce.session_failure()->try_next);
}

TEST_CASE("ClientEngine: smtp_sasl_auth_soft_bounce = no bounces a 535", "[unit]") {
    auto s = settings();
    s.sasl = std::make_shared<FakeSasl>();
    s.sasl_soft_bounce = false;
    ClientEngine e(s, message({"a@example.com"}));
    e.on_reply(reply(220, "", {"x"}));
    e.on_reply(ehlo({"AUTH PLAIN"}));
    CHECK(e.on_reply(reply(535, "5.7.8", {"Authentication credentials invalid"})).finished);
    REQUIRE(e.session_failure());
    CHECK(e.session_failure()->kind == VerdictKind::kBounced);
    CHECK(e.session_failure()->dsn == "5.7.8");
    CHECK_FALSE(e.session_failure()->try_next);
    // A 454 stays a deferral.
    ClientEngine t(s, message({"a@example.com"}));
    t.on_reply(reply(220, "", {"x"}));
    t.on_reply(ehlo({"AUTH PLAIN"}));
    t.on_reply(reply(454, "4.7.0", {"Temporary authentication failure"}));
    REQUIRE(t.session_failure());
    CHECK(t.session_failure()->kind == VerdictKind::kDeferred);
}

TEST_CASE("ClientEngine: BODY=8BITMIME only to a server that announces 8BITMIME", "[unit]") {
    auto m = message({"a@example.com"});
    m.encoding = "8bit";
    ClientEngine e(settings(), m);
    e.on_reply(reply(220, "", {"x"}));
    CHECK(e.on_reply(ehlo({"8BITMIME"})).send == "MAIL FROM:<alice@example.org> BODY=8BITMIME\r\n");
    ClientEngine plain(settings(), m);
    plain.on_reply(reply(220, "", {"x"}));
    CHECK(plain.on_reply(ehlo({"SIZE"})).send == "MAIL FROM:<alice@example.org> SIZE=1234\r\n");
    m.encoding = "7bit";
    ClientEngine seven(settings(), m);
    seven.on_reply(reply(220, "", {"x"}));
    CHECK(seven.on_reply(ehlo({"8BITMIME"})).send == "MAIL FROM:<alice@example.org> BODY=7BIT\r\n");
    m.encoding = "";
    ClientEngine unknown(settings(), m);
    unknown.on_reply(reply(220, "", {"x"}));
    CHECK(unknown.on_reply(ehlo({"8BITMIME"})).send == "MAIL FROM:<alice@example.org>\r\n");
}

TEST_CASE("ClientEngine: the transaction starts after the handshake", "[unit]") {
    ClientEngine e(settings(), message({"a@example.com"}));
    CHECK_FALSE(e.in_transaction());
    e.on_reply(reply(220, "", {"x"}));
    CHECK_FALSE(e.in_transaction());
    e.on_reply(ehlo({"PIPELINING"}));
    CHECK(e.in_transaction());
}
