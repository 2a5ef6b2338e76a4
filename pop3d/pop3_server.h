// pop3_server.h - pop3d's configuration, its per-process state, and the
// POP3 session on the event loop.
//
// Summary
//   Pop3Config::from_config() reads pop3d's parameters (Dovecot's names:
//   login_greeting, disable_plaintext_auth, auth_mechanisms,
//   login_trusted_networks, mail_max_userip_connections, mail_location,
//   pop3_uidl_format, ssl_cert, ssl_key; and pop3_idle_timeout,
//   pop3_tls_wrappermode). Pop3Server owns what the sessions of one
//   process share: the TLS context, the authd client, the anvil client
//   that counts user+IP connections across pop3d processes. Each accepted connection becomes a Pop3Session
//   (pop3_session.cc): the login part (greeting, CAPA, STLS, USER/PASS,
//   APOP, AUTH) and, once authd accepted the user, the mail part on a
//   Pop3Mailbox (docs/mail-access.md).
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

#include "lib/anvil/anvil_client.h"
#include "lib/auth/auth_client.h"
#include "lib/config/config.h"
#include "lib/event/event_loop.h"
#include "lib/server/server.h"
#include "lib/tls/tls.h"
#include "lib/util/result.h"
#include "smtpd/smtpd_mynetworks.h"

namespace mailroom::pop3d {

struct Pop3Config {
    std::string greeting = "mailroom ready.";  // login_greeting
    bool disable_plaintext_auth = true;
    bool mech_plain = true;
    bool mech_login = true;
    bool mech_apop = false;
    std::optional<smtpd::Mynetworks> trusted;  // login_trusted_networks
    int max_userip = 10;                       // mail_max_userip_connections (0 = no limit)
    std::string anvil_socket;                  // private/anvil; empty: count in this process only
    std::chrono::milliseconds idle_timeout{600000};
    std::chrono::milliseconds failure_delay{2000};  // auth_failure_delay, for failures pop3d decides
    std::string mail_location = "maildir:~/Maildir";
    std::string uidl_format = "%08Xu%08Xv";
    std::string hostname;
    bool wrappermode = false;
    auth::AuthClientOptions authd;
    tls::ServerPolicy tls;  // level kNone when ssl_cert is empty or ssl = no

    static Result<Pop3Config> from_config(const config::Config& config);
};

class Pop3Session;

class Pop3Server {
public:
    Pop3Server(event::Loop& loop, Pop3Config config, std::shared_ptr<tls::ServerContext> tls);
    ~Pop3Server();

    void accept(server::Connection conn);
    // Ends a session (freed after the current callback).
    void finish(Pop3Session* session);

    event::Loop& loop() { return loop_; }
    const Pop3Config& config() const { return config_; }
    const std::shared_ptr<tls::ServerContext>& tls() const { return tls_; }
    auth::AuthClient& authd() { return authd_; }
    // mail_max_userip_connections: a session of `user` from `rip` is
    // counted through anvil, so across every pop3d process (without an
    // anvil socket configured, in this process). done(true, ticket) admits
    // it; the ticket goes back to userip_release() when the session ends.
    // When anvil cannot be asked the session is admitted (anvil's client
    // logs the warning), as Postfix's smtpd goes on without its limits.
    struct UseripTicket {
        std::string key;
        std::uint64_t generation = 0;  // anvil connection it was counted on
        bool local = false;
    };
    void userip_connect(const std::string& user, const std::string& rip,
                        std::function<void(bool, UseripTicket)> done);
    void userip_release(const UseripTicket& ticket);

private:
    event::Loop& loop_;
    Pop3Config config_;
    std::shared_ptr<tls::ServerContext> tls_;
    auth::AuthClient authd_;
    std::unique_ptr<anvil::Client> anvil_;
    std::map<Pop3Session*, std::unique_ptr<Pop3Session>> sessions_;
    std::map<std::string, int> userip_;
};

}  // namespace mailroom::pop3d
