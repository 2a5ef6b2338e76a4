// pop3_server.h - pop3d's configuration, its per-process state, and the
// POP3 session on the event loop.
//
// Summary
//   Pop3Config::from_config() reads pop3d's parameters (Dovecot's names:
//   login_greeting, disable_plaintext_auth, auth_mechanisms,
//   login_trusted_networks, mail_max_userip_connections, mail_location,
//   pop3_uidl_format, ssl_cert, ssl_key; and pop3_idle_timeout,
//   pop3_tls_wrappermode; the login part's own through
//   access::LoginConfig). Pop3Server owns what the sessions of one
//   process share: the TLS context, the authd client, the user+IP limit
//   counted by anvil across pop3d processes, the sessions handed to mail
//   processes (and their TLS proxies), and the worker threads for mailbox
//   work. Each accepted connection becomes a Pop3Session (pop3_session.cc:
//   greeting, CAPA, STLS, USER/PASS, APOP, AUTH); once authd accepted the
//   user, the session goes to a mail process, whose Pop3Server adopt()s it
//   for the mail part on a Pop3Mailbox (pop3_session_mail.cc,
//   docs/mail-access.md).
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
#include <vector>

#include "lib/access/handed_sessions.h"
#include "lib/access/login.h"
#include "lib/access/mail_process.h"
#include "lib/auth/auth_client.h"
#include "lib/config/config.h"
#include "lib/event/event_loop.h"
#include "lib/event/offload.h"
#include "lib/server/server.h"
#include "lib/tls/tls.h"
#include "lib/util/result.h"

namespace mailroom::pop3d {

struct Pop3Config {
    std::string greeting = "mailroom ready.";  // login_greeting
    access::LoginConfig login;                 // the login part's parameters (lib/access/login.h)
    std::chrono::milliseconds idle_timeout{600000};
    std::string mail_location = "maildir:~/Maildir";
    std::string uidl_format = "%08Xu%08Xv";
    bool wrappermode = false;
    tls::ServerPolicy tls;  // level kNone when ssl_cert is empty or ssl = no

    static Result<Pop3Config> from_config(const config::Config& config);
};

class Pop3Session;

class Pop3Server {
public:
    Pop3Server(event::Loop& loop, Pop3Config config, std::shared_ptr<tls::ServerContext> tls);
    ~Pop3Server();

    void accept(server::Connection conn);
    // A mail process: a session handed over by a login process
    // (lib/access/mail_process.h); done() runs once it is over.
    void adopt(access::Handoff handoff, util::UniqueFd fd, std::function<void()> done);
    // Ends a session (freed after the current callback).
    void finish(Pop3Session* session);

    event::Loop& loop() { return loop_; }
    const Pop3Config& config() const { return config_; }
    const std::shared_ptr<tls::ServerContext>& tls() const { return tls_; }
    auth::AuthClient& authd() { return authd_; }
    // mail_max_userip_connections (lib/access/login.h).
    access::UseripLimiter& userip() { return userip_; }
    // Worker threads for mailbox work that waits for locks (opening,
    // UPDATE), made on first use; null if they can not be had (the work
    // then runs on the loop).
    event::Offload* offload();

    // The login side of the per-user mail processes: null when sessions
    // run in this process (no broker: the unit tests).
    void set_mail_processes(access::MailProcesses* processes) { handed_.attach(processes); }
    access::MailProcesses* mail_processes() const { return handed_.mail(); }
    // Sessions now in a mail process (lib/access/handed_sessions.h).
    access::HandedSessions& handed() { return handed_; }

private:
    event::Loop& loop_;
    Pop3Config config_;
    std::shared_ptr<tls::ServerContext> tls_;
    auth::AuthClient authd_;
    access::UseripLimiter userip_;
    std::map<Pop3Session*, std::unique_ptr<Pop3Session>> sessions_;
    access::HandedSessions handed_{loop_, userip_};
    // Last: destroyed first, so no mailbox work reports to a session gone.
    std::unique_ptr<event::Offload> offload_;
    bool offload_failed_ = false;
};

}  // namespace mailroom::pop3d
