// main.cc - pop3d: the POP3 server (RFC 1939, 2449, 2595, 3206, 5034).
//
// Summary
//   A multi server (master.cf: "pop3 inet n - n - - pop3d", and "pop3s"
//   with -o pop3_tls_wrappermode=yes) on one event loop: the login part of
//   many sessions. Authentication goes to authd over its UNIX socket
//   ($queue_directory/private/authd, pop3_authd_path). Once authd accepted
//   a user the session goes to a mail process running as the user's
//   uid/gid, which reads the mail from authd's MAILDIR= or mail_location
//   (lib/access/mail_process.h, docs/mail-access.md).
//
// Security
//   Started as root (a privileged instance), pop3d forks its mail broker
//   before anything is read from a client, then runs as mail_owner; the
//   broker stays root only to start mail processes, which run as the
//   user (never root). Lines are bounded (kMaxPop3Line), the session ends
//   after twenty bad commands or pop3_idle_timeout.
#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "lib/access/mail_process.h"
#include "lib/log/log.h"
#include "lib/server/master_proto.h"
#include "lib/server/server.h"
#include "lib/util/strings.h"
#include "pop3d/pop3_server.h"

using namespace mailroom;

namespace {
std::unique_ptr<pop3d::Pop3Server> g_server;       // the login part
std::unique_ptr<pop3d::Pop3Server> g_mail_server;  // in a mail process
std::unique_ptr<access::MailProcesses> g_mail;
std::optional<pop3d::Pop3Config> g_config;
std::optional<std::pair<uid_t, gid_t>> g_owner;  // mail_owner, when pop3d drops to it itself

// In a mail process (forked by the broker), for each session handed over.
void start_mail_session(event::Loop& loop, access::Handoff handoff, util::UniqueFd fd, std::function<void()> done) {
    if (!g_mail_server) {
        pop3d::Pop3Config cfg = *g_config;
        cfg.login.max_userip = 0;  // the login process counts
        g_mail_server = std::make_unique<pop3d::Pop3Server>(loop, std::move(cfg), nullptr);
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
    spec.program = "pop3d";
    spec.pre_jail_init = [](server::ServerContext& ctx) -> Status {
        auto cfg = pop3d::Pop3Config::from_config(ctx.config());
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
        g_server = std::make_unique<pop3d::Pop3Server>(ctx.loop(), *g_config, std::move(tls));
        g_server->set_mail_processes(g_mail.get());
        return ok_status();
    };
    // Mailbox work runs in the mail processes, off this loop: one login
    // process serves many sessions (those handed over count until their
    // mail process reports them over).
    spec.sessions_per_process = 100;
    spec.on_connection = [](server::ServerContext&, server::Connection conn) { g_server->accept(std::move(conn)); };
    spec.on_exit = [](server::ServerContext&) {
        g_server.reset();
        g_mail.reset();
    };
    spec.parameters = {"login_greeting", "disable_plaintext_auth", "auth_mechanisms", "login_trusted_networks",
                       "mail_max_userip_connections", "mail_location", "pop3_uidl_format", "pop3_idle_timeout",
                       "pop3_tls_wrappermode", "pop3_authd_path", "authd_client_timeout", "auth_failure_delay", "ssl", "ssl_cert",
                       "ssl_key"};
    return server::run_multi_server(argc, argv, std::move(spec));
}
