// main.cc - anvil: connection count and request rate bookkeeping.
//
// Summary
//   A multi server (master.cf: "anvil unix - - n - 1 anvil") on
//   private/anvil. smtpd processes keep a connection to it and report
//   connects, disconnects, messages and recipients per client; anvil
//   answers with the current count and rates (anvil_server.h,
//   docs/anvil-protocol.md). One process holds all the state, so it is
//   long-lived: no max_idle or max_use exit while it may still hold rates;
//   after a reload (master's drain signal) it exits at once and its clients
//   reconnect to the new process.
//   Parameters: anvil_rate_time_unit, anvil_status_update_time.
//
// Security
//   Talks only to local daemons over a private socket, runs as mail_owner
//   (chrooted when master.cf says so) and keeps no files. Its memory is
//   bounded by the entry limit of AnvilState.
#include <memory>

#include "anvil/anvil_server.h"
#include "lib/log/log.h"
#include "lib/server/server.h"

using namespace mailroom;

namespace {
std::unique_ptr<anvil::AnvilServer> g_server;
}

int main(int argc, char** argv) {
    server::ServiceSpec spec;
    spec.program = "anvil";
    spec.long_lived = true;
    // After a reload the smtpd processes reconnect to a fresh anvil.
    spec.exit_on_drain = true;
    spec.post_jail_init = [](server::ServerContext& ctx) -> Status {
        auto cfg = anvil::AnvilConfig::from_config(ctx.config());
        if (!cfg) return cfg.error();
        g_server = std::make_unique<anvil::AnvilServer>(ctx.loop(), *cfg);
        return ok_status();
    };
    spec.on_connection = [](server::ServerContext&, server::Connection conn) { g_server->accept(std::move(conn)); };
    spec.on_exit = [](server::ServerContext&) {
        if (g_server) g_server->log_statistics();
        g_server.reset();
    };
    // The parameters this service reads (besides the skeleton's).
    spec.parameters = {
        "anvil_rate_time_unit", "anvil_status_update_time"};
    return server::run_multi_server(argc, argv, std::move(spec));
}
