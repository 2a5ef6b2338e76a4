// smtpd_sasl_authd.cc - see smtpd_sasl_authd.h.
#include "smtpd/smtpd_sasl_authd.h"

#include <openssl/rand.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <ctime>

#include "lib/log/log.h"

namespace mailroom::smtpd {

namespace {

SaslStep make_step(SaslStep::Kind kind, std::string text = {}) {
    SaslStep s;
    s.kind = kind;
    if (kind == SaslStep::Kind::kContinue) {
        s.challenge = std::move(text);
    } else if (kind == SaslStep::Kind::kOk) {
        s.username = std::move(text);
    } else {
        s.reason = std::move(text);
    }
    return s;
}

std::string upper(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    return s;
}

}  // namespace

struct AuthdSasl::Exchange {
    std::string mechanism;  // PLAIN, LOGIN or CRAM-MD5
    std::string challenge;  // CRAM-MD5: what the client must answer
    std::string remote_ip;  // for authd's TCPREMOTEIP
    std::string user;       // LOGIN: the user name, once given
    bool have_user = false;
    std::uint64_t request = 0;  // the pending authd request
    event::Timer delay;         // the failure delay
};

AuthdSasl::AuthdSasl(event::Loop& loop, const SaslConfig& config, std::string myhostname)
    : loop_(loop), config_(config), myhostname_(std::move(myhostname)),
      client_(loop, auth::AuthClientOptions{config.authd_socket, config.path == "smtpd" ? "private/authd" : config.path,
                                            config.authd_timeout}) {}

AuthdSasl::~AuthdSasl() = default;

void AuthdSasl::later(SaslServer::Done done, SaslStep step) {
    std::weak_ptr<int> alive = alive_;
    loop_.defer([alive, done = std::move(done), step = std::move(step)]() mutable {
        if (!alive.expired()) done(std::move(step));
    });
}

void AuthdSasl::start(uint64_t id, const SaslServer::Peer& peer, const std::string& mechanism,
                      std::optional<std::string> initial, SaslServer::Done done) {
    std::string mech = upper(mechanism);
    const auto& offered = config_.authd_mechanisms;
    if (std::find(offered.begin(), offered.end(), mech) == offered.end())
        return later(std::move(done), make_step(SaslStep::Kind::kFail, "no mechanism available"));
    auto ex = std::make_unique<Exchange>();
    ex->mechanism = mech;
    ex->remote_ip = peer.remote.substr(0, peer.remote.find(';'));
    exchanges_[id] = std::move(ex);
    if (mech == "CRAM-MD5") {
        // RFC 2195: a unique challenge in the form of a message ID; the
        // client speaks second, so an initial response is a protocol error.
        if (initial) {
            exchanges_.erase(id);
            return later(std::move(done), make_step(SaslStep::Kind::kFail, "bad protocol / cancel"));
        }
        unsigned char rnd[8];
        if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
            exchanges_.erase(id);
            return later(std::move(done), make_step(SaslStep::Kind::kTempFail, "no random data for a challenge"));
        }
        std::uint64_t n = 0;
        for (unsigned char b : rnd) n = n << 8 | b;
        Exchange& ex = *exchanges_[id];
        ex.challenge = "<" + std::to_string(n) + "." + std::to_string(std::time(nullptr)) + "@" + myhostname_ + ">";
        return later(std::move(done), make_step(SaslStep::Kind::kContinue, ex.challenge));
    }
    if (initial) return respond(id, std::move(*initial), std::move(done));
    // PLAIN waits for the response with an empty challenge; LOGIN asks
    // for the user name first, with Cyrus's prompt.
    later(std::move(done), make_step(SaslStep::Kind::kContinue, mech == "LOGIN" ? "Username:" : ""));
}

void AuthdSasl::step(uint64_t id, std::string response, SaslServer::Done done) {
    if (exchanges_.find(id) == exchanges_.end())
        return later(std::move(done), make_step(SaslStep::Kind::kFail, "SASL library not initialized"));
    respond(id, std::move(response), std::move(done));
}

void AuthdSasl::respond(uint64_t id, std::string response, SaslServer::Done done) {
    Exchange& ex = *exchanges_.at(id);
    if (ex.mechanism == "LOGIN") {
        if (!ex.have_user) {
            if (response.empty())
                return later(std::move(done), make_step(SaslStep::Kind::kFail, "bad protocol / cancel"));
            ex.user = std::move(response);
            ex.have_user = true;
            return later(std::move(done), make_step(SaslStep::Kind::kContinue, "Password:"));
        }
        std::string user = ex.user;
        return check(id, user, response, std::move(done));
    }
    if (ex.mechanism == "CRAM-MD5") {
        // "user digest": the digest is the last word, 32 hex digits.
        size_t sp = response.rfind(' ');
        bool hex = sp != std::string::npos && response.size() - sp - 1 == 32 &&
                   response.find_first_not_of("0123456789abcdefABCDEF", sp + 1) == std::string::npos;
        if (!hex || sp == 0 || response.find_first_of(std::string("\n\0", 2)) != std::string::npos)
            return later(std::move(done), make_step(SaslStep::Kind::kFail, "bad protocol / cancel"));
        std::string user = response.substr(0, sp);
        return ask(id, user, auth::make_cram_request(config_.service, "cram-md5", ex.challenge, response),
                   std::move(done));
    }
    // PLAIN: authzid NUL authcid NUL passwd.
    size_t a = response.find('\0');
    size_t b = a == std::string::npos ? std::string::npos : response.find('\0', a + 1);
    if (b == std::string::npos || b == a + 1)
        return later(std::move(done), make_step(SaslStep::Kind::kFail, "bad protocol / cancel"));
    std::string authzid = response.substr(0, a);
    std::string user = response.substr(a + 1, b - a - 1);
    std::string password = response.substr(b + 1);
    if (!authzid.empty() && authzid != user)
        return later(std::move(done), make_step(SaslStep::Kind::kFail, "authorization failure"));
    check(id, user, password, std::move(done));
}

void AuthdSasl::check(uint64_t id, const std::string& user, const std::string& password, SaslServer::Done done) {
    // A line break or NUL cannot travel in a login request: no user has
    // one, so it is a wrong password, not a problem with authd.
    const std::string bad("\n\0", 2);
    if (user.find_first_of(bad) != std::string::npos || password.find_first_of(bad) != std::string::npos)
        return later(std::move(done), make_step(SaslStep::Kind::kFail, "authentication failure"));
    ask(id, user, auth::make_login_request(config_.service, user, password), std::move(done));
}

void AuthdSasl::ask(uint64_t id, const std::string& user, auth::Request req, SaslServer::Done done) {
    Exchange& ex = *exchanges_.at(id);
    if (!ex.remote_ip.empty()) req.meta.emplace_back("TCPREMOTEIP", ex.remote_ip);
    ex.request = client_.request(req, [this, id, user, done = std::move(done)](auth::AuthResult r) mutable {
        auto it = exchanges_.find(id);
        if (it == exchanges_.end()) return;
        it->second->request = 0;
        switch (r.kind) {
            case auth::AuthResult::Kind::kOk:
                done(make_step(SaslStep::Kind::kOk, user));
                return;
            case auth::AuthResult::Kind::kTempFail:
                log::warn("SASL authentication problem: %s", r.reason.c_str());
                done(make_step(SaslStep::Kind::kTempFail, "Connection lost to authentication server"));
                return;
            case auth::AuthResult::Kind::kFail:
                break;
        }
        // A wrong password waits before its answer, which slows down
        // guessing: authd waits $auth_failure_delay itself, courier's
        // authdaemond does not (smtpd_sasl_failure_delay).
        if (config_.failure_delay.count() <= 0) {
            done(make_step(SaslStep::Kind::kFail, "authentication failure"));
            return;
        }
        Exchange& e = *it->second;
        e.delay = event::Timer(loop_, [done = std::move(done)]() mutable {
            // done may end the exchange, and with it this timer.
            SaslServer::Done d = std::move(done);
            d(make_step(SaslStep::Kind::kFail, "authentication failure"));
        });
        e.delay.start(config_.failure_delay);
    });
}

void AuthdSasl::end(uint64_t id) {
    auto it = exchanges_.find(id);
    if (it == exchanges_.end()) return;
    if (it->second->request != 0) client_.cancel(it->second->request);
    exchanges_.erase(it);
}

}  // namespace mailroom::smtpd
