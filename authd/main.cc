// main.cc - authd: the authentication daemon (courier's authdaemond protocol).
//
// Summary
//   A multi server (master.cf: "authd unix - - n - - authd") on
//   private/authd, or on any absolute path master.cf names (such as
//   courier's /run/courier/authdaemon/socket, which maildrop has compiled
//   in). It answers user lookups, authentications, password changes and
//   user lists from the modules of authd_modules (authd_server.h).
//   Parameters: authd_modules, auth_cache_size, auth_cache_ttl,
//   auth_cache_negative_ttl, auth_failure_delay, auth_username_format,
//   auth_default_realm.
//
// Security
//   The module files (an authmysqlrc holds the database password) are
//   read before the privilege drop, so they may stay readable by root
//   only; every request is parsed after it. Reading /etc/shadow needs
//   root: the `shadow` module authenticates only when master.cf runs
//   authd with unpriv `n`. Requests are bounded by the protocol decoder's
//   limits.
#include <memory>

#include "authd/authd_server.h"
#include "lib/log/log.h"
#include "lib/server/server.h"

using namespace mailroom;

namespace {
std::unique_ptr<auth::AuthChain> g_chain;
std::unique_ptr<authd::AuthdServer> g_server;
}  // namespace

int main(int argc, char** argv) {
    server::ServiceSpec spec;
    spec.program = "authd";
    spec.pre_jail_init = [](server::ServerContext& ctx) -> Status {
        auto cfg = authd::AuthdConfig::from_config(ctx.config());
        if (!cfg) return cfg.error();
        auto chain = auth::AuthChain::open(cfg->authd_modules);
        if (!chain) return chain.error();
        g_chain = std::move(*chain);
        return ok_status();
    };
    spec.post_jail_init = [](server::ServerContext& ctx) -> Status {
        auto cfg = authd::AuthdConfig::from_config(ctx.config());
        if (!cfg) return cfg.error();
        g_server = std::make_unique<authd::AuthdServer>(ctx.loop(), *cfg, std::move(g_chain));
        return ok_status();
    };
    spec.on_connection = [](server::ServerContext&, server::Connection conn) { g_server->accept(std::move(conn)); };
    spec.on_exit = [](server::ServerContext&) { g_server.reset(); };
    spec.parameters = {"authd_modules",      "auth_cache_size",      "auth_cache_ttl",    "auth_cache_negative_ttl",
                       "auth_failure_delay", "auth_username_format", "auth_default_realm"};
    return server::run_multi_server(argc, argv, std::move(spec));
}
