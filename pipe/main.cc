// main.cc - pipe: delivery to external commands.
//
// Summary
//   A single server on the master.cf service that names it, e.g.
//     maildrop unix - n n - - pipe
//       flags=DRhu user=vmail argv=/usr/bin/maildrop -d ${recipient}
//   The service arguments (pipe_args.h) are checked at start-up; a bad
//   entry is fatal, so master throttles the service. Each connection is
//   one delivery request from qmgr (pipe_deliver.h).
//
// Security
//   Runs as root when master.cf says so (unpriv = n), only to run the
//   command as user=; it never runs a command as root.
#include <cstdlib>

#include "lib/address/resolve.h"
#include "lib/agent/agent_server.h"
#include "lib/config/params.h"
#include "lib/log/log.h"
#include "lib/server/server.h"
#include "pipe/pipe_deliver.h"

using namespace mailroom;

namespace {

pipe::PipeService g_service;

std::vector<std::string> command_environment(const config::Config& config) {
    std::vector<std::string> env;
    for (const char* name : {"TZ", "LANG"})
        if (const char* v = std::getenv(name)) env.push_back(std::string(name) + "=" + v);
    env.push_back("MAIL_CONFIG=" + config.config_dir());
    return env;
}

}  // namespace

int main(int argc, char** argv) {
    server::ServiceSpec spec;
    spec.program = "pipe";
    spec.pre_jail_init = [](server::ServerContext& ctx) -> Status {
        auto args = pipe::parse_pipe_args(ctx.options().args);
        if (!args) return args.error();
        g_service.args = std::move(*args);
        auto id = pipe::resolve_pipe_identity(g_service.args);
        if (!id) return id.error();
        g_service.identity = *id;
        const auto& config = ctx.config();
        long long limit = 1000;
        if (auto own = config.raw(ctx.service_name() + "_time_limit")) {
            auto t = config::parse_time_param(ctx.service_name() + "_time_limit", *own, 's', nullptr);
            if (!t) return t.error();
            limit = *t;
        } else if (auto t = config.get_time("command_time_limit"); t.ok()) {
            limit = *t;
        }
        g_service.time_limit_seconds = static_cast<long>(limit);
        auto ext = address::read_extension_settings(config);
        if (!ext) return ext.error();
        g_service.extension = std::move(*ext);
        std::string limit_name = ctx.service_name() + "_destination_recipient_limit";
        if (auto own = config.raw(limit_name)) {
            auto n = config::parse_int_param(limit_name, *own, nullptr);
            if (!n) return n.error();
            g_service.recipient_limit = static_cast<std::size_t>(*n);
        } else if (auto n = config.get_int("default_destination_recipient_limit"); n.ok()) {
            g_service.recipient_limit = static_cast<std::size_t>(*n);
        }
        g_service.env = command_environment(config);
        return ok_status();
    };
    spec.on_connection = [](server::ServerContext& ctx, server::Connection conn) {
        agent::serve_agent_connection(conn.fd(), ctx.config(), ctx.service_name(),
                                      [](const agent::Job& job, const agent::MessageCopy& message) {
                                          return pipe::pipe_deliver(job, message, g_service, std::time(nullptr));
                                      });
    };
    // The parameters this service reads (besides the skeleton's).
    spec.parameters = {
        "command_time_limit", "default_destination_recipient_limit", "double_bounce_sender",
        "owner_request_special", "recipient_delimiter"};
    return server::run_single_server(argc, argv, std::move(spec));
}
