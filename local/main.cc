// main.cc - local: delivery to local users.
//
// Summary
//   A single server for the master.cf "local" service (unpriv = n, so it
//   keeps root to take each recipient's identity). A connection from qmgr
//   carries one or more delivery requests (agent_server.h); local_deliver.h does the work, with the
//   settings and tables of local_config.h, and forwards non-local alias
//   and .forward destinations through cleanup (local_forward.h).
#include "lib/agent/agent_server.h"
#include "lib/log/log.h"
#include "lib/server/server.h"
#include "local/local_config.h"
#include "local/local_forward.h"

using namespace mailroom;

namespace {

local::LocalRuntime g_runtime;

}  // namespace

int main(int argc, char** argv) {
    server::ServiceSpec spec;
    spec.program = "local";
    spec.pre_jail_init = [](server::ServerContext& ctx) -> Status {
        auto rt = local::load_local_context(ctx.config());
        if (!rt) return rt.error();
        g_runtime = std::move(*rt);
        std::string queue_dir = ctx.config().get("queue_directory").ok() ? *ctx.config().get("queue_directory") : "";
        int timeout_ms = ctx.ipc_timeout_ms();
        g_runtime.context.forward = [queue_dir, timeout_ms](const agent::Job& job, const agent::MessageCopy& message,
                                                         const std::string& sender, const std::string& delivered_to,
                                                         const std::vector<std::string>& addresses) {
            return local::forward_via_cleanup(queue_dir, timeout_ms, job, message, sender,
                                              delivered_to, addresses);
        };
        return ok_status();
    };
    spec.on_connection = [](server::ServerContext& ctx, server::Connection conn) {
        auto reuse = agent::request_budget(ctx);
        agent::serve_agent_connection(conn.fd(), ctx.config(), ctx.service_name(),
                                      [](const agent::Job& job, const agent::MessageCopy& message) {
                                          return local::local_deliver(job, message, g_runtime.context,
                                                                      std::time(nullptr));
                                      },
                                      &reuse);
    };
    // The parameters this service reads (besides the skeleton's).
    spec.parameters = {
        "double_bounce_sender",
        "alias_maps", "allow_mail_to_commands", "allow_mail_to_files", "command_time_limit", "default_privs",
        "deliver_lock_attempts", "deliver_lock_delay", "forward_path", "home_mailbox", "local_command_shell",
        "luser_relay", "mail_spool_directory", "mailbox_command", "mailbox_delivery_lock",
        "mailbox_size_limit", "mydestination", "myorigin", "owner_request_special", "recipient_delimiter", "stale_lock_time"};
    return server::run_single_server(argc, argv, std::move(spec));
}
