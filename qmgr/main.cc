// main.cc - qmgr: the queue manager.
//
// Summary
//   A long-lived trigger server on public/qmgr (master.cf: wakeup 300,
//   maxproc 1). cleanup wakes it after each new message; postqueue -f and
//   postsuper wake it too. See qmgr_queue.h for what it does, and
//   qmgr_transport.h for how recipients are routed. Parameters:
//   queue_directory, mydestination, relay_domains, local_transport,
//   relay_transport, default_transport, transport_maps,
//   minimal_backoff_time, maximal_backoff_time, queue_run_delay,
//   delay_warning_time, maximal_queue_lifetime, bounce_queue_lifetime,
//   default_destination_concurrency_limit, default_destination_recipient_limit
//   and each transport's TRANSPORT_destination_concurrency_limit and
//   TRANSPORT_destination_recipient_limit, default_destination_rate_delay and
//   TRANSPORT_destination_rate_delay, default_process_limit (and each
//   transport's maxproc in master.cf), ipc_timeout.
#include <memory>

#include "lib/log/log.h"
#include "lib/server/server.h"
#include "qmgr/qmgr_queue.h"

using namespace mailroom;

namespace {
std::unique_ptr<qmgr::QueueManager> g_qmgr;
}

int main(int argc, char** argv) {
    server::ServiceSpec spec;
    spec.program = "qmgr";
    spec.long_lived = true;
    spec.post_jail_init = [](server::ServerContext& ctx) -> Status {
        auto cfg = qmgr::load_qmgr_config(ctx.config());
        if (!cfg) return cfg.error();
        g_qmgr = std::make_unique<qmgr::QueueManager>(ctx.loop(), std::move(*cfg));
        return g_qmgr->start();
    };
    spec.on_trigger = [](server::ServerContext&, std::string_view request) { g_qmgr->on_trigger(request); };
    spec.on_exit = [](server::ServerContext&) { g_qmgr.reset(); };
    // The parameters this service reads (besides the skeleton's).
    spec.parameters = {
        "double_bounce_sender",
        "allow_percent_hack", "allow_untrusted_routing", "bounce_queue_lifetime", "default_process_limit",
        "default_transport", "delay_warning_time", "empty_address_recipient", "inet_interfaces",
        "local_transport", "maximal_backoff_time", "maximal_queue_lifetime", "minimal_backoff_time",
        "mydestination", "myhostname", "myorigin", "owner_request_special", "proxy_interfaces",
        "queue_run_delay", "recipient_delimiter", "relay_domains", "relay_transport",
        "resolve_dequoted_address", "resolve_numeric_domain", "swap_bangpath", "transport_maps",
        "virtual_alias_domains", "virtual_mailbox_domains", "virtual_transport"};
    return server::run_trigger_server(argc, argv, std::move(spec));
}
