// main.cc - error: the delivery agent that always fails.
//
// Summary
//   A single server on private/error (master.cf). For each connection from
//   qmgr it reads one delivery request (lib/deliver) and reports every
//   recipient as bounced (5.0.0) with the nexthop text as the reason, as
//   Postfix's error(8) does.
#include "error/error_agent.h"
#include "lib/deliver/deliver_ipc.h"
#include "lib/log/log.h"
#include "lib/server/server.h"

using namespace mailroom;

int main(int argc, char** argv) {
    server::ServiceSpec spec;
    spec.program = "error";
    spec.on_connection = [](server::ServerContext& ctx, server::Connection conn) {
        auto st = deliver::serve_logged_delivery(conn.fd(), ctx.ipc_timeout_ms(), error_agent::error_reply);
        if (!st) log::warn("%s", st.error().message.c_str());
    };
    return server::run_single_server(argc, argv, std::move(spec));
}
