// authd_server_test.cc - AuthdServer over a socketpair, with a passwd-file
// module: PRE (any module and one named module), AUTH login accepted and
// refused, the connection closed without a reply for a temporary failure,
// the cache answering while the file is gone (also after auth_cache_ttl,
// on an injected clock), one cache entry per service, a changed password
// re-checked with the module, PASSWD emptying the cache, the module's
// default password scheme, ENUMERATE, and one request per connection.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include "authd/authd_server.h"
#include "lib/log/log.h"
#include "tests/support/loop_util.h"

using namespace mailroom;

namespace {

struct Fixture {
    std::string dir;
    std::string users;
    event::Loop loop;
    std::unique_ptr<authd::AuthdServer> server;
    std::vector<std::string> logs;
    std::time_t now = 100000;

    explicit Fixture(long long cache_size = 0, std::unique_ptr<auth::AuthChain> modules = nullptr) {
        char tmpl[] = "/tmp/authd_server_test.XXXXXX";
        dir = ::mkdtemp(tmpl);
        users = dir + "/users";
        std::ofstream(users) << "alice@example.com:{PLAIN}secret:1000:1001:Alice:/home/alice::"
                                "userdb_mail=maildir:/var/mail/alice userdb_quota_rule=*:storage=1M\n";
        log::set_capture([this](log::Level level, const std::string& text) {
            logs.push_back(log::level_prefix(level) + text);
        });
        authd::AuthdConfig cfg;
        cfg.authd_modules = {"passwd-file:" + users};
        cfg.auth_failure_delay = 0;
        cfg.auth_cache_size = cache_size;
        if (!modules) {
            auto chain = auth::AuthChain::open(cfg.authd_modules);
            REQUIRE(chain.ok());
            modules = std::move(*chain);
        }
        server = std::make_unique<authd::AuthdServer>(loop, cfg, std::move(modules), [this] { return now; });
    }
    ~Fixture() {
        server.reset();
        log::set_capture(nullptr);
        ::unlink(users.c_str());
        ::rmdir(dir.c_str());
    }
    // Sends `request` on a new connection; returns everything the server
    // wrote before it closed the connection.
    // With `half_close`, the client shuts its side down after the request.
    std::string ask(const std::string& request, bool half_close = false) {
        int fds[2];
        REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) == 0);
        server->accept(server::Connection(util::UniqueFd(fds[0]), nullptr));
        util::UniqueFd client(fds[1]);
        REQUIRE(::write(client.get(), request.data(), request.size()) == static_cast<ssize_t>(request.size()));
        if (half_close) ::shutdown(client.get(), SHUT_WR);
        ::fcntl(client.get(), F_SETFL, O_NONBLOCK);
        std::string reply;
        bool eof = false;
        bool done = testing::run_until(loop, [&] {
            char buf[4096];
            ssize_t n;
            while ((n = ::read(client.get(), buf, sizeof(buf))) > 0) reply.append(buf, static_cast<std::size_t>(n));
            if (n == 0) eof = true;
            return eof;
        });
        REQUIRE(done);
        return reply;
    }
    static std::string auth(const std::string& user, const std::string& pw, const std::string& service = "imap") {
        std::string body = service + "\nlogin\n" + user + "\n" + pw + "\n";
        return "AUTH " + std::to_string(body.size()) + "\n" + body;
    }
    bool logged(const std::string& text) const {
        for (const auto& l : logs)
            if (l.find(text) != std::string::npos) return true;
        return false;
    }
};

const char* kAlice =
    "UID=1000\nGID=1001\nHOME=/home/alice\nADDRESS=alice@example.com\nNAME=Alice\nMAILDIR=/var/mail/alice\n"
    "QUOTA=1048576S\n.\n";

// A module whose bare passwords are plain text (default_scheme PLAIN).
class PlainModule : public auth::AuthModule {
public:
    const std::string& spec() const override { return spec_; }
    bool may_block() const override { return false; }
    auth::LookupResult lookup(const std::string& user, const std::string&) override {
        auth::LookupResult r;
        if (user != "plain@example.com") return r;
        r.outcome = auth::Outcome::kOk;
        r.user.username = user;
        r.user.crypt_password = "bare-secret";
        return r;
    }
    std::string default_scheme() const override { return "PLAIN"; }

private:
    std::string spec_ = "plain-test";
};

std::unique_ptr<auth::AuthChain> plain_chain() {
    std::vector<std::unique_ptr<auth::AuthModule>> modules;
    modules.push_back(std::make_unique<PlainModule>());
    return std::make_unique<auth::AuthChain>(std::move(modules));
}

}  // namespace

TEST_CASE("authd: a bare password is read with the module's default scheme", "[unit]") {
    Fixture f(1 << 20, plain_chain());
    const std::string ok = "HOME=\nADDRESS=plain@example.com\n.\n";
    CHECK(f.ask(Fixture::auth("plain@example.com", "bare-secret")) == ok);
    // The cached record too.
    CHECK(f.ask(Fixture::auth("plain@example.com", "bare-secret")) == ok);
    CHECK(f.server->cache().hits() >= 1);
    CHECK(f.ask(Fixture::auth("plain@example.com", "wrong")) == "FAIL\n");
}

TEST_CASE("authd: PRE finds a user, with the module field honoured", "[unit]") {
    Fixture f;
    CHECK(f.ask("PRE . imap alice@example.com\n") == kAlice);
    // auth_username_format %Lu: the name is lower-cased first.
    CHECK(f.ask("PRE . imap Alice@Example.COM\n") == kAlice);
    CHECK(f.ask("PRE passwd-file imap alice@example.com\n") == kAlice);
    CHECK(f.ask("PRE authmysql imap alice@example.com\n") == "FAIL\n");
    CHECK(f.ask("PRE . imap bob@example.com\n") == "FAIL\n");
}

TEST_CASE("authd: AUTH login accepted and refused", "[unit]") {
    Fixture f;
    CHECK(f.ask(Fixture::auth("alice@example.com", "secret")) == kAlice);
    CHECK(f.ask(Fixture::auth("alice@example.com", "secret"), true) == kAlice);
    CHECK(f.ask(Fixture::auth("alice@example.com", "wrong")) == "FAIL\n");
    CHECK(f.logged("authentication failed: user=<alice@example.com>, service=imap, reason=passwd-file:" + f.users +
                   ": password mismatch"));
    CHECK(f.ask(Fixture::auth("nobody@example.com", "secret")) == "FAIL\n");
    CHECK(f.ask("AUTH 20\nimap\nweird\nx\ny\nzzzzz\n") == "FAIL\n");
}

TEST_CASE("authd: a module that cannot answer closes without a reply", "[unit]") {
    Fixture f;
    ::unlink(f.users.c_str());
    CHECK(f.ask(Fixture::auth("alice@example.com", "secret")).empty());
    CHECK(f.ask("PRE . imap alice@example.com\n").empty());
    CHECK(f.logged("warning: alice@example.com: temporary failure: passwd-file:" + f.users));
    CHECK(f.ask("ENUMERATE\n").empty());
}

TEST_CASE("authd: cached users are answered while the module is down", "[unit]") {
    Fixture f(1 << 20);
    CHECK(f.ask(Fixture::auth("alice@example.com", "secret")) == kAlice);
    CHECK(f.ask("PRE . imap nobody@example.com\n") == "FAIL\n");
    ::unlink(f.users.c_str());
    CHECK(f.ask(Fixture::auth("alice@example.com", "secret")) == kAlice);
    CHECK(f.ask(Fixture::auth("alice@example.com", "wrong")) == "FAIL\n");
    CHECK(f.ask("PRE . imap alice@example.com\n") == kAlice);
    CHECK(f.ask("PRE . imap nobody@example.com\n") == "FAIL\n");
    CHECK(f.server->cache().hits() >= 4);
}

TEST_CASE("authd: the cache keeps one entry per service", "[unit]") {
    // The mysql module substitutes $(service): an answer for imap says
    // nothing about smtp.
    Fixture f(1 << 20);
    CHECK(f.ask(Fixture::auth("alice@example.com", "secret", "imap")) == kAlice);
    ::unlink(f.users.c_str());
    CHECK(f.ask(Fixture::auth("alice@example.com", "secret", "smtp")).empty());
    CHECK(f.ask("PRE . smtp alice@example.com\n").empty());
    CHECK(f.ask(Fixture::auth("alice@example.com", "secret", "imap")) == kAlice);
}

TEST_CASE("authd: PASSWD drops every service's entry", "[unit]") {
    Fixture f(1 << 20);
    CHECK(f.ask(Fixture::auth("alice@example.com", "secret", "imap")) == kAlice);
    CHECK(f.ask(Fixture::auth("alice@example.com", "secret", "smtp")) == kAlice);
    CHECK(f.server->cache().entries() == 2);
    // passwd-file cannot change passwords: refused, and the cache is empty.
    CHECK(f.ask("PASSWD pop3\talice@example.com\tsecret\tnew\n") == "FAIL\n");
    CHECK(f.server->cache().entries() == 0);
}

TEST_CASE("authd: expired entries answer while the module is down", "[unit]") {
    Fixture f(1 << 20);
    CHECK(f.ask(Fixture::auth("alice@example.com", "secret")) == kAlice);
    CHECK(f.ask("PRE . imap alice@example.com\n") == kAlice);
    f.now += 3600 + 1;  // past auth_cache_ttl
    ::unlink(f.users.c_str());
    CHECK(f.ask(Fixture::auth("alice@example.com", "secret")) == kAlice);
    CHECK(f.ask(Fixture::auth("alice@example.com", "wrong")) == "FAIL\n");
    CHECK(f.ask("PRE . imap alice@example.com\n") == kAlice);
    // Never seen: nothing to fall back on.
    CHECK(f.ask(Fixture::auth("bob@example.com", "secret")).empty());
}

TEST_CASE("authd: a password changed in the backend is accepted at once", "[unit]") {
    Fixture f(1 << 20);
    CHECK(f.ask(Fixture::auth("alice@example.com", "secret")) == kAlice);
    std::ofstream(f.users) << "alice@example.com:{PLAIN}changed:1000:1001:Alice:/home/alice::"
                              "userdb_mail=maildir:/var/mail/alice userdb_quota_rule=*:storage=1M\n";
    CHECK(f.ask(Fixture::auth("alice@example.com", "changed")) == kAlice);
    CHECK(f.ask(Fixture::auth("alice@example.com", "secret")) == "FAIL\n");
}

TEST_CASE("authd: ENUMERATE, malformed requests", "[unit]") {
    Fixture f;
    CHECK(f.ask("ENUMERATE\n") == "alice@example.com\t1000\t1001\t/home/alice\t/var/mail/alice\t\n.\n");
    CHECK(f.ask("HELLO\n").empty());
    CHECK(f.server->sessions() == 0);
}

TEST_CASE("authd: AUTH apop checks MD5(timestamp + password) of a retrievable password", "[unit]") {
    Fixture f;
    auto apop = [](const std::string& user, const std::string& digest) {
        std::string body = "pop3\napop\n" + user + "\n<1896.697170952@dbc.mtview.ca.us>\n" + digest + "\n";
        return "AUTH " + std::to_string(body.size()) + "\n" + body;
    };
    CHECK(f.ask(apop("alice@example.com", "3f18b52881e44c0cc6067f46e0ced7bc")) == kAlice);
    CHECK(f.ask(apop("alice@example.com", "00000000000000000000000000000000")) == "FAIL\n");
    CHECK(f.ask(apop("bob@example.com", "3f18b52881e44c0cc6067f46e0ced7bc")) == "FAIL\n");
    CHECK(f.ask("AUTH 18\npop3\napop\nalice\nx\n") == "FAIL\n");  // no digest
}
