// main.cc - pickup: hand locally submitted mail from maildrop/ to cleanup.
//
// Summary
//   A trigger server on public/pickup (master.cf: wakeup 60, maxproc 1).
//   postdrop wakes it after each new file; master's wakeup catches
//   anything missed. Every wakeup scans maildrop/ (pickup_core.h).
#include "lib/log/log.h"
#include "lib/submit/cleanup_proto.h"
#include "lib/server/server.h"
#include "pickup/pickup_core.h"

using namespace mailroom;

namespace {
pickup::PickupConfig g_config;
}

int main(int argc, char** argv) {
    server::ServiceSpec spec;
    spec.program = "pickup";
    spec.post_jail_init = [](server::ServerContext& ctx) -> Status {
        auto q = ctx.config().get("queue_directory");
        if (!q) return q.error();
        g_config.layout.queue_directory = *q;
        g_config.timeout_ms = ctx.ipc_timeout_ms();
        auto f = ctx.config().get("content_filter");
        if (!f) return f.error();
        g_config.content_filter = *f;
        auto ro_text = ctx.config().get("receive_override_options");
        if (!ro_text) return ro_text.error();
        auto ro = submit::parse_receive_override_options(*ro_text);
        if (!ro) return ro.error();
        g_config.cleanup_flags = ro->cleanup_flags;
        // cleanup runs non_smtpd_milters for local submissions.
        if (!ro->no_milters) g_config.cleanup_flags |= submit::kCleanupFlagMilters;
        return ok_status();
    };
    spec.on_trigger = [](server::ServerContext&, std::string_view) { (void)pickup::pickup_scan(g_config); };
    // The parameters this service reads (besides the skeleton's).
    spec.parameters = {
        "content_filter", "receive_override_options"};
    return server::run_trigger_server(argc, argv, std::move(spec));
}
