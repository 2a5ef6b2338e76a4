// main.cc - discard: the delivery agent that delivers nothing.
//
// Summary
//   A single server on private/discard (master.cf). For each connection
//   from qmgr it reads delivery requests (lib/deliver; several per
//   connection, max_use per process: agent_server.h) and reports
//   every recipient as sent, with the nexthop text or "discarded" as the
//   reason, as Postfix's discard(8) does.
#include "discard/discard_agent.h"
#include "lib/agent/agent_server.h"
#include "lib/deliver/deliver_ipc.h"
#include "lib/log/log.h"
#include "lib/server/server.h"

using namespace mailroom;

int main(int argc, char** argv) {
    server::ServiceSpec spec;
    spec.program = "discard";
    spec.on_connection = [](server::ServerContext& ctx, server::Connection conn) {
        auto reuse = agent::request_budget(ctx);
        auto st = deliver::serve_logged_delivery(conn.fd(), ctx.ipc_timeout_ms(), discard::discard_reply, &reuse);
        if (!st) log::warn("%s", st.error().message.c_str());
    };
    return server::run_single_server(argc, argv, std::move(spec));
}
