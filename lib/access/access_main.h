// access_main.h - the process setup pop3d and imapd share: a multi server
// whose login part hands sessions to per-user mail processes.
//
// Summary
//   setup_access_server<Server, Config>(spec) fills a ServiceSpec's
//   pre_jail_init, post_jail_init, on_connection and on_exit:
//   - pre_jail_init reads Config::from_config(), and, started as root with
//     master.cf's unpriv column "n", looks up mail_owner; then it forks the
//     mail broker (MailProcesses::start) before any client byte is read.
//   - post_jail_init loads the TLS key (it may be root's alone), drops to
//     mail_owner, and makes the login-part Server.
//   - in a mail process, the first session handed over makes a second
//     Server (no user+IP counting: the login process counts) that adopts
//     each session.
//   The caller sets the program name, the parameters and the concurrency
//   policy (sessions_per_process or long_lived).
//
// Requirements on Server and Config
//   Config::from_config(const config::Config&) -> Result<Config>, with
//   members `tls` (tls::ServerPolicy) and `login.max_userip`. Server(loop,
//   Config, shared_ptr<tls::ServerContext>), set_mail_processes(),
//   accept(server::Connection), adopt(Handoff, UniqueFd, function<void()>).
#pragma once

#include <sys/types.h>

#include <functional>
#include <memory>
#include <optional>
#include <utility>

#include "lib/access/mail_process.h"
#include "lib/server/server.h"
#include "lib/tls/tls.h"
#include "lib/util/result.h"

namespace mailroom::access {

// mail_owner's uid/gid when this process is root in a master.cf service
// with unpriv "n" (it then drops to it itself, after forking the broker);
// nullopt otherwise. Refuses an unknown or super-user mail_owner.
Result<std::optional<std::pair<uid_t, gid_t>>> login_owner(server::ServerContext& ctx);

// setgroups/setgid/setuid to `owner` (nothing when nullopt), and checks
// that root cannot be regained.
Status drop_to(const std::optional<std::pair<uid_t, gid_t>>& owner);

// The broker's options: it closes master's status and listening descriptors.
MailProcessOptions broker_options(server::ServerContext& ctx);

// The login part's TLS context, or nullptr (with a warning) when the
// policy is off or the certificate cannot be loaded.
std::shared_ptr<tls::ServerContext> login_tls(const tls::ServerPolicy& policy);

template <class Server, class Config>
struct AccessServerState {
    static inline std::unique_ptr<Server> login;        // the login part
    static inline std::unique_ptr<Server> mail_server;  // in a mail process
    static inline std::unique_ptr<MailProcesses> mail;
    static inline std::optional<Config> config;
    static inline std::optional<std::pair<uid_t, gid_t>> owner;
};

template <class Server, class Config>
void setup_access_server(server::ServiceSpec& spec) {
    using S = AccessServerState<Server, Config>;
    spec.pre_jail_init = [](server::ServerContext& ctx) -> Status {
        auto cfg = Config::from_config(ctx.config());
        if (!cfg) return cfg.error();
        S::config = std::move(*cfg);
        auto owner = login_owner(ctx);
        if (!owner) return owner.error();
        S::owner = *owner;
        auto mail = MailProcesses::start(broker_options(ctx), [](event::Loop& loop, Handoff handoff,
                                                                   util::UniqueFd fd, std::function<void()> done) {
            if (!S::mail_server) {
                Config c = *S::config;
                c.login.max_userip = 0;  // the login process counts
                S::mail_server = std::make_unique<Server>(loop, std::move(c), nullptr);
            }
            S::mail_server->adopt(std::move(handoff), std::move(fd), std::move(done));
        });
        if (!mail) return mail.error();
        S::mail = std::move(*mail);
        return ok_status();
    };
    spec.post_jail_init = [](server::ServerContext& ctx) -> Status {
        std::shared_ptr<tls::ServerContext> tls = login_tls(S::config->tls);
        if (auto st = drop_to(S::owner); !st) return st;
        S::login = std::make_unique<Server>(ctx.loop(), *S::config, std::move(tls));
        S::login->set_mail_processes(S::mail.get());
        return ok_status();
    };
    spec.on_connection = [](server::ServerContext&, server::Connection conn) { S::login->accept(std::move(conn)); };
    spec.on_exit = [](server::ServerContext&) {
        S::login.reset();
        S::mail.reset();
    };
}

}  // namespace mailroom::access
