// pop3_server.cc - see pop3_server.h.
#include "pop3d/pop3_server.h"

#include <unistd.h>

#include "lib/ipc/ipc_socket.h"
#include "lib/log/log.h"
#include "lib/util/strings.h"
#include "pop3d/pop3_session.h"

namespace mailroom::pop3d {

Result<Pop3Config> Pop3Config::from_config(const config::Config& cfg) {
    Pop3Config c;
    auto str = [&](const char* name, std::string* out) -> Status {
        auto v = cfg.get(name);
        if (!v) return v.error();
        *out = *v;
        return ok_status();
    };
    if (auto st = str("login_greeting", &c.greeting); !st) return st.error();
    if (auto st = str("mail_location", &c.mail_location); !st) return st.error();
    if (auto st = str("pop3_uidl_format", &c.uidl_format); !st) return st.error();
    if (auto st = str("myhostname", &c.hostname); !st) return st.error();
    auto b = cfg.get_bool("disable_plaintext_auth");
    if (!b) return b.error();
    c.disable_plaintext_auth = *b;
    auto wrap = cfg.get_bool("pop3_tls_wrappermode");
    if (!wrap) return wrap.error();
    c.wrappermode = *wrap;
    auto mechs = cfg.get_list("auth_mechanisms");
    if (!mechs) return mechs.error();
    c.mech_plain = false;
    for (const auto& m : *mechs) {
        const std::string l = util::lowercase(m);
        if (l == "plain") c.mech_plain = true;
        else if (l == "login") c.mech_login = true;
        else if (l == "apop") c.mech_apop = true;
        // cram-md5 is smtpd's; pop3d does not offer it.
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
    auto idle = cfg.get_time("pop3_idle_timeout");
    if (!idle) return idle.error();
    c.idle_timeout = std::chrono::seconds(*idle);
    auto delay = cfg.get_time("auth_failure_delay");
    if (!delay) return delay.error();
    c.failure_delay = std::chrono::seconds(*delay);
    auto queue = cfg.get("queue_directory");
    if (!queue) return queue.error();
    auto path = cfg.get("pop3_authd_path");
    if (!path) return path.error();
    c.authd.socket_path = auth::authd_socket_path(*queue, *path);
    c.anvil_socket = ipc::service_socket_path(*queue, ipc::ServiceClass::kPrivate, anvil::kServiceName);
    c.authd.service = *path;
    auto timeout = cfg.get_time("authd_client_timeout");
    if (!timeout) return timeout.error();
    c.authd.timeout = std::chrono::seconds(*timeout);
    // Dovecot's ssl_cert = </path form is accepted as well as a bare path.
    std::string cert, key, ssl;
    if (auto st = str("ssl_cert", &cert); !st) return st.error();
    if (auto st = str("ssl_key", &key); !st) return st.error();
    if (auto st = str("ssl", &ssl); !st) return st.error();
    if (!cert.empty() && cert[0] == '<') cert.erase(0, 1);
    if (!key.empty() && key[0] == '<') key.erase(0, 1);
    if (ssl != "no" && !cert.empty()) {
        c.tls.level = tls::SecurityLevel::kMay;
        c.tls.cert_file = cert;
        c.tls.key_file = key.empty() ? cert : key;
        c.tls.ciphers = "medium";
        c.tls.protocols = ">=TLSv1.2";
        c.tls.wrappermode = c.wrappermode;
    }
    return c;
}

Pop3Server::Pop3Server(event::Loop& loop, Pop3Config config, std::shared_ptr<tls::ServerContext> tls)
    : loop_(loop), config_(std::move(config)), tls_(std::move(tls)), authd_(loop, config_.authd) {
    if (config_.max_userip > 0 && !config_.anvil_socket.empty()) {
        anvil::ClientOptions opts;
        opts.socket_path = config_.anvil_socket;
        anvil_ = std::make_unique<anvil::Client>(loop_, std::move(opts));
    }
}

Pop3Server::~Pop3Server() = default;

void Pop3Server::accept(server::Connection conn) {
    auto session = std::make_unique<Pop3Session>(*this, std::move(conn));
    Pop3Session* raw = session.get();
    sessions_.emplace(raw, std::move(session));
    raw->start();
}

void Pop3Server::finish(Pop3Session* session) {
    auto it = sessions_.find(session);
    if (it == sessions_.end()) return;
    std::unique_ptr<Pop3Session> owned = std::move(it->second);
    sessions_.erase(it);
    loop_.release_later(std::move(owned));
}

namespace {
// The anvil ident: a service of its own, so smtpd's per-client counts and
// these never mix.
constexpr std::string_view kUseripService = "pop3-userip";
}  // namespace

void Pop3Server::userip_connect(const std::string& user, const std::string& rip,
                                std::function<void(bool, UseripTicket)> done) {
    if (config_.max_userip <= 0) return done(true, UseripTicket{});
    std::string key = rip + "/" + user;
    if (!anvil_) {
        int& n = userip_[key];
        if (n >= config_.max_userip) return done(false, UseripTicket{});
        ++n;
        return done(true, UseripTicket{std::move(key), 0, true});
    }
    anvil::Client* client = anvil_.get();
    client->request(anvil::RequestType::kConnect, anvil::make_ident(kUseripService, key),
                    [this, client, key, done = std::move(done)](std::optional<anvil::Reply> r) {
                        if (!r || r->status != anvil::kStatusOk) return done(true, UseripTicket{});
                        UseripTicket ticket{key, client->generation(), false};
                        if (r->count > config_.max_userip) {
                            userip_release(ticket);
                            return done(false, UseripTicket{});
                        }
                        done(true, std::move(ticket));
                    });
}

void Pop3Server::userip_release(const UseripTicket& ticket) {
    if (ticket.key.empty()) return;
    if (ticket.local) {
        auto it = userip_.find(ticket.key);
        if (it != userip_.end() && --it->second <= 0) userip_.erase(it);
        return;
    }
    // anvil forgets what was counted on a connection once it closes.
    if (!anvil_ || ticket.generation != anvil_->generation() || !anvil_->connected()) return;
    anvil_->request(anvil::RequestType::kDisconnect, anvil::make_ident(kUseripService, ticket.key), nullptr);
}

}  // namespace mailroom::pop3d
