// agent_server.cc - see agent_server.h.
#include "lib/config/common_params.h"
#include "lib/agent/agent_server.h"

#include "lib/agent/agent_identity.h"
#include "lib/deliver/deliver_ipc.h"
#include "lib/deliver/deliver_log.h"
#include "lib/log/log.h"

#include <algorithm>

namespace mailroom::agent {

namespace {

// The longest an agent waits for qmgr's next request on a connection.
constexpr int kReuseIdleMs = 30 * 1000;

deliver::DeliveryStatus wire_status(OutcomeKind kind) {
    switch (kind) {
        case OutcomeKind::kSent: return deliver::DeliveryStatus::kSent;
        case OutcomeKind::kBounced: return deliver::DeliveryStatus::kBounced;
        case OutcomeKind::kDeferred: break;
    }
    return deliver::DeliveryStatus::kDeferred;
}

// The wire protocol insists that the status digit matches the class.
std::string normal_dsn(OutcomeKind kind, const std::string& dsn) {
    char want = kind == OutcomeKind::kSent ? '2' : kind == OutcomeKind::kDeferred ? '4' : '5';
    if (dsn.empty() || dsn[0] != want) return std::string(1, want) + (want == '2' ? ".0.0" : ".3.0");
    return dsn;
}

Outcome normalise(Outcome o) {
    o.dsn = normal_dsn(o.kind, o.dsn);
    return o;
}

// The log lines for one recipient: the outcome itself, or each part of
// its expansion with the request's recipient as orig_to=.
void log_outcome(const deliver::DeliveryRequest& request, const deliver::DeliveryRecipient& recipient,
                 const deliver::RecipientResult& result, const Outcome& outcome, const deliver::DeliveryTimes& times) {
    if (outcome.parts.empty()) {
        deliver::log_delivery(request, recipient, result, times);
        return;
    }
    std::string original = recipient.orig_recipient.empty() ? recipient.address : recipient.orig_recipient;
    for (const auto& part : outcome.parts) {
        deliver::DeliveryRecipient shown = recipient;
        shown.address = part.to.empty() ? recipient.address : part.to;
        shown.orig_recipient = original;
        deliver::RecipientResult line = result;
        line.status = wire_status(part.kind);
        line.dsn = normal_dsn(part.kind, part.dsn);
        line.reason = part.text;
        deliver::log_delivery(request, shown, line, times);
    }
}

}  // namespace

deliver::ConnectionReuse request_budget(server::ServerContext& ctx) {
    // Requests served by this process over all its connections.
    static long long served = 0;
    auto use = ctx.config().get_int("max_use");
    long long max_use = use ? *use : 100;
    deliver::ConnectionReuse reuse;
    // qmgr closes an idle connection long before this.
    reuse.idle_ms = std::min(ctx.ipc_timeout_ms(), kReuseIdleMs);
    reuse.more = [&ctx, max_use] {
        ++served;
        if (max_use > 0 && served >= max_use) {
            ctx.request_exit();
            return false;
        }
        return true;
    };
    return reuse;
}

void serve_agent_connection(int fd, const config::Config& config, const std::string& service_name,
                            const AgentCore& core, const deliver::ConnectionReuse* reuse) {
    auto ipc = config::ipc_timeout_ms(config);
    int timeout_ms = ipc ? *ipc : 3600 * 1000;
    std::string queue_dir = config.get("queue_directory").ok() ? *config.get("queue_directory") : "";
    auto handler = [&](const deliver::DeliveryRequest& request) {
        // Never serve a request with the ids of an earlier recipient.
        check_identity_restored();
        double started = deliver::now_seconds();
        Job job;
        job.queue_id = request.queue_id;
        job.queue_name = request.queue_name;
        job.sender = request.sender;
        job.nexthop = request.nexthop;
        job.service = service_name;
        for (const auto& r : request.recipients) job.recipients.push_back({r.address, r.orig_recipient});

        std::vector<Outcome> outcomes;
        auto message = MessageCopy::from_queue_file(queue_dir + "/" + request.queue_name + "/" + request.queue_id);
        if (!message) {
            log::warn("%s: cannot read queue file: %s", request.queue_id.c_str(),
                      message.error().message.c_str());
            outcomes.assign(job.recipients.size(), deferred("cannot read queue file: " + message.error().message));
        } else {
            outcomes = core(job, *message);
            if (outcomes.size() != job.recipients.size()) {
                log::warn("%s: internal error: %zu results for %zu recipients", request.queue_id.c_str(),
                          outcomes.size(), job.recipients.size());
                outcomes.assign(job.recipients.size(), deferred("internal delivery agent error"));
            }
            // The content could not be read (read as it was delivered): no
            // recipient is judged by that, every one not delivered waits.
            if (const auto& damage = message->damage()) {
                log::warn("%s: cannot read queue file: %s", request.queue_id.c_str(), damage->message.c_str());
                for (auto& o : outcomes)
                    if (o.kind != OutcomeKind::kSent) o = deferred("cannot read queue file: " + damage->message);
            }
        }
        auto times = deliver::request_times(request, started, deliver::now_seconds());
        deliver::DeliveryReply reply;
        for (size_t i = 0; i < outcomes.size(); ++i) {
            Outcome o = normalise(outcomes[i]);
            reply.results.push_back({wire_status(o.kind), o.dsn, service_name, o.text, o.relayed});
            log_outcome(request, request.recipients[i], reply.results.back(), o, times);
        }
        return reply;
    };
    auto st = deliver::serve_delivery(fd, timeout_ms, handler, reuse);
    if (!st) log::warn("%s", st.error().message.c_str());
}

}  // namespace mailroom::agent
