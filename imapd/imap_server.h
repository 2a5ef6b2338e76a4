// imap_server.h - imapd's configuration and per-process state.
//
// Summary
//   ImapConfig::from_config() reads imapd's parameters: those it shares
//   with pop3d under Dovecot's names (login_greeting, mail_location, ssl,
//   ssl_cert, ssl_key, and the login part's through access::LoginConfig:
//   disable_plaintext_auth, auth_mechanisms, login_trusted_networks,
//   mail_max_userip_connections, auth_failure_delay), Dovecot's imap_max_line_length and
//   imap_idle_notify_interval, and the local additions imap_idle_timeout
//   (the autologout), imap_tls_wrappermode (the imaps service) and
//   imap_authd_path. APPENDLIMIT is message_size_limit. ImapServer owns
//   what the sessions of one process share: the TLS context, the authd
//   client and the anvil client that counts user+IP connections across
//   imapd processes. Each accepted connection becomes an ImapSession
//   (imap_session.h).
//
// Thread safety
//   Loop thread only.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "lib/access/handed_sessions.h"
#include "lib/access/login.h"
#include "lib/access/mail_process.h"
#include "lib/auth/auth_client.h"
#include "imapd/folder_watch.h"
#include "lib/config/config.h"
#include "lib/event/event_loop.h"
#include "lib/server/server.h"
#include "lib/tls/tls.h"
#include "lib/util/result.h"

namespace mailroom::imapd {

struct ImapConfig {
    std::string greeting = "mailroom ready.";  // login_greeting
    access::LoginConfig login;                 // the login part's parameters (lib/access/login.h)
    std::chrono::milliseconds idle_timeout{30 * 60 * 1000};     // autologout
    std::chrono::milliseconds idle_notify{2 * 60 * 1000};       // imap_idle_notify_interval
    std::size_t max_line = 65536;                               // imap_max_line_length
    std::uint64_t append_limit = 10240000;                      // message_size_limit (0 = none)
    std::string mail_location = "maildir:~/Maildir";
    bool wrappermode = false;
    bool literal_minus = false;  // imap_literal_minus: LITERAL- instead of LITERAL+
    tls::ServerPolicy tls;

    static Result<ImapConfig> from_config(const config::Config& config);
};

class ImapSession;

class ImapServer {
public:
    ImapServer(event::Loop& loop, ImapConfig config, std::shared_ptr<tls::ServerContext> tls);
    ~ImapServer();

    void accept(server::Connection conn);
    // In a mail process: a session a login process handed over, logged in.
    void adopt(access::Handoff handoff, util::UniqueFd fd, std::function<void()> done);
    void finish(ImapSession* session);

    // The login side of the per-user mail processes (docs/mail-access.md):
    // null when sessions stay in this process.
    void set_mail_processes(access::MailProcesses* processes) { handed_.attach(processes); }
    access::MailProcesses* mail_processes() const { return handed_.mail(); }
    // Sessions now in a mail process: their user+IP counts, sockets and TLS
    // proxies stay here until it reports them done (lib/access/handed_sessions.h).
    access::HandedSessions& handed() { return handed_; }

    event::Loop& loop() { return loop_; }
    const ImapConfig& config() const { return config_; }
    const std::shared_ptr<tls::ServerContext>& tls() const { return tls_; }
    auth::AuthClient& authd() { return authd_; }

    // mail_max_userip_connections through anvil (ident imap-userip:<ip>/<user>).
    access::UseripLimiter& userip() { return userip_; }
    // Change notification for IDLE sessions (one inotify for the process).
    FolderWatch& folder_watch() { return folder_watch_; }

private:
    event::Loop& loop_;
    ImapConfig config_;
    std::shared_ptr<tls::ServerContext> tls_;
    auth::AuthClient authd_;
    access::UseripLimiter userip_;
    FolderWatch folder_watch_;
    std::map<ImapSession*, std::unique_ptr<ImapSession>> sessions_;
    access::HandedSessions handed_{loop_, userip_};
};

}  // namespace mailroom::imapd
