// pop3_server.cc - see pop3_server.h.
#include "pop3d/pop3_server.h"

#include <unistd.h>

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
    auto login = access::LoginConfig::from_config(cfg, "pop3", "pop3_authd_path");
    if (!login) return login.error();
    c.login = std::move(*login);
    if (auto st = str("login_greeting", &c.greeting); !st) return st.error();
    if (auto st = str("mail_location", &c.mail_location); !st) return st.error();
    if (auto st = str("pop3_uidl_format", &c.uidl_format); !st) return st.error();
    auto wrap = cfg.get_bool("pop3_tls_wrappermode");
    if (!wrap) return wrap.error();
    c.wrappermode = *wrap;
    auto idle = cfg.get_time("pop3_idle_timeout");
    if (!idle) return idle.error();
    c.idle_timeout = std::chrono::seconds(*idle);
    auto tls = access::login_tls_policy(cfg, c.wrappermode);
    if (!tls) return tls.error();
    c.tls = std::move(*tls);
    return c;
}

Pop3Server::Pop3Server(event::Loop& loop, Pop3Config config, std::shared_ptr<tls::ServerContext> tls)
    : loop_(loop),
      config_(std::move(config)),
      tls_(std::move(tls)),
      authd_(loop, config_.login.authd),
      userip_(loop, config_.login.protocol, config_.login.max_userip, config_.login.anvil_socket) {}

Pop3Server::~Pop3Server() = default;

event::Offload* Pop3Server::offload() {
    if (!offload_ && !offload_failed_) {
        auto made = event::Offload::create(loop_.base(), 4);
        if (made) {
            offload_ = std::move(*made);
        } else {
            offload_failed_ = true;
            log::warn("mailbox worker threads: %s", made.error().message.c_str());
        }
    }
    return offload_.get();
}

void Pop3Server::adopt(access::Handoff handoff, util::UniqueFd fd, std::function<void()> done) {
    auto session = std::make_unique<Pop3Session>(*this, std::move(handoff), std::move(fd), std::move(done));
    Pop3Session* raw = session.get();
    sessions_.emplace(raw, std::move(session));
    raw->start();
}

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

}  // namespace mailroom::pop3d
