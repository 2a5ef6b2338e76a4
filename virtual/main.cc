// main.cc - virtual: delivery to virtual mailboxes.
//
// Summary
//   A single server for the master.cf "virtual" service (unpriv = n, so it
//   keeps root to take the mapped uid/gid for each delivery, as effective
//   ids in the process itself: agent_identity.h). A connection from qmgr
//   carries one or more delivery requests, and one process serves max_use
//   of them (agent_server.h);
//   virtual_deliver.h does the work with the settings and tables of
//   virtual_config.h.
#include "lib/agent/agent_server.h"
#include "lib/log/log.h"
#include "lib/server/server.h"
#include "virtual/virtual_config.h"

using namespace mailroom;

namespace {

virt::VirtualRuntime g_runtime;

}  // namespace

int main(int argc, char** argv) {
    server::ServiceSpec spec;
    spec.program = "virtual";
    spec.pre_jail_init = [](server::ServerContext& ctx) -> Status {
        auto rt = virt::load_virtual_runtime(ctx.config());
        if (!rt) return rt.error();
        g_runtime = std::move(*rt);
        return ok_status();
    };
    spec.on_connection = [](server::ServerContext& ctx, server::Connection conn) {
        auto reuse = agent::request_budget(ctx);
        agent::serve_agent_connection(conn.fd(), ctx.config(), ctx.service_name(),
                                      [](const agent::Job& job, const agent::MessageCopy& message) {
                                          return virt::virtual_deliver(job, message, g_runtime.settings,
                                                                       g_runtime.maps, std::time(nullptr));
                                      },
                                      &reuse);
    };
    // The parameters this service reads (besides the skeleton's).
    spec.parameters = {
        "deliver_lock_attempts", "deliver_lock_delay", "recipient_delimiter", "stale_lock_time",
        "virtual_create_maildirsize", "virtual_gid_maps", "virtual_mailbox_base", "virtual_mailbox_extended",
        "virtual_mailbox_limit", "virtual_mailbox_limit_maps", "virtual_mailbox_limit_override",
        "virtual_mailbox_lock", "virtual_mailbox_maps", "virtual_maildir_extended",
        "virtual_maildir_limit_message", "virtual_minimum_uid", "virtual_overquota_bounce",
        "virtual_trash_count", "virtual_uid_maps"};
    return server::run_single_server(argc, argv, std::move(spec));
}
