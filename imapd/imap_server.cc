// imap_server.cc - see imap_server.h.
#include "imapd/imap_server.h"

#include <unistd.h>

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
    auto login = access::LoginConfig::from_config(cfg, "imap", "imap_authd_path");
    if (!login) return login.error();
    c.login = std::move(*login);
    auto wrap = cfg.get_bool("imap_tls_wrappermode");
    if (!wrap) return wrap.error();
    c.wrappermode = *wrap;
    auto minus = cfg.get_bool("imap_literal_minus");
    if (!minus) return minus.error();
    c.literal_minus = *minus;
    if (auto st = secs("imap_idle_timeout", &c.idle_timeout); !st) return st.error();
    if (auto st = secs("imap_idle_notify_interval", &c.idle_notify); !st) return st.error();
    auto maxline = cfg.get_int("imap_max_line_length");
    if (!maxline) return maxline.error();
    c.max_line = static_cast<std::size_t>(*maxline);
    auto limit = cfg.get_int("message_size_limit");
    if (!limit) return limit.error();
    c.append_limit = static_cast<std::uint64_t>(*limit);
    auto tls = access::login_tls_policy(cfg, c.wrappermode);
    if (!tls) return tls.error();
    c.tls = std::move(*tls);
    return c;
}

ImapServer::ImapServer(event::Loop& loop, ImapConfig config, std::shared_ptr<tls::ServerContext> tls)
    : loop_(loop), config_(std::move(config)), tls_(std::move(tls)), authd_(loop, config_.login.authd),
      userip_(loop, "imap", config_.login.max_userip, config_.login.anvil_socket), folder_watch_(loop) {}

ImapServer::~ImapServer() = default;

void ImapServer::adopt(access::Handoff handoff, util::UniqueFd fd, std::function<void()> done) {
    auto session = std::make_unique<ImapSession>(*this, std::move(handoff), std::move(fd), std::move(done));
    ImapSession* raw = session.get();
    sessions_.emplace(raw, std::move(session));
    raw->start();
}

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

}  // namespace mailroom::imapd
