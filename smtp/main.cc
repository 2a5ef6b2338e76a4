// main.cc - smtp and lmtp: the delivery agent that carries mail to other
// hosts over SMTP, or to a mailbox server over LMTP.
//
// Summary
//   A multi server on private/<service> (master.cf "smtp", "relay",
//   "lmtp"). Every connection from qmgr is one delivery request, served on
//   the event loop (lib/agent/agent_event_server.h) so that one process
//   carries many deliveries at once. As in Postfix, the program name
//   "lmtp" (a link to smtp; master.cf "lmtp unix - - n - - lmtp") or the
//   service name "lmtp" selects LMTP and the lmtp_ parameters; anything
//   else SMTP and the smtp_ ones.
#include <memory>
#include <string>

#include "lib/agent/agent_event_server.h"
#include "lib/log/log.h"
#include "lib/server/server.h"
#include "smtp/smtp_delivery.h"
#include "smtp/smtp_settings.h"

using namespace mailroom;

namespace {

struct State {
    smtp_agent::AgentContext context;
    std::unique_ptr<agent::EventAgentServer> server;
};

}  // namespace

int main(int argc, char** argv) {
    auto state = std::make_shared<State>();
    const bool lmtp_program = server::basename_of(argc > 0 ? argv[0] : nullptr) == "lmtp";
    server::ServiceSpec spec;
    spec.program = lmtp_program ? "lmtp" : "smtp";
    spec.parameters = smtp_agent::agent_parameters();
    for (auto name : smtp_route::RouterConfig::parameters()) spec.parameters.push_back(name);
    for (auto name : smtp_agent::CacheSettings::parameters()) spec.parameters.push_back(name);
    // The password table is normally readable by root only.
    spec.pre_jail_init = [state, lmtp_program](server::ServerContext& ctx) -> Status {
        auto settings =
            smtp_agent::AgentSettings::from_config(ctx.config(), lmtp_program ? "lmtp" : ctx.service_name());
        if (!settings) return settings.error();
        state->context.settings = std::move(*settings);
        auto& s = state->context.settings;
        if (s.sasl.enable) {
            if (auto st = smtp_agent::sasl_client_setup(); !st) return st;
            if (!s.sasl_password_maps.empty()) {
                auto maps = table::Maps::open(s.sasl_password_maps);
                if (!maps) return make_error(s.prefix + "_sasl_password_maps: " + maps.error().message);
                state->context.sasl_passwords = std::move(*maps);
            }
        }
        return ok_status();
    };
    spec.post_jail_init = [state](server::ServerContext& ctx) -> Status {
        auto& s = state->context.settings;
        auto route = smtp_route::RouterConfig::from_config(ctx.config(), s.protocol == smtp::ClientProtocol::kLmtp);
        if (!route) return route.error();
        state->context.router = std::make_unique<smtp_route::Router>(ctx.loop(), std::move(*route));
        auto cache = smtp_agent::CacheSettings::from_config(ctx.config(), s.prefix);
        if (!cache) return cache.error();
        state->context.cache = std::make_unique<smtp_agent::SessionCache>(ctx.loop(), std::move(*cache));
        if (!s.tls_policy_maps.empty()) {
            auto maps = table::Maps::open(s.tls_policy_maps);
            if (!maps) return make_error(s.prefix + "_tls_policy_maps: " + maps.error().message);
            state->context.tls_policy = std::move(*maps);
        }
        if (s.tls_level != tls::ClientLevel::kNone || !state->context.tls_policy.empty()) {
            auto tls = tls::ClientContext::create(s.tls);
            if (tls) state->context.tls = *tls;
            else state->context.tls_error = tls.error().message;
        }
        state->server = std::make_unique<agent::EventAgentServer>(
            ctx.loop(), ctx.config(),
            [state, &loop = ctx.loop()](const deliver::DeliveryRequest& request,
                                        std::shared_ptr<const agent::MessageCopy> message, agent::EventDone done) {
                smtp_agent::start_delivery(loop, state->context, request, std::move(message), std::move(done));
            });
        return ok_status();
    };
    spec.on_connection = [state](server::ServerContext&, server::Connection conn) {
        state->server->serve(std::move(conn));
    };
    spec.on_exit = [state](server::ServerContext&) {
        state->server.reset();
        state->context.cache.reset();
        state->context.router.reset();
    };
    return server::run_multi_server(argc, argv, std::move(spec));
}
