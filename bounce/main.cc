// main.cc - bounce: per-recipient status logs and delivery status notifications.
//
// Summary
//   A single server run as three master.cf services, bounce, defer and
//   trace, on private/SERVICE; the service name (-n) says which logfile
//   queue it keeps. See bounce_service.h for the requests and
//   docs/bounce-protocol.md for the protocol. Parameters:
//   queue_directory, myhostname, myorigin, bounce_size_limit,
//   2bounce_notice_recipient, double_bounce_sender,
//   maximal_queue_lifetime, ipc_timeout.
#include <memory>

#include "bounce/bounce_service.h"
#include "lib/log/log.h"
#include "lib/server/server.h"

using namespace mailroom;

namespace {
std::unique_ptr<bounce::BounceService> g_service;
int g_timeout_ms = 3600 * 1000;
}  // namespace

int main(int argc, char** argv) {
    server::ServiceSpec spec;
    spec.program = "bounce";
    spec.post_jail_init = [](server::ServerContext& ctx) -> Status {
        auto cfg = bounce::load_bounce_config(ctx.config());
        if (!cfg) return cfg.error();
        g_timeout_ms = cfg->ipc_timeout_ms;
        g_service = std::make_unique<bounce::BounceService>(std::move(*cfg), ctx.service_name());
        return ok_status();
    };
    spec.on_connection = [](server::ServerContext&, server::Connection conn) {
        if (auto st = bounce::serve_bounce(conn.fd(), g_timeout_ms, *g_service); !st)
            log::warn("%s", st.error().message.c_str());
    };
    spec.on_exit = [](server::ServerContext&) { g_service.reset(); };
    // The parameters this service reads (besides the skeleton's).
    spec.parameters = {
        "2bounce_notice_recipient", "bounce_size_limit", "double_bounce_sender", "maximal_queue_lifetime",
        "myhostname", "myorigin"};
    return server::run_single_server(argc, argv, std::move(spec));
}
