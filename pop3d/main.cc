// main.cc - pop3d: the POP3 server (RFC 1939, 2449, 2595, 3206, 5034).
//
// Summary
//   A multi server (master.cf: "pop3 inet n - n - - pop3d", and "pop3s"
//   with -o pop3_tls_wrappermode=yes) on one event loop, one session per
//   process while mailbox work blocks the loop (docs/mail-access.md). Authentication goes to authd over its UNIX socket
//   ($queue_directory/private/authd, pop3_authd_path); mail is read from
//   authd's MAILDIR= or mail_location. The process model (unprivileged
//   login part, mail part as the user, never root) is in
//   docs/mail-access.md.
//
// Security
//   Runs as mail_owner or the invoking user; the mail part refuses to run
//   as root. Lines are bounded (kMaxPop3Line), the session ends after
//   twenty bad commands or pop3_idle_timeout.
#include <memory>

#include "lib/log/log.h"
#include "lib/server/server.h"
#include "pop3d/pop3_server.h"

using namespace mailroom;

namespace {
std::unique_ptr<pop3d::Pop3Server> g_server;
}

int main(int argc, char** argv) {
    server::ServiceSpec spec;
    spec.program = "pop3d";
    spec.post_jail_init = [](server::ServerContext& ctx) -> Status {
        auto cfg = pop3d::Pop3Config::from_config(ctx.config());
        if (!cfg) return cfg.error();
        std::shared_ptr<tls::ServerContext> tls;
        if (cfg->tls.enabled()) {
            auto made = tls::ServerContext::create(cfg->tls);
            if (!made) {
                log::warn("%s: disabling TLS support", made.error().message.c_str());
            } else {
                tls = std::move(*made);
            }
        }
        g_server = std::make_unique<pop3d::Pop3Server>(ctx.loop(), std::move(*cfg), std::move(tls));
        return ok_status();
    };
    // Mailbox work (mbox and UID list locks waited for up to seconds, whole
    // messages read) still runs on the loop: one session per process, so a
    // stuck mailbox never stalls another user's session.
    spec.sessions_per_process = 1;
    spec.accept_only_below_cap = true;
    spec.on_connection = [](server::ServerContext&, server::Connection conn) { g_server->accept(std::move(conn)); };
    spec.on_exit = [](server::ServerContext&) { g_server.reset(); };
    spec.parameters = {"login_greeting", "disable_plaintext_auth", "auth_mechanisms", "login_trusted_networks",
                       "mail_max_userip_connections", "mail_location", "pop3_uidl_format", "pop3_idle_timeout",
                       "pop3_tls_wrappermode", "pop3_authd_path", "authd_client_timeout", "auth_failure_delay", "ssl", "ssl_cert",
                       "ssl_key"};
    return server::run_multi_server(argc, argv, std::move(spec));
}
