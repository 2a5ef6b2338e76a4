// login.cc - see login.h.
#include "lib/access/login.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "lib/auth/password.h"
#include "lib/config/param_read.h"
#include "lib/ipc/ipc_socket.h"
#include "lib/log/log.h"
#include "lib/util/base64.h"
#include "lib/util/strings.h"

namespace mailroom::access {

Result<LoginConfig> LoginConfig::from_config(const config::Config& cfg, std::string protocol,
                                             const char* authd_path_param) {
    LoginConfig c;
    c.protocol = std::move(protocol);
    auto host = cfg.get("myhostname");
    if (!host) return host.error();
    c.hostname = *host;
    auto b = cfg.get_bool("disable_plaintext_auth");
    if (!b) return b.error();
    c.disable_plaintext_auth = *b;
    auto mechs = cfg.get_list("auth_mechanisms");
    if (!mechs) return mechs.error();
    c.mech_plain = false;
    for (const auto& m : *mechs) {
        const std::string l = util::lowercase(m);
        if (l == "plain") c.mech_plain = true;
        else if (l == "login") c.mech_login = true;
        else if (l == "apop") c.mech_apop = true;
        // cram-md5 is smtpd's; the mail-access servers do not offer it.
    }
    auto trusted = cfg.get_list("login_trusted_networks");
    if (!trusted) return trusted.error();
    if (!trusted->empty()) {
        auto nets = smtpd::Mynetworks::parse(*trusted);
        if (!nets) return nets.error().prefixed("login_trusted_networks: ");
        c.trusted = std::move(*nets);
    }
    auto maxip = cfg.get_int("mail_max_userip_connections");
    if (!maxip) return maxip.error();
    c.max_userip = static_cast<int>(*maxip);
    auto delay = cfg.get_time("auth_failure_delay");
    if (!delay) return delay.error();
    c.failure_delay = std::chrono::seconds(*delay);
    auto queue = cfg.get("queue_directory");
    if (!queue) return queue.error();
    auto path = cfg.get(authd_path_param);
    if (!path) return path.error();
    c.authd.socket_path = auth::authd_socket_path(*queue, *path);
    c.authd.service = *path;
    auto timeout = cfg.get_time("authd_client_timeout");
    if (!timeout) return timeout.error();
    c.authd.timeout = std::chrono::seconds(*timeout);
    c.anvil_socket = ipc::service_socket_path(*queue, ipc::ServiceClass::kPrivate, anvil::kServiceName);
    return c;
}

std::string socket_address(int fd, bool peer) {
    sockaddr_storage ss{};
    socklen_t len = sizeof(ss);
    int rc = peer ? ::getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len)
                  : ::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
    if (rc != 0) return "unknown";
    char buf[INET6_ADDRSTRLEN] = "unknown";
    if (ss.ss_family == AF_INET) {
        inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(&ss)->sin_addr, buf, sizeof(buf));
    } else if (ss.ss_family == AF_INET6) {
        auto* a6 = reinterpret_cast<sockaddr_in6*>(&ss);
        if (IN6_IS_ADDR_V4MAPPED(&a6->sin6_addr))
            inet_ntop(AF_INET, &a6->sin6_addr.s6_addr[12], buf, sizeof(buf));
        else
            inet_ntop(AF_INET6, &a6->sin6_addr, buf, sizeof(buf));
    } else {
        return "local";
    }
    return buf;
}

LoginPeer LoginPeer::of(int fd, const LoginConfig& config) {
    LoginPeer p;
    p.protocol = config.protocol;
    p.rip = socket_address(fd, true);
    p.lip = socket_address(fd, false);
    p.secured = p.rip == p.lip;
    if (!p.secured && config.trusted) {
        auto m = config.trusted->match("", p.rip);
        p.secured = m && *m;
    }
    return p;
}

Result<tls::ServerPolicy> login_tls_policy(const config::Config& config, bool wrappermode) {
    tls::ServerPolicy policy;
    std::string cert, key, ssl;
    if (auto st = config::read_param(config, "ssl_cert", &cert); !st) return st.error();
    if (auto st = config::read_param(config, "ssl_key", &key); !st) return st.error();
    if (auto st = config::read_param(config, "ssl", &ssl); !st) return st.error();
    if (!cert.empty() && cert[0] == '<') cert.erase(0, 1);
    if (!key.empty() && key[0] == '<') key.erase(0, 1);
    if (ssl != "no" && !cert.empty()) {
        policy.level = tls::SecurityLevel::kMay;
        policy.cert_file = cert;
        policy.key_file = key.empty() ? cert : key;
        policy.ciphers = "medium";
        policy.protocols = ">=TLSv1.2";
        policy.wrappermode = wrappermode;
    }
    return policy;
}

LoginPeer LoginPeer::of(const Handoff& handoff) {
    LoginPeer p;
    p.protocol = handoff.protocol;
    p.rip = handoff.rip;
    p.lip = handoff.lip;
    p.tls = handoff.tls;
    return p;
}

std::string LoginPeer::fields(const std::string& user, const char* method, int mpid) const {
    std::string s;
    if (!user.empty()) s += "user=<" + log::log_printable(user) + ">, ";
    if (method) s += std::string("method=") + method + ", ";
    s += "rip=" + rip + ", lip=" + lip;
    if (mpid > 0) s += ", mpid=" + std::to_string(mpid);
    if (tls) s += ", TLS";
    return s;
}

void LoginPeer::log_login(const std::string& user, const char* method) const {
    log::info("%s-login: Login: %s", protocol.c_str(), fields(user, method).c_str());
}

void LoginPeer::log_disconnect(int failures, std::chrono::steady_clock::time_point started,
                               const std::string& user, const char* method) const {
    const long secs = static_cast<long>(
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - started).count());
    if (failures > 0)
        log::info("%s-login: Disconnected (auth failed, %d attempts in %ld secs): %s", protocol.c_str(), failures,
                  secs, fields(user, method).c_str());
    else
        log::info("%s-login: Disconnected (no auth attempts in %ld secs): %s", protocol.c_str(), secs,
                  fields(user, nullptr).c_str());
}

void LoginPeer::log_aborted(const char* why, const std::string& user, const char* method) const {
    log::info("%s-login: Aborted login (%s): %s", protocol.c_str(), why, fields(user, method).c_str());
}

std::string LoginPeer::userip_refused(int max, const std::string& user, const char* method) const {
    std::string text =
        util::format("Maximum number of connections from user+IP exceeded (mail_max_userip_connections=%d)", max);
    log::info("%s-login: %s: %s", protocol.c_str(), text.c_str(), fields(user, method).c_str());
    return text;
}

Handoff LoginPeer::handoff(const std::string& login_name, const char* method, const auth::AuthUser& user,
                           std::string state) const {
    Handoff h;
    h.protocol = protocol;
    h.login_name = login_name;
    h.method = method;
    h.rip = rip;
    h.lip = lip;
    h.tls = tls;
    h.user = user;
    h.state = std::move(state);
    return h;
}

std::string canonical_login_name(const std::string& typed, const auth::AuthUser& user) {
    if (!user.address.empty()) return user.address;
    if (!user.username.empty()) return user.username;
    return typed;
}

// SaslExchange

std::string SaslExchange::first_challenge() const { return mech_ == Mech::kPlain ? "" : "VXNlcm5hbWU6"; }

SaslExchange::Step SaslExchange::feed(const std::string& line) {
    Step step;
    if (line == "*") {
        step.kind = Step::Kind::kAborted;
        return step;
    }
    auto decoded = line == "=" ? std::optional<std::string>(std::string()) : util::base64_decode(line);
    if (!decoded) {
        step.kind = Step::Kind::kInvalidBase64;
        return step;
    }
    if (mech_ == Mech::kPlain) {
        // authzid NUL authcid NUL password
        const auto a = decoded->find('\0');
        const auto b = a == std::string::npos ? std::string::npos : decoded->find('\0', a + 1);
        if (b == std::string::npos) {
            step.kind = Step::Kind::kMalformed;
            return step;
        }
        std::string authz = decoded->substr(0, a);
        step.user = decoded->substr(a + 1, b - a - 1);
        if (!authz.empty() && authz != step.user) {  // no proxy authorization
            step.kind = Step::Kind::kMalformed;
            return step;
        }
        step.kind = Step::Kind::kCredentials;
        step.password = decoded->substr(b + 1);
        return step;
    }
    if (!have_user_) {
        have_user_ = true;
        user_ = std::move(*decoded);
        step.challenge = "UGFzc3dvcmQ6";
        return step;
    }
    step.kind = Step::Kind::kCredentials;
    step.user = std::move(user_);
    step.password = std::move(*decoded);
    return step;
}

// LoginAuth

LoginAuth::LoginAuth(event::Loop& loop, auth::AuthClient& authd, const LoginConfig& config)
    : loop_(loop), authd_(authd), config_(config) {}

LoginAuth::~LoginAuth() {
    if (auth_id_ != 0) authd_.cancel(auth_id_);
}

void LoginAuth::password(const std::string& user, const std::string& password, const char* method, Done done) {
    last_user_ = user;
    last_method_ = method;
    auth_id_ = authd_.request(auth::make_login_request(config_.protocol, user, password),
                              [this, user, method, done = std::move(done)](auth::AuthResult r) mutable {
                                  auth_id_ = 0;
                                  finish(user, method, std::move(r), std::move(done));
                              });
}

void LoginAuth::apop(const std::string& user, const std::string& timestamp, const std::string& digest, Done done) {
    last_user_ = user;
    last_method_ = "APOP";
    // courier's authdaemond gives the clear password (PASSWD2) in its PRE
    // reply, and has no APOP: the digest is checked here then. mailroom's
    // authd never hands out a password; it checks the digest itself
    // (authtype "apop", docs/authd.md).
    auth_id_ = authd_.request(
        auth::make_pre_request(config_.protocol, user),
        [this, user, timestamp, digest, done = std::move(done)](auth::AuthResult r) mutable {
            auth_id_ = 0;
            if (r.kind == auth::AuthResult::Kind::kFail) {
                // An unknown user: a PRE lookup has no failure delay of
                // its own, and must not answer sooner than a wrong digest.
                ++failures_;
                return failed(true, std::move(done));
            }
            if (r.kind != auth::AuthResult::Kind::kOk) return finish(user, "APOP", std::move(r), std::move(done));
            std::string stored = !r.reply.user.clear_passwd.empty() ? "{PLAIN}" + r.reply.user.clear_passwd
                                                                    : r.reply.user.passwd;
            if (!stored.empty()) {
                const auto v = auth::verify_apop(stored, timestamp, digest);
                if (v != auth::VerifyResult::kUnsupported) {
                    if (v == auth::VerifyResult::kMismatch) {
                        // authd found the user; the mismatch found here has
                        // had no failure delay yet.
                        ++failures_;
                        return failed(true, std::move(done));
                    }
                    return finish(user, "APOP", std::move(r), std::move(done));
                }
            }
            auth::Request req;
            req.type = auth::RequestType::kAuth;
            req.service = config_.protocol;
            req.authtype = "apop";
            req.authdata = user + "\n" + timestamp + "\n" + digest + "\n";
            auth_id_ = authd_.request(req, [this, user, done = std::move(done)](auth::AuthResult r2) mutable {
                auth_id_ = 0;
                finish(user, "APOP", std::move(r2), std::move(done));
            });
        });
}

void LoginAuth::fail(const std::string& user, const char* method, Done done) {
    last_user_ = user;
    last_method_ = method;
    ++failures_;
    failed(true, std::move(done));
}

void LoginAuth::finish(const std::string& user, const char* method, auth::AuthResult result, Done done) {
    last_user_ = user;
    last_method_ = method;
    Outcome out;
    switch (result.kind) {
    case auth::AuthResult::Kind::kFail:
        ++failures_;
        return failed(false, std::move(done));  // authd waited already
    case auth::AuthResult::Kind::kTempFail:
        out.kind = Outcome::Kind::kTempFail;
        out.reason = std::move(result.reason);
        return done(std::move(out));
    case auth::AuthResult::Kind::kOk:
        out.kind = Outcome::Kind::kOk;
        out.login_name = canonical_login_name(user, result.reply.user);
        out.user = std::move(result.reply.user);
        last_user_ = out.login_name;
        return done(std::move(out));
    }
}

void LoginAuth::failed(bool delay, Done done) {
    Outcome out;
    out.kind = Outcome::Kind::kFail;
    out.disconnect = failures_ >= kMaxAuthFailures;
    if (!delay || config_.failure_delay.count() <= 0) return done(std::move(out));
    pending_ = [done = std::move(done), out](Outcome) { done(out); };
    if (timer_.empty())
        timer_ = event::Timer(loop_, [this] {
            timer_armed_ = false;
            Done d = std::move(pending_);
            pending_ = nullptr;
            if (d) d(Outcome{});
        });
    timer_armed_ = true;
    timer_.start(config_.failure_delay);
}

// UseripLimiter

UseripLimiter::UseripLimiter(event::Loop& loop, std::string protocol, int max, const std::string& anvil_socket)
    : service_(std::move(protocol) + "-userip"), max_(max) {
    if (max_ > 0 && !anvil_socket.empty()) {
        anvil::ClientOptions opts;
        opts.socket_path = anvil_socket;
        anvil_ = std::make_unique<anvil::Client>(loop, std::move(opts));
    }
}

void UseripLimiter::connect(const std::string& user, const std::string& rip, std::function<void(bool, Ticket)> done) {
    if (max_ <= 0) return done(true, Ticket{});
    std::string key = rip + "/" + user;
    if (!anvil_) {
        int& n = local_[key];
        if (n >= max_) return done(false, Ticket{});
        ++n;
        return done(true, Ticket{std::move(key), 0, true});
    }
    anvil::Client* client = anvil_.get();
    client->request(anvil::RequestType::kConnect, anvil::make_ident(service_, key),
                    [this, client, key, done = std::move(done)](std::optional<anvil::Reply> r) {
                        if (!r || r->status != anvil::kStatusOk) return done(true, Ticket{});
                        Ticket ticket{key, client->generation(), false};
                        if (r->count > max_) {
                            release(ticket);
                            return done(false, Ticket{});
                        }
                        done(true, std::move(ticket));
                    });
}

void UseripLimiter::release(const Ticket& ticket) {
    if (ticket.key.empty()) return;
    if (ticket.local) {
        auto it = local_.find(ticket.key);
        if (it != local_.end() && --it->second <= 0) local_.erase(it);
        return;
    }
    // anvil forgets what was counted on a connection once it closes.
    if (!anvil_ || ticket.generation != anvil_->generation() || !anvil_->connected()) return;
    anvil_->request(anvil::RequestType::kDisconnect, anvil::make_ident(service_, ticket.key), nullptr);
}

}  // namespace mailroom::access
