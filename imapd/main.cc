// main.cc - imapd: the IMAP server (RFC 3501 and the extensions in
// docs/imapd.md).
//
// Summary
//   A multi server (master.cf: "imap inet n - n - - imapd", and "imaps"
//   with -o imap_tls_wrappermode=yes) on one event loop, one session per
//   process while mail store work blocks the loop, as pop3d
//   (docs/mail-access.md). Authentication goes to authd over its UNIX
//   socket (imap_authd_path); mail is read from authd's MAILDIR= or
//   mail_location through lib/access's mail store.
//
// Security
//   Runs as mail_owner or the invoking user; the mail part refuses to run
//   as root. Command lines are bounded by imap_max_line_length, APPEND's
//   message by message_size_limit; twenty bad commands or the autologout
//   (imap_idle_timeout) end a session.
#include <memory>

#include "imapd/imap_server.h"
#include "lib/log/log.h"
#include "lib/server/server.h"

using namespace mailroom;

namespace {
std::unique_ptr<imapd::ImapServer> g_server;
}

int main(int argc, char** argv) {
    server::ServiceSpec spec;
    spec.program = "imapd";
    spec.post_jail_init = [](server::ServerContext& ctx) -> Status {
        auto cfg = imapd::ImapConfig::from_config(ctx.config());
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
        g_server = std::make_unique<imapd::ImapServer>(ctx.loop(), std::move(*cfg), std::move(tls));
        return ok_status();
    };
    spec.sessions_per_process = 1;
    spec.accept_only_below_cap = true;
    spec.on_connection = [](server::ServerContext&, server::Connection conn) { g_server->accept(std::move(conn)); };
    spec.on_exit = [](server::ServerContext&) { g_server.reset(); };
    spec.parameters = {"login_greeting", "disable_plaintext_auth", "auth_mechanisms", "login_trusted_networks",
                       "mail_max_userip_connections", "mail_location", "imap_max_line_length",
                       "imap_idle_notify_interval", "imap_idle_timeout", "imap_tls_wrappermode", "imap_authd_path",
                       "authd_client_timeout", "auth_failure_delay", "message_size_limit", "ssl", "ssl_cert",
                       "ssl_key"};
    return server::run_multi_server(argc, argv, std::move(spec));
}
