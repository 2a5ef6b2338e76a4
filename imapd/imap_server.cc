// imap_server.cc - see imap_server.h.
#include "imapd/imap_server.h"

#include <unistd.h>

#include "lib/ipc/ipc_socket.h"
#include "lib/log/log.h"
#include "lib/util/strings.h"
#include "imapd/imap_session.h"

namespace mailroom::imapd {

Result<ImapConfig> ImapConfig::from_config(const config::Config& cfg) {
    ImapConfig c;
    auto str = [&](const char* name, std::string* out) -> Status {
        auto v = cfg.get(name);
        if (!v) return v.error();
        *out = *v;
        return ok_status();
    };
    auto secs = [&](const char* name, std::chrono::milliseconds* out) -> Status {
        auto v = cfg.get_time(name);
        if (!v) return v.error();
        *out = std::chrono::seconds(*v);
        return ok_status();
    };
    if (auto st = str("login_greeting", &c.greeting); !st) return st.error();
    if (auto st = str("mail_location", &c.mail_location); !st) return st.error();
    auto b = cfg.get_bool("disable_plaintext_auth");
    if (!b) return b.error();
    c.disable_plaintext_auth = *b;
    auto wrap = cfg.get_bool("imap_tls_wrappermode");
    if (!wrap) return wrap.error();
    c.wrappermode = *wrap;
    auto mechs = cfg.get_list("auth_mechanisms");
    if (!mechs) return mechs.error();
    c.mech_plain = false;
    for (const auto& m : *mechs) {
        const std::string l = util::lowercase(m);
        if (l == "plain") c.mech_plain = true;
        else if (l == "login") c.mech_login = true;
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
    if (auto st = secs("imap_idle_timeout", &c.idle_timeout); !st) return st.error();
    if (auto st = secs("imap_idle_notify_interval", &c.idle_notify); !st) return st.error();
    if (auto st = secs("auth_failure_delay", &c.failure_delay); !st) return st.error();
    auto maxline = cfg.get_int("imap_max_line_length");
    if (!maxline) return maxline.error();
    c.max_line = static_cast<std::size_t>(*maxline);
    auto limit = cfg.get_int("message_size_limit");
    if (!limit) return limit.error();
    c.append_limit = static_cast<std::uint64_t>(*limit);
    auto queue = cfg.get("queue_directory");
    if (!queue) return queue.error();
    auto path = cfg.get("imap_authd_path");
    if (!path) return path.error();
    c.authd.socket_path = auth::authd_socket_path(*queue, *path);
    c.anvil_socket = ipc::service_socket_path(*queue, ipc::ServiceClass::kPrivate, anvil::kServiceName);
    c.authd.service = *path;
    auto timeout = cfg.get_time("authd_client_timeout");
    if (!timeout) return timeout.error();
    c.authd.timeout = std::chrono::seconds(*timeout);
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

ImapServer::ImapServer(event::Loop& loop, ImapConfig config, std::shared_ptr<tls::ServerContext> tls)
    : loop_(loop), config_(std::move(config)), tls_(std::move(tls)), authd_(loop, config_.authd) {
    if (config_.max_userip > 0 && !config_.anvil_socket.empty()) {
        anvil::ClientOptions opts;
        opts.socket_path = config_.anvil_socket;
        anvil_ = std::make_unique<anvil::Client>(loop_, std::move(opts));
    }
}

ImapServer::~ImapServer() = default;

void ImapServer::accept(server::Connection conn) {
    auto session = std::make_unique<ImapSession>(*this, std::move(conn));
    ImapSession* raw = session.get();
    sessions_.emplace(raw, std::move(session));
    raw->start();
}

void ImapServer::finish(ImapSession* session) {
    auto it = sessions_.find(session);
    if (it == sessions_.end()) return;
    std::unique_ptr<ImapSession> owned = std::move(it->second);
    sessions_.erase(it);
    loop_.release_later(std::move(owned));
}

namespace {
// The anvil ident: a service of its own, so smtpd's per-client counts and
// these never mix.
constexpr std::string_view kUseripService = "imap-userip";
}  // namespace

void ImapServer::userip_connect(const std::string& user, const std::string& rip,
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

void ImapServer::userip_release(const UseripTicket& ticket) {
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

}  // namespace mailroom::imapd
