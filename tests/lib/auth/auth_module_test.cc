// auth_module_test.cc - the module chain: courier's order (the first module
// that knows the user and accepts the password), temporary failures that
// never turn into "wrong password", per-module lookups, user name
// formatting, and the authd_modules syntax.
#include <catch2/catch.hpp>

#include <map>
#include <string>

#include "lib/auth/auth_module.h"
#include "lib/auth/shadow_auth.h"

using namespace mailroom;
using namespace mailroom::auth;

namespace {

class FakeModule : public AuthModule {
public:
    FakeModule(std::string spec, std::map<std::string, std::string> users, bool down = false)
        : spec_(std::move(spec)), users_(std::move(users)), down_(down) {}
    const std::string& spec() const override { return spec_; }
    bool may_block() const override { return false; }
    LookupResult lookup(const std::string& user, const std::string&) override {
        ++calls;
        LookupResult r;
        if (down_) {
            r.outcome = Outcome::kTempFail;
            r.reason = "server gone";
            return r;
        }
        auto it = users_.find(user);
        if (it == users_.end()) return r;
        r.outcome = Outcome::kOk;
        r.user.username = user;
        r.user.crypt_password = it->second;
        r.user.home = "/home/" + spec_;
        return r;
    }
    int calls = 0;

private:
    std::string spec_;
    std::map<std::string, std::string> users_;
    bool down_;
};

AuthChain make_chain(std::vector<FakeModule*>& raw, std::vector<std::unique_ptr<FakeModule>> mods) {
    std::vector<std::unique_ptr<AuthModule>> v;
    for (auto& m : mods) {
        raw.push_back(m.get());
        v.push_back(std::move(m));
    }
    return AuthChain(std::move(v));
}

}  // namespace

TEST_CASE("auth chain: modules are tried in order", "[unit]") {
    std::vector<FakeModule*> raw;
    std::vector<std::unique_ptr<FakeModule>> mods;
    mods.push_back(std::make_unique<FakeModule>("first", std::map<std::string, std::string>{{"a", "{PLAIN}one"}}));
    mods.push_back(std::make_unique<FakeModule>("second", std::map<std::string, std::string>{
                                                              {"a", "{PLAIN}two"}, {"b", "{PLAIN}bee"}}));
    AuthChain chain = make_chain(raw, std::move(mods));

    auto r = chain.authenticate("a", "smtp", "one");
    CHECK(r.outcome == Outcome::kOk);
    CHECK(r.user.module == "first");
    // courier goes on to the next module when the password does not match.
    r = chain.authenticate("a", "smtp", "two");
    CHECK(r.outcome == Outcome::kOk);
    CHECK(r.user.module == "second");
    r = chain.authenticate("a", "smtp", "three");
    CHECK(r.outcome == Outcome::kNotFound);
    CHECK(r.reason == "first: password mismatch");
    r = chain.authenticate("nobody", "smtp", "x");
    CHECK(r.outcome == Outcome::kNotFound);
    CHECK(r.reason == "unknown user");

    auto l = chain.lookup("b", "imap");
    CHECK(l.outcome == Outcome::kOk);
    CHECK(l.user.module == "second");
    CHECK(l.user.address == "b");
    CHECK(chain.lookup("a", "imap", "second").user.home == "/home/second");
    CHECK(chain.lookup("b", "imap", "first").outcome == Outcome::kNotFound);
}

TEST_CASE("auth chain: a module that is down gives a temporary failure", "[unit]") {
    std::vector<FakeModule*> raw;
    std::vector<std::unique_ptr<FakeModule>> mods;
    mods.push_back(std::make_unique<FakeModule>("mysql:/etc/authmysqlrc", std::map<std::string, std::string>{}, true));
    mods.push_back(std::make_unique<FakeModule>("passwd-file:/f", std::map<std::string, std::string>{{"p", "{PLAIN}pw"}}));
    AuthChain chain = make_chain(raw, std::move(mods));
    // A later module that accepts still wins.
    CHECK(chain.authenticate("p", "smtp", "pw").outcome == Outcome::kOk);
    // Wrong password or unknown user: temporary, since the module that is
    // down might have accepted.
    auto r = chain.authenticate("p", "smtp", "bad");
    CHECK(r.outcome == Outcome::kTempFail);
    CHECK(r.reason == "mysql:/etc/authmysqlrc: server gone");
    CHECK(chain.authenticate("q", "smtp", "x").outcome == Outcome::kTempFail);
    CHECK(chain.lookup("q", "smtp").outcome == Outcome::kTempFail);
    CHECK(chain.lookup("p", "smtp").outcome == Outcome::kOk);
}

TEST_CASE("auth chain: password checks", "[unit]") {
    UserRecord u;
    std::string why;
    u.crypt_password = "{PLAIN}secret";
    CHECK(AuthChain::check_password(u, "CRYPT", "secret", &why) == Outcome::kOk);
    CHECK(AuthChain::check_password(u, "CRYPT", "", &why) == Outcome::kNotFound);
    // MD5-crypt of "password" with salt "saltsalt" (a bare crypt string).
    u.crypt_password = "$1$saltsalt$qjXMvbEw8oaL.CzflDtaK/";
    CHECK(AuthChain::check_password(u, "CRYPT", "password", &why) == Outcome::kOk);
    CHECK(AuthChain::check_password(u, "CRYPT", "Password", &why) == Outcome::kNotFound);
    CHECK(why == "password mismatch");
    u.crypt_password.clear();
    u.clear_password = "clear";
    CHECK(AuthChain::check_password(u, "CRYPT", "clear", &why) == Outcome::kOk);
    u.password_unavailable = "cannot read the shadow password of u: authd is not running as root";
    CHECK(AuthChain::check_password(u, "CRYPT", "clear", &why) == Outcome::kNotFound);
    CHECK(why == u.password_unavailable);
}

TEST_CASE("auth_username_format and auth_default_realm", "[unit]") {
    CHECK(format_username("Bob@Example.COM", "%Lu", "") == "bob@example.com");
    CHECK(format_username("Bob", "%Lu", "example.org") == "bob@example.org");
    CHECK(format_username("Bob@Example.COM", "%n", "") == "Bob");
    CHECK(format_username("Bob@Example.COM", "%Ln-%Ud%%", "") == "bob-EXAMPLE.COM%");
    CHECK(format_username("bob", "%u", "") == "bob");
    CHECK(format_username("bob", "", "") == "bob");
    CHECK(format_username("bob", "%x", "") == "%x");
}

TEST_CASE("authd_modules elements", "[unit]") {
    CHECK(open_module("shadow").ok());
    CHECK(open_module("authshadow").ok());
    CHECK_FALSE(open_module("shadow:x").ok());
    CHECK(open_module("passwd-file:/etc/mailroom/users").ok());
    CHECK_FALSE(open_module("passwd-file:relative").ok());
    CHECK_FALSE(open_module("ldap:/etc/x").ok());
    auto missing = open_module("mysql:/nonexistent/authmysqlrc");
    REQUIRE_FALSE(missing.ok());
    CHECK(missing.error().message.find("/nonexistent/authmysqlrc") != std::string::npos);
    auto m = open_module("shadow");
    REQUIRE(m.ok());
    CHECK(AuthChain::module_named(**m, "shadow"));
    CHECK(AuthChain::module_named(**m, "authshadow"));
    CHECK_FALSE(AuthChain::module_named(**m, "mysql"));
}

TEST_CASE("shadow: an account expires on the day sp_expire names", "[unit]") {
    const std::time_t day = 24 * 60 * 60;
    const std::time_t now = 20000 * day + 3600;  // 2024-10-04, 01:00 UTC
    CHECK_FALSE(shadow_expired(-1, now));
    CHECK_FALSE(shadow_expired(20001, now));
    CHECK(shadow_expired(20000, now));
    CHECK(shadow_expired(19999, now));
    CHECK(shadow_expired(0, now));
}
