// main.cc - cleanup: canonicalise a new message and write its queue file.
//
// Summary
//   A multi server on private/cleanup (public/cleanup for local clients).
//   Each connection carries one message in the cleanup protocol
//   (lib/submit/cleanup_proto.h); see cleanup_session.h and
//   cleanup_message.h for what is done to it. Parameters: myhostname,
//   myorigin, message_size_limit, header_size_limit, ipc_timeout,
//   queue_directory.
//
// Security
//   Runs as mail_owner; reads only what clients send, bounded per record
//   and per header.
#include "cleanup/cleanup_session.h"
#include "lib/log/log.h"
#include "lib/server/server.h"

using namespace mailroom;

namespace {
cleanup::CleanupConfig g_config;
}

int main(int argc, char** argv) {
    server::ServiceSpec spec;
    spec.program = "cleanup";
    spec.post_jail_init = [](server::ServerContext& ctx) -> Status {
        auto cfg = cleanup::load_cleanup_config(ctx.config());
        if (!cfg) return cfg.error();
        g_config = std::move(*cfg);
        return ok_status();
    };
    spec.on_connection = [](server::ServerContext& ctx, server::Connection conn) {
        cleanup::start_session(ctx.loop(), g_config, std::move(conn));
    };
    spec.on_exit = [](server::ServerContext&) { cleanup::shutdown_sessions(); };
    // The parameters this service reads (besides the skeleton's).
    spec.parameters = {
        "double_bounce_sender",
        "allow_percent_hack", "allow_untrusted_routing", "body_checks", "canonical_classes", "canonical_maps",
        "disable_mime_input_processing", "empty_address_recipient", "header_checks", "header_size_limit",
        "inet_interfaces", "masquerade_classes", "masquerade_domains", "masquerade_exceptions",
        "message_size_limit", "mime_boundary_length_limit", "mime_header_checks", "mime_nesting_limit",
        "mydestination", "myhostname", "myorigin", "nested_header_checks", "owner_request_special",
        "propagate_unmatched_extensions", "proxy_interfaces", "recipient_canonical_classes",
        "recipient_canonical_maps", "recipient_delimiter", "resolve_dequoted_address",
        "resolve_numeric_domain", "sender_canonical_classes", "sender_canonical_maps", "swap_bangpath",
        "virtual_alias_expansion_limit", "virtual_alias_maps", "virtual_alias_recursion_limit"};
    spec.parameters.insert(spec.parameters.end(), milter::kMilterParameters.begin(), milter::kMilterParameters.end());
    return server::run_multi_server(argc, argv, std::move(spec));
}
