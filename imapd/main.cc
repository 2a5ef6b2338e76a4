// main.cc - imapd: the IMAP server (RFC 3501 and the extensions in
// docs/imapd.md).
//
// Summary
//   A multi server (master.cf: "imap inet n - n - - imapd", and "imaps"
//   with -o imap_tls_wrappermode=yes) on one event loop: the login part of
//   many sessions. Authentication goes to authd over its UNIX socket
//   (imap_authd_path). Once authd accepted a user the session goes to a
//   mail process running as the user's uid/gid (lib/access/mail_process.h,
//   as pop3d's), which reads authd's MAILDIR= or mail_location through
//   lib/access's mail store.
//
// Security
//   Started as root, imapd forks its mail broker before anything is read
//   from a client, then runs as mail_owner; mail processes run as the
//   user (never root). Command lines are bounded by imap_max_line_length, APPEND's
//   message by message_size_limit; twenty bad commands or the autologout
//   (imap_idle_timeout) end a session.
#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <optional>

#include "imapd/imap_server.h"
#include "lib/access/mail_process.h"
#include "lib/log/log.h"
#include "lib/server/master_proto.h"
#include "lib/server/server.h"
#include "lib/util/strings.h"

using namespace mailroom;

namespace {
std::unique_ptr<imapd::ImapServer> g_server;       // the login part
std::unique_ptr<imapd::ImapServer> g_mail_server;  // in a mail process
std::unique_ptr<access::MailProcesses> g_mail;
std::optional<imapd::ImapConfig> g_config;
std::optional<std::pair<uid_t, gid_t>> g_owner;  // mail_owner, when imapd drops to it itself

// In a mail process (forked by the broker), for each session handed over.
void start_mail_session(event::Loop& loop, access::Handoff handoff, util::UniqueFd fd, std::function<void()> done) {
    if (!g_mail_server) {
        imapd::ImapConfig cfg = *g_config;
        cfg.login.max_userip = 0;  // the login process counts
        g_mail_server = std::make_unique<imapd::ImapServer>(loop, std::move(cfg), nullptr);
    }
    g_mail_server->adopt(std::move(handoff), std::move(fd), std::move(done));
}

Status drop_to_mail_owner() {
    if (!g_owner) return ok_status();
    const gid_t gid = g_owner->second;
    if (::setgroups(1, &gid) < 0 || ::setgid(gid) < 0 || ::setuid(g_owner->first) < 0)
        return make_error(util::format("drop privileges to mail_owner: %s", std::strerror(errno)));
    if (::setuid(0) == 0) return make_error("privileges were not dropped: setuid(0) succeeded");
    return ok_status();
}
}  // namespace

int main(int argc, char** argv) {
    server::ServiceSpec spec;
    spec.program = "imapd";
    spec.pre_jail_init = [](server::ServerContext& ctx) -> Status {
        auto cfg = imapd::ImapConfig::from_config(ctx.config());
        if (!cfg) return cfg.error();
        g_config = std::move(*cfg);
        if (::geteuid() == 0 && !ctx.options().unpriv) {
            // master.cf's unpriv column "n": root here only so that the
            // broker can start mail processes as the users; the login
            // part itself runs as mail_owner.
            auto owner = ctx.config().get("mail_owner");
            if (!owner) return owner.error();
            struct passwd* pw = ::getpwnam(owner->c_str());
            if (!pw) return make_error("unknown mail_owner user: " + *owner);
            if (pw->pw_uid == 0) return make_error("mail_owner must not be the super-user: " + *owner);
            g_owner = std::make_pair(pw->pw_uid, pw->pw_gid);
        }
        access::MailProcessOptions opts;
        opts.close_fds.push_back(server::proto::kStatusFd);
        for (int i = 0; i < ctx.options().listen_count; ++i) opts.close_fds.push_back(server::proto::kListenFdStart + i);
        auto mail = access::MailProcesses::start(std::move(opts), start_mail_session);
        if (!mail) return mail.error();
        g_mail = std::move(*mail);
        return ok_status();
    };
    spec.post_jail_init = [](server::ServerContext& ctx) -> Status {
        std::shared_ptr<tls::ServerContext> tls;
        if (g_config->tls.enabled()) {
            auto made = tls::ServerContext::create(g_config->tls);  // the key may be root's alone
            if (!made) {
                log::warn("%s: disabling TLS support", made.error().message.c_str());
            } else {
                tls = std::move(*made);
            }
        }
        if (auto st = drop_to_mail_owner(); !st) return st;
        g_server = std::make_unique<imapd::ImapServer>(ctx.loop(), *g_config, std::move(tls));
        g_server->set_mail_processes(g_mail.get());
        return ok_status();
    };
    // Mail store work runs in the mail processes, off this loop: one login
    // process serves many sessions. Its mail processes end with it, and a
    // handed-over session no longer holds its Connection open, so max_use
    // and max_idle would end a login process (and with it every IDLE
    // session it handed over) at its 100th client: it lives until master
    // stops it.
    spec.long_lived = true;
    spec.on_connection = [](server::ServerContext&, server::Connection conn) { g_server->accept(std::move(conn)); };
    spec.on_exit = [](server::ServerContext&) {
        g_server.reset();
        g_mail.reset();
    };
    spec.parameters = {"login_greeting", "disable_plaintext_auth", "auth_mechanisms", "login_trusted_networks",
                       "mail_max_userip_connections", "mail_location", "imap_max_line_length",
                       "imap_idle_notify_interval", "imap_idle_timeout", "imap_tls_wrappermode", "imap_authd_path",
                       "authd_client_timeout", "auth_failure_delay", "message_size_limit", "ssl", "ssl_cert",
                       "ssl_key"};
    return server::run_multi_server(argc, argv, std::move(spec));
}
