// login_test.cc - the shared login part: SASL PLAIN/LOGIN exchanges with
// SASL-IR, the plaintext policy, the log fields, the canonical login name,
// and a failed authentication answered after the failure delay.
#include "lib/access/login.h"

#include <catch2/catch.hpp>

#include "lib/util/base64.h"

using namespace mailroom;
using namespace mailroom::access;
using Kind = SaslExchange::Step::Kind;

namespace {
std::string b64(std::string_view s) { return util::base64_encode(s); }
}  // namespace

TEST_CASE("login: SASL PLAIN", "[unit]") {
    SaslExchange plain(SaslExchange::Mech::kPlain);
    CHECK(plain.first_challenge().empty());
    CHECK(std::string(plain.method()) == "PLAIN");
    auto s = plain.feed(b64(std::string("\0openstack\0redhat", 17)));
    CHECK(s.kind == Kind::kCredentials);
    CHECK(s.user == "openstack");
    CHECK(s.password == "redhat");
    // authzid equal to the authcid is accepted; another one is not.
    s = SaslExchange(SaslExchange::Mech::kPlain).feed(b64(std::string("u\0u\0p", 5)));
    CHECK(s.kind == Kind::kCredentials);
    s = SaslExchange(SaslExchange::Mech::kPlain).feed(b64(std::string("admin\0u\0p", 9)));
    CHECK(s.kind == Kind::kMalformed);
    CHECK(s.user == "u");
    CHECK(SaslExchange(SaslExchange::Mech::kPlain).feed(b64("no nul")).kind == Kind::kMalformed);
    CHECK(SaslExchange(SaslExchange::Mech::kPlain).feed("=").kind == Kind::kMalformed);  // empty response
    CHECK(SaslExchange(SaslExchange::Mech::kPlain).feed("*").kind == Kind::kAborted);
    CHECK(SaslExchange(SaslExchange::Mech::kPlain).feed("!!notbase64").kind == Kind::kInvalidBase64);
}

TEST_CASE("login: SASL LOGIN asks for the user, then the password", "[unit]") {
    SaslExchange login(SaslExchange::Mech::kLogin);
    CHECK(login.first_challenge() == "VXNlcm5hbWU6");
    auto s = login.feed(b64("openstack"));
    CHECK(s.kind == Kind::kChallenge);
    CHECK(s.challenge == "UGFzc3dvcmQ6");
    s = login.feed(b64("redhat"));
    CHECK(s.kind == Kind::kCredentials);
    CHECK(s.user == "openstack");
    CHECK(s.password == "redhat");
    SaslExchange empty(SaslExchange::Mech::kLogin);
    CHECK(empty.feed("=").kind == Kind::kChallenge);
    s = empty.feed("=");
    CHECK(s.kind == Kind::kCredentials);
    CHECK(s.user.empty());
}

TEST_CASE("login: plaintext policy and log fields", "[unit]") {
    LoginConfig cfg;
    cfg.protocol = "imap";
    LoginPeer p;
    p.protocol = "imap";
    p.rip = "192.0.2.1";
    p.lip = "192.0.2.2";
    CHECK_FALSE(p.plaintext_allowed(cfg));
    p.secured = true;
    CHECK(p.plaintext_allowed(cfg));
    p.secured = false;
    p.tls = true;
    CHECK(p.plaintext_allowed(cfg));
    CHECK(p.fields("u@example.com", "PLAIN") == "user=<u@example.com>, method=PLAIN, rip=192.0.2.1, lip=192.0.2.2, TLS");
    p.tls = false;
    CHECK(p.fields("", nullptr) == "rip=192.0.2.1, lip=192.0.2.2");
    cfg.disable_plaintext_auth = false;
    CHECK(p.plaintext_allowed(cfg));
}

TEST_CASE("login: the canonical login name", "[unit]") {
    auth::AuthUser u;
    CHECK(canonical_login_name("Typed", u) == "Typed");
    u.username = "vmail";
    CHECK(canonical_login_name("Typed", u) == "vmail");
    u.address = "hadoop@yuliang.com";
    CHECK(canonical_login_name("HADOOP@yuliang.com", u) == "hadoop@yuliang.com");
}

TEST_CASE("login: authd down is a temporary failure, a local failure waits the delay", "[unit]") {
    event::Loop loop;
    LoginConfig cfg;
    cfg.failure_delay = std::chrono::milliseconds(150);
    cfg.authd.socket_path = "/nonexistent/private/authd";
    auth::AuthClient authd(loop, cfg.authd);
    LoginAuth la(loop, authd, cfg);
    std::optional<LoginAuth::Outcome> got;
    la.password("u", "p", "PLAIN", [&](LoginAuth::Outcome o) { got = std::move(o); });
    CHECK(la.busy());
    while (!got) loop.run_once();
    CHECK(got->kind == LoginAuth::Outcome::Kind::kTempFail);
    CHECK_FALSE(got->reason.empty());
    CHECK(la.failures() == 0);
    for (int i = 1; i <= kMaxAuthFailures; ++i) {
        got.reset();
        const auto t0 = std::chrono::steady_clock::now();
        la.fail("u", "PLAIN", [&](LoginAuth::Outcome o) { got = std::move(o); });
        while (!got) loop.run_once();
        CHECK(std::chrono::steady_clock::now() - t0 >= std::chrono::milliseconds(140));
        CHECK(got->kind == LoginAuth::Outcome::Kind::kFail);
        CHECK(got->disconnect == (i == kMaxAuthFailures));
        CHECK(la.failures() == i);
    }
    CHECK(la.last_user() == "u");
    CHECK(std::string(la.last_method()) == "PLAIN");
}
