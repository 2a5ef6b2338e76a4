// pipe_deliver.cc - see pipe_deliver.h.
#include "pipe/pipe_deliver.h"

#include "lib/agent/agent_command.h"
#include "lib/agent/agent_headers.h"
#include "lib/util/strings.h"

namespace mailroom::pipe {

Result<std::optional<agent::Identity>> resolve_pipe_identity(const PipeArgs& args) {
    if (!agent::privileged()) return std::optional<agent::Identity>();
    auto id = agent::resolve_user(args.user);
    if (!id) return id.error();
    if (id->uid == 0) return make_error("pipe: user= command-line attribute specifies root privileges");
    if (!args.group.empty()) {
        auto gid = agent::resolve_group(args.group);
        if (!gid) return gid.error();
        if (*gid == 0) return make_error("pipe: group= command-line attribute specifies root group privileges");
        id->gid = *gid;
    }
    return std::optional<agent::Identity>(*id);
}

namespace {

agent::Outcome run_group(const agent::Job& job, const agent::MessageCopy& message, const PipeService& service,
                         const std::vector<agent::JobRecipient>& group, time_t now) {
    const PipeFlags& f = service.args.flags;
    const agent::JobRecipient& first = group.front();
    agent::PrefixFlags pf{f.from_line, f.return_path, f.original_to, f.delivered_to};
    std::string prefix = agent::delivery_prefix(job.sender, first.original(), first.address, pf, now);
    if (f.from_line && job.sender.empty() && service.args.null_sender != "MAILER-DAEMON") {
        // The From_ line shows the configured null sender.
        agent::PrefixFlags only_from{true, false, false, false};
        std::string from = agent::delivery_prefix(service.args.null_sender, "", "", only_from, now);
        prefix = from + prefix.substr(prefix.find('\n') + 1);
    }
    agent::RenderOptions ro;
    ro.dot_stuff = f.dot_stuff;
    ro.from_quote = f.from_quote;
    ro.blank_line_end = f.blank_line;
    ro.eol = service.args.eol;
    auto input = message.render(prefix, ro);
    if (!input) return agent::outcome_from_error(input.error());

    MacroContext ctx;
    ctx.sender = job.sender.empty() ? service.args.null_sender : job.sender;
    ctx.nexthop = job.nexthop;
    ctx.queue_id = job.queue_id;
    ctx.size = message.size();
    ctx.extension = service.extension;
    const auto& env = message.envelope();
    ctx.client["client_address"] = std::string(env.attribute("client_address"));
    ctx.client["client_hostname"] = std::string(env.attribute("client_name"));
    ctx.client["client_helo"] = std::string(env.attribute("helo_name"));
    ctx.client["client_protocol"] = std::string(env.attribute("protocol_name"));
    ctx.client["sasl_username"] = std::string(env.attribute("sasl_username"));
    auto argv = expand_pipe_argv(service.args.argv, f, ctx, group);
    if (!argv) return agent::deferred(argv.error().message, "4.3.5");

    agent::CommandSpec spec;
    spec.argv = *argv;
    spec.env = service.env;
    spec.identity = service.identity;
    spec.cwd = service.args.directory;
    spec.stdin_fd = input->get();
    spec.time_limit_seconds = service.time_limit_seconds;
    auto result = agent::run_command(spec);
    if (!result) return agent::outcome_from_error(result.error());
    agent::Outcome outcome =
        agent::command_outcome(*result, spec.argv.front(), "delivered via " + job.service + " service");
    // Without the X flag the command is not the final destination: success
    // notices say "relayed", as Postfix's pipe reports them.
    outcome.relayed = outcome.kind == agent::OutcomeKind::kSent && !f.final_delivery;
    return outcome;
}

}  // namespace

std::vector<agent::Outcome> pipe_deliver(const agent::Job& job, const agent::MessageCopy& message,
                                         const PipeService& service, time_t now) {
    const PipeFlags& f = service.args.flags;
    std::vector<agent::Outcome> out(job.recipients.size());
    if (service.args.size_limit > 0 && message.size() > service.args.size_limit) {
        for (auto& o : out) o = agent::bounced("message too large", "5.2.3");
        return out;
    }
    std::string head;
    if (f.delivered_to) {
        auto h = message.head();
        if (!h) {
            for (auto& o : out) o = agent::outcome_from_error(h.error());
            return out;
        }
        head = std::move(*h);
    }
    bool separate = f.delivered_to || f.original_to || service.recipient_limit == 1;
    if (!separate) {
        std::size_t step = service.recipient_limit == 0 ? job.recipients.size() : service.recipient_limit;
        for (std::size_t first = 0; first < job.recipients.size(); first += step) {
            std::size_t last = std::min(job.recipients.size(), first + step);
            std::vector<agent::JobRecipient> group(job.recipients.begin() + first, job.recipients.begin() + last);
            auto o = run_group(job, message, service, group, now);
            for (std::size_t i = first; i < last; ++i) out[i] = o;
        }
        return out;
    }
    for (size_t i = 0; i < job.recipients.size(); ++i) {
        const auto& r = job.recipients[i];
        if (f.delivered_to && agent::delivered_to_loop(head, r.address)) {
            out[i] = agent::bounced("mail forwarding loop for " + r.address, "5.4.6");
            continue;
        }
        out[i] = run_group(job, message, service, {r}, now);
    }
    return out;
}

}  // namespace mailroom::pipe
