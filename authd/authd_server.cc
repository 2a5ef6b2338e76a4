// authd_server.cc - see authd_server.h.
#include "authd/authd_server.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>

#include "lib/auth/authd_proto.h"
#include "lib/auth/password.h"
#include "lib/event/channel.h"
#include "lib/log/log.h"
#include "lib/util/strings.h"

namespace mailroom::authd {

using auth::LookupResult;
using auth::Outcome;
using auth::UserRecord;

Result<AuthdConfig> AuthdConfig::from_config(const config::Config& cfg) {
    AuthdConfig c;
    auto modules = cfg.get_list("authd_modules");
    if (!modules) return modules.error();
    c.authd_modules = *modules;
    auto size = cfg.get_size("auth_cache_size");
    if (!size) return size.error();
    c.auth_cache_size = *size;
    auto ttl = cfg.get_time("auth_cache_ttl");
    if (!ttl) return ttl.error();
    c.auth_cache_ttl = *ttl;
    auto neg = cfg.get_time("auth_cache_negative_ttl");
    if (!neg) return neg.error();
    c.auth_cache_negative_ttl = *neg;
    auto delay = cfg.get_time("auth_failure_delay");
    if (!delay) return delay.error();
    c.auth_failure_delay = *delay;
    auto format = cfg.get("auth_username_format");
    if (!format) return format.error();
    c.auth_username_format = *format;
    auto realm = cfg.get("auth_default_realm");
    if (!realm) return realm.error();
    c.auth_default_realm = *realm;
    return c;
}

namespace {

auth::AuthUser to_wire(const UserRecord& u) {
    auth::AuthUser w;
    w.username = u.sysuser;
    w.address = u.address.empty() ? u.username : u.address;
    w.name = u.name;
    w.home = u.home;
    w.maildir = u.maildir;
    w.quota = u.quota;
    w.options = u.options;
    if (u.uid >= 0) w.uid = static_cast<uid_t>(u.uid);
    if (u.gid >= 0) w.gid = static_cast<gid_t>(u.gid);
    return w;
}

// CRAM-MD5/CRAM-SHA1: "user hexdigest", the digest being HMAC(password,
// challenge). Constant-time comparison.
bool cram_matches(const std::string& authtype, const std::string& challenge, const std::string& digest_hex,
                  const std::string& plain) {
    const EVP_MD* md = authtype == "cram-sha1" ? EVP_sha1() : EVP_md5();
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    if (!HMAC(md, plain.data(), static_cast<int>(plain.size()),
              reinterpret_cast<const unsigned char*>(challenge.data()), challenge.size(), mac, &len))
        return false;
    static const char* hex = "0123456789abcdef";
    std::string want;
    for (unsigned i = 0; i < len; ++i) {
        want.push_back(hex[mac[i] >> 4]);
        want.push_back(hex[mac[i] & 15]);
    }
    std::string got = util::lowercase(digest_hex);
    return got.size() == want.size() && CRYPTO_memcmp(got.data(), want.data(), want.size()) == 0;
}

// The default password scheme of the module a record came from.
std::string scheme_of(const auth::AuthChain& chain, const std::string& module) {
    for (const auto& m : chain.modules())
        if (m->spec() == module) return m->default_scheme();
    return "CRYPT";
}

// What a worker returns for an AUTH: the outcome, and the record to cache
// (the user as the first module that knew it has it), if any.
struct AuthWork {
    LookupResult result;
    std::optional<LookupResult> cache;
};

}  // namespace

class AuthdServer::Session : public std::enable_shared_from_this<Session> {
public:
    Session(AuthdServer& server, server::Connection conn) : server_(server), conn_(std::move(conn)) {}

    void start() {
        event::ChannelOptions opt;
        opt.max_line = auth::kMaxLine;
        opt.max_input = auth::kMaxAuthLength + auth::kMaxLine + 1024;
        opt.read_timeout = server_.config_.read_timeout;
        opt.write_timeout = server_.config_.read_timeout;
        channel_ = event::Channel::create(server_.loop_, conn_.fd(), opt);
        if (!channel_) return close();
        channel_->on_input([this] { input(); });
        channel_->on_event([this](event::Channel::Event e, const std::string& why) {
            // A client that shut down its side after the request still
            // gets the answer.
            if (e == event::Channel::Event::kEof && busy_) return;
            if (e == event::Channel::Event::kError || e == event::Channel::Event::kTimeout)
                log::debug("authd client: %s", why.c_str());
            close();
        });
        channel_->on_drained([this] {
            if (replied_) close();
        });
    }

private:
    void input() {
        if (busy_) return;
        std::string bytes = channel_->read_all();
        std::size_t used = 0;
        auto step = decoder_.feed(bytes, &used);
        if (step == auth::RequestDecoder::Step::kNeedMore) return;
        if (step == auth::RequestDecoder::Step::kError) {
            log::warn("authd request: %s", decoder_.error().message.c_str());
            return close();
        }
        busy_ = true;
        channel_->pause_reading();
        request_ = decoder_.take();
        for (const auto& [k, v] : request_.meta)
            if (k == "TCPREMOTEIP") client_ = v;
        switch (request_.type) {
            case auth::RequestType::kPre: return pre();
            case auth::RequestType::kAuth: return authenticate();
            case auth::RequestType::kPasswd: return passwd();
            case auth::RequestType::kEnumerate: return enumerate();
        }
    }

    std::string user_key(const std::string& user) const {
        return auth::format_username(user, server_.config_.auth_username_format, server_.config_.auth_default_realm);
    }

    // The modules may answer differently per service (mysql's
    // $(service)), so the cache keeps one entry per service and name.
    std::string cache_key(const std::string& key) const { return request_.service + '\t' + key; }

    // Every module call runs on the runner's one worker thread, so a
    // module is never used by two threads (hashing is slow, too).
    template <class T>
    void offload(bool may_block, std::function<T()> work, std::function<void(Session&, T)> done) {
        std::weak_ptr<Session> weak = shared_from_this();
        server_.runner_.run<T>(may_block, std::move(work), [weak, done = std::move(done)](T value) {
            if (auto self = weak.lock()) done(*self, std::move(value));
        });
    }

    void pre() {
        std::string key = user_key(request_.user);
        std::string ck = cache_key(key);
        // "PRE module service user" asks one module only (not cached).
        std::string only = request_.module == "." ? std::string() : request_.module;
        if (only.empty()) {
            if (auto hit = server_.cache_.get(ck, server_.clock_())) return answer_lookup(*hit, key, "");
        }
        auto chain = server_.chain_;
        std::string service = request_.service;
        offload<LookupResult>(
            true, [chain, key, service, only] { return chain->lookup(key, service, only); },
            [key, ck, only](Session& s, LookupResult r) { s.answer_lookup(r, key, only.empty() ? ck : ""); });
    }

    // `ck`: the cache key when `r` comes from the modules and is to be
    // cached, empty otherwise.
    void answer_lookup(const LookupResult& r, const std::string& key, const std::string& ck) {
        if (!ck.empty()) server_.cache_.put(ck, r, server_.clock_());
        if (r.outcome == Outcome::kTempFail) {
            if (!ck.empty()) {
                if (auto stale = server_.cache_.stale(ck)) return answer_lookup(*stale, key, "");
            }
            return temp_fail(key, r.reason);
        }
        if (r.outcome != Outcome::kOk) return reply_fail(false);
        reply_user(r.user);
    }

    void authenticate() {
        std::string user, password, challenge;
        const bool apop = request_.authtype == "apop";
        bool cram = request_.authtype == "cram-md5" || request_.authtype == "cram-sha1" || apop;
        if (request_.authtype == "login") {
            auto lp = auth::parse_login_data(request_.authdata);
            if (!lp) return reply_fail(true);
            user = lp->first;
            password = lp->second;
        } else if (apop) {
            // mailroom's extension: "user\ntimestamp\nhexdigest\n", the
            // digest being MD5(timestamp + password) (RFC 1939).
            auto parts = util::split(request_.authdata, "\n");
            if (parts.size() != 3) return reply_fail(true);
            user = parts[0];
            challenge = parts[1];
            password = parts[2];  // the digest
        } else if (cram) {
            auto cp = auth::parse_cram_data(request_.authdata);
            if (!cp) return reply_fail(true);
            challenge = cp->first;
            // The response is "user digest".
            auto sp = cp->second.rfind(' ');
            if (sp == std::string::npos) return reply_fail(true);
            user = cp->second.substr(0, sp);
            password = cp->second.substr(sp + 1);  // the digest
        } else {
            log::info("unsupported authentication type \"%s\"",
                      log::log_printable(request_.authtype).c_str());
            return reply_fail(true);
        }
        std::string key = user_key(user);
        std::string ck = cache_key(key);
        auto chain = server_.chain_;
        std::string service = request_.service, authtype = request_.authtype;
        auto cached = server_.cache_.get(ck, server_.clock_());
        // An expired record answers only while the modules cannot.
        std::optional<LookupResult> stale;
        if (!cached) stale = server_.cache_.stale(ck);
        // A cached unknown user is refused without asking the modules
        // again; a cached user whose password does not match is asked for
        // again, as the password may have changed in the backend.
        std::function<AuthWork()> work = [chain, key, service, password, challenge, authtype, cram, cached,
                                          stale]() {
            AuthWork w;
            auto check = [&](const UserRecord& u, const std::string& scheme, std::string* why) {
                if (!cram) return auth::AuthChain::check_password(u, scheme, password, why);
                if (authtype == "apop") {
                    const auto v = auth::verify_apop(
                        u.clear_password.empty() ? u.crypt_password : "{PLAIN}" + u.clear_password, challenge,
                        password, scheme);
                    if (v == auth::VerifyResult::kMatch) return Outcome::kOk;
                    *why = v == auth::VerifyResult::kUnsupported ? "the stored password does not allow apop"
                                                                 : "password mismatch";
                    return Outcome::kNotFound;
                }
                auto plain = auth::plaintext_of(
                    u.clear_password.empty() ? u.crypt_password : "{PLAIN}" + u.clear_password, scheme);
                if (!plain) {
                    *why = "the stored password does not allow " + authtype;
                    return Outcome::kNotFound;
                }
                if (cram_matches(authtype, challenge, password, *plain)) return Outcome::kOk;
                *why = "password mismatch";
                return Outcome::kNotFound;
            };
            // Checks a cached record with its module's default scheme.
            auto check_record = [&](const LookupResult& r) {
                LookupResult out = r;
                std::string why;
                if (check(r.user, scheme_of(*chain, r.user.module), &why) == Outcome::kOk) return out;
                out.outcome = Outcome::kNotFound;
                out.reason = r.user.module + ": " + why;
                return out;
            };
            std::optional<LookupResult> known;  // the cached record, checked
            if (cached) {
                if (cached->outcome != Outcome::kOk) {
                    w.result.reason = "unknown user (cached)";
                    return w;
                }
                known = check_record(*cached);
                if (known->outcome == Outcome::kOk) {
                    w.result = *known;
                    return w;
                }
            }
            // Every module in turn, as courier does.
            w.result = chain->authenticate_with(
                key, service,
                [&](const UserRecord& u, const auth::AuthModule& m, std::string* why) {
                    return check(u, m.default_scheme(), why);
                },
                &w.cache);
            // A user no module knows is cached as unknown.
            if (!w.cache && w.result.outcome == Outcome::kNotFound) w.cache = LookupResult{};
            // While the modules cannot answer, the last record known
            // decides (Dovecot's stale cache entries).
            if (w.result.outcome == Outcome::kTempFail) {
                if (!known && stale) known = check_record(*stale);
                if (known) w.result = *known;
            }
            return w;
        };
        offload<AuthWork>(true, std::move(work),
                          [key, ck](Session& s, AuthWork w) { s.answer_auth(w, key, ck); });
    }

    void answer_auth(const AuthWork& w, const std::string& key, const std::string& ck) {
        if (w.cache) server_.cache_.put(ck, *w.cache, server_.clock_());
        const LookupResult& r = w.result;
        if (r.outcome == Outcome::kTempFail) return temp_fail(key, r.reason);
        if (r.outcome != Outcome::kOk) {
            log::info("authentication failed: user=<%s>, service=%s%s%s, reason=%s",
                      log::log_printable(key).c_str(), log::log_printable(request_.service).c_str(),
                      client_.empty() ? "" : ", rip=", log::log_printable(client_).c_str(),
                      log::log_printable(r.reason).c_str());
            return reply_fail(true);
        }
        log::debug("%s authenticated by %s", key.c_str(), r.user.module.c_str());
        reply_user(r.user);
    }

    void passwd() {
        std::string key = user_key(request_.user);
        // Every service's entry for the user goes (the cache is keyed by
        // service and name).
        server_.cache_.clear();
        auto chain = server_.chain_;
        std::string service = request_.service, old_pw = request_.old_password, new_pw = request_.new_password;
        offload<LookupResult>(
            true, [chain, key, service, old_pw, new_pw] { return chain->change_password(key, service, old_pw, new_pw); },
            [key](Session& s, LookupResult r) {
                s.server_.cache_.clear();
                if (r.outcome == Outcome::kTempFail) return s.temp_fail(key, r.reason);
                if (r.outcome != Outcome::kOk) {
                    log::info("password change refused: user=<%s>, reason=%s", log::log_printable(key).c_str(),
                              log::log_printable(r.reason).c_str());
                    return s.reply_fail(true);
                }
                log::info("password changed: user=<%s>, module=%s", log::log_printable(key).c_str(),
                          r.user.module.c_str());
                auth::Reply ok;
                ok.kind = auth::Reply::Kind::kOk;
                s.send(ok);
            });
    }

    void enumerate() {
        auto chain = server_.chain_;
        offload<Result<std::vector<UserRecord>>>(
            true, [chain] { return chain->enumerate(); },
            [](Session& s, Result<std::vector<UserRecord>> list) {
                if (!list) return s.temp_fail("ENUMERATE", list.error().message);
                auth::Reply reply;
                reply.kind = auth::Reply::Kind::kEnumerate;
                for (const auto& u : *list) {
                    if (u.uid < 0 || u.gid < 0) continue;
                    auth::EnumEntry e;
                    e.name = u.username;
                    e.uid = static_cast<uid_t>(u.uid);
                    e.gid = static_cast<gid_t>(u.gid);
                    e.home = u.home;
                    e.maildir = u.maildir;
                    e.options = u.options;
                    reply.entries.push_back(std::move(e));
                }
                s.send(reply);
            });
    }

    void reply_user(const UserRecord& u) {
        auth::Reply reply;
        reply.kind = auth::Reply::Kind::kUser;
        reply.user = to_wire(u);
        send(reply);
    }

    void reply_fail(bool delay) {
        auth::Reply reply;
        reply.kind = auth::Reply::Kind::kFail;
        long long seconds = delay ? server_.config_.auth_failure_delay : 0;
        if (seconds <= 0) return send(reply);
        delay_ = event::Timer(server_.loop_, [this, reply] { send(reply); });
        delay_.start(std::chrono::seconds(seconds));
    }

    // No reply: courier's clients take a connection closed without one for
    // a temporary failure.
    void temp_fail(const std::string& what, const std::string& reason) {
        log::warn("%s: temporary failure: %s", log::log_printable(what).c_str(),
                  log::log_printable(reason).c_str());
        close();
    }

    void send(const auth::Reply& reply) {
        auto bytes = auth::encode_reply(request_.type, reply);
        if (!bytes) {
            log::warn("authd reply: %s", bytes.error().message.c_str());
            return close();
        }
        replied_ = true;
        channel_->write(*bytes);
    }

    void close() {
        if (closed_) return;
        closed_ = true;
        delay_.cancel();
        server_.closed(this);
    }

    AuthdServer& server_;
    server::Connection conn_;
    event::Channel::Ptr channel_;
    auth::RequestDecoder decoder_;
    auth::Request request_;
    std::string client_;
    event::Timer delay_;
    bool busy_ = false;
    bool replied_ = false;
    bool closed_ = false;
};

AuthdServer::AuthdServer(event::Loop& loop, AuthdConfig config, std::unique_ptr<auth::AuthChain> chain, Clock clock)
    : loop_(loop),
      config_(std::move(config)),
      chain_(std::move(chain)),
      clock_(clock ? std::move(clock) : Clock([] { return std::time(nullptr); })),
      cache_(static_cast<std::size_t>(std::max<long long>(config_.auth_cache_size, 0)), config_.auth_cache_ttl,
             config_.auth_cache_negative_ttl),
      runner_(loop) {}

AuthdServer::~AuthdServer() { sessions_.clear(); }

void AuthdServer::accept(server::Connection conn) {
    auto session = std::make_shared<Session>(*this, std::move(conn));
    Session* raw = session.get();
    sessions_.emplace(raw, std::move(session));
    raw->start();
}

void AuthdServer::closed(Session* session) {
    auto it = sessions_.find(session);
    if (it == sessions_.end()) return;
    // Inside one of the session's own callbacks: free it from the loop.
    auto holder = std::make_unique<std::shared_ptr<Session>>(std::move(it->second));
    sessions_.erase(it);
    loop_.release_later(std::move(holder));
}

}  // namespace mailroom::authd
