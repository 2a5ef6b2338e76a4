// local_deliver.cc - see local_deliver.h.
#include "local/local_deliver.h"

#include <sys/stat.h>

#include <cerrno>
#include <map>

#include "lib/address/address.h"
#include "lib/agent/agent_command.h"
#include "lib/agent/agent_headers.h"
#include "lib/agent/agent_identity.h"
#include "lib/mailbox/maildir.h"
#include "lib/mailbox/mbox.h"
#include "lib/util/strings.h"

namespace mailroom::local {

namespace {

// mailbox_size_limit works like Postfix's file size limit: the write fails
// with EFBIG, which bounces as a full mailbox (agent::mailbox_failure()).
Status too_large() { return make_sys_error("error writing message: File too large", EFBIG); }

Status write_mbox(const std::string& path, const std::string& sender, time_t now, const std::string& prefix,
                  const agent::MessageCopy& message, const mailbox::MboxOptions& options, std::uint64_t limit) {
    if (limit > 0) {
        struct stat sb;
        std::uint64_t have = ::lstat(path.c_str(), &sb) == 0 ? static_cast<std::uint64_t>(sb.st_size) : 0;
        if (have + prefix.size() + message.size() + 100 > limit) return too_large();
    }
    auto w = mailbox::MboxWriter::open(path, sender.empty() ? "MAILER-DAEMON" : sender, now, options);
    if (!w) return w.error();
    if (auto st = agent::append_message(*w, prefix, message); !st) return st;
    return w->commit();
}

Status write_maildir(const std::string& dir, const std::string& prefix, const agent::MessageCopy& message,
                     const mailbox::DeliveryOptions& options, std::uint64_t limit) {
    if (limit > 0 && prefix.size() + message.size() > limit) return too_large();
    auto w = mailbox::MaildirWriter::open(dir, options);
    if (!w) return w.error();
    if (auto st = agent::append_message(*w, prefix, message); !st) return st;
    auto done = w->commit();
    if (!done) return done.error();
    return ok_status();
}


std::vector<std::string> command_env(const DeliverySettings& s, const agent::Identity& who,
                                     const Destination& d, const agent::JobRecipient& r, const agent::Job& job,
                                     const agent::MessageCopy& message) {
    std::vector<std::string> env = s.base_env;
    auto add = [&](const char* name, std::string_view value) { env.push_back(std::string(name) + "=" + std::string(value)); };
    if (!who.home.empty()) add("HOME", who.home);
    if (!who.name.empty()) {
        add("LOGNAME", who.name);
        add("USER", who.name);
    }
    if (!who.shell.empty()) add("SHELL", who.shell);
    auto parts = address::split(d.recipient);
    add("SENDER", d.sender);
    add("RECIPIENT", d.recipient);
    add("LOCAL", parts.local);
    add("DOMAIN", parts.domain);
    add("EXTENSION", d.extension);
    add("ORIGINAL_RECIPIENT", r.original());
    const auto& e = message.envelope();
    add("CLIENT_ADDRESS", e.attribute("client_address"));
    add("CLIENT_HOSTNAME", e.attribute("client_name"));
    add("CLIENT_HELO", e.attribute("helo_name"));
    add("CLIENT_PROTOCOL", e.attribute("protocol_name"));
    add("SASL_USERNAME", e.attribute("sasl_username"));
    add("QUEUE_ID", job.queue_id);
    return env;
}

agent::Outcome run_shell_command(const std::string& command, const agent::Identity& who, const Destination& d,
                                 const agent::JobRecipient& r, const agent::Job& job,
                                 const agent::MessageCopy& message, const DeliverySettings& s, time_t now) {
    agent::PrefixFlags pf{true, true, true, true};
    // Delivered-To is the recipient local was asked to deliver to, however
    // far aliases, .forward and :include: expanded it (Postfix's default
    // frozen_delivered_to = yes).
    std::string prefix = agent::delivery_prefix(d.sender, r.original(), r.address, pf, now);
    agent::RenderOptions ro;
    ro.from_quote = false;
    auto input = message.render(prefix, ro);
    if (!input) return agent::outcome_from_error(input.error());
    agent::CommandSpec spec;
    spec.argv = {s.command_shell, "-c", command};
    spec.env = command_env(s, who, d, r, job, message);
    if (agent::privileged()) spec.identity = who;
    spec.cwd = who.home;
    spec.stdin_fd = input->get();
    spec.time_limit_seconds = s.command_time_limit;
    auto result = agent::run_command(spec);
    if (!result) return agent::outcome_from_error(result.error());
    return agent::command_outcome(*result, command, "delivered to command: " + command);
}

agent::Identity identity_of(const Privs& p) {
    auto pw = agent::lookup_uid(p.uid);
    if (pw.ok() && *pw) {
        agent::Identity id = **pw;
        id.gid = p.gid;
        return id;
    }
    return agent::Identity{p.uid, p.gid, p.user, "/", ""};
}

}  // namespace

agent::Outcome deliver_destination(const Destination& d, const agent::JobRecipient& r, const agent::Job& job,
                                   const agent::MessageCopy& message, const DeliverySettings& s, time_t now) {
    agent::PrefixFlags headers{false, true, true, true};
    std::string prefix = agent::delivery_prefix(d.sender, r.original(), r.address, headers, now);  // as above
    mailbox::MboxOptions mbox_opts;
    mbox_opts.lock = s.lock;
    switch (d.kind) {
        case DestKind::kMailbox: {
            const agent::Identity& u = d.user;
            if (!s.mailbox_command.empty()) {
                agent::Identity who = u;
                if (u.uid == 0 && s.default_privs) {
                    who.uid = s.default_privs->uid;
                    who.gid = s.default_privs->gid;
                }
                return run_shell_command(s.mailbox_command, who, d, r, job, message, s, now);
            }
            if (!s.home_mailbox.empty()) {
                std::string path = u.home + "/" + s.home_mailbox;
                bool maildir = path.back() == '/';
                // root's own home mailbox is written by this (root) process.
                auto as_user = [&](const std::function<Status()>& step) {
                    return u.uid == 0 ? step() : agent::run_as(u, step);
                };
                auto st = as_user([&]() -> Status {
                    if (maildir) {
                        mailbox::DeliveryOptions o;
                        o.queue_device = message.queue_device();
                        return write_maildir(path, prefix, message, o, s.mailbox_size_limit);
                    }
                    return write_mbox(path, d.sender, now, prefix, message, mbox_opts, s.mailbox_size_limit);
                });
                if (st) return agent::sent(maildir ? "delivered to maildir" : "delivered to mailbox");
                if (maildir) return agent::mailbox_failure("maildir delivery failed: ", st.error(), true);
                return agent::mailbox_failure("cannot update mailbox " + path + " for user " + u.name + ". ", st.error(), false);
            }
            // The spool mailbox: locked and opened as root, created owned by the user.
            std::string path = s.mail_spool_directory + "/" + u.name;
            if (agent::privileged()) {
                mbox_opts.create.uid = u.uid;
                mbox_opts.create.gid = u.gid;
            }
            auto st = write_mbox(path, d.sender, now, prefix, message, mbox_opts, s.mailbox_size_limit);
            if (st) return agent::sent("delivered to mailbox");
            return agent::mailbox_failure("cannot update mailbox " + path + " for user " + u.name + ". ", st.error(), false);
        }
        case DestKind::kCommand:
            return run_shell_command(d.target, identity_of(d.privs), d, r, job, message, s, now);
        case DestKind::kFile: {
            agent::Identity who = identity_of(d.privs);
            bool maildir = d.target.back() == '/';
            auto st = agent::run_as(who, [&]() -> Status {
                if (maildir) return write_maildir(d.target, prefix, message, {}, s.mailbox_size_limit);
                return write_mbox(d.target, d.sender, now, prefix, message, mbox_opts, s.mailbox_size_limit);
            });
            if (st) return agent::sent(maildir ? "delivered to maildir" : "delivered to file: " + d.target);
            if (maildir) return agent::mailbox_failure("maildir delivery failed: ", st.error(), true);
            return agent::mailbox_failure("cannot append message to file " + d.target + ": ", st.error(), false);
        }
        case DestKind::kForward:
            break;
    }
    return agent::deferred("internal error: forward destination delivered directly");
}

std::vector<agent::Outcome> local_deliver(const agent::Job& job, const agent::MessageCopy& message,
                                          const LocalContext& ctx, time_t now) {
    std::vector<agent::Outcome> out;
    auto head = message.head();
    // Destinations already delivered for an earlier recipient of this
    // request (two aliases of one user): delivered once, as Postfix does.
    std::map<std::string, agent::Outcome> done;
    for (const auto& r : job.recipients) {
        if (!head) {
            out.push_back(agent::outcome_from_error(head.error()));
            continue;
        }
        if (agent::delivered_to_loop(*head, r.address)) {
            out.push_back(agent::bounced("mail forwarding loop for " + r.address, "5.4.6"));
            continue;
        }
        Expansion x = expand_local(r.address, job.sender, ctx.expand, ctx.env);
        // Each part is logged for the address it concerns (the final
        // address of an alias or .forward entry, the recipient itself for
        // what is forwarded), with r's original address as orig_to=.
        std::vector<agent::Outcome> parts = x.failures;
        std::vector<std::string> part_to = x.failed_to;
        part_to.resize(parts.size(), r.address);
        auto add_part = [&](agent::Outcome o, const std::string& to) {
            parts.push_back(std::move(o));
            part_to.push_back(to);
        };
        std::map<std::string, std::vector<std::string>> forwards;  // sender -> addresses
        for (const auto& d : x.destinations) {
            if (d.kind == DestKind::kForward) {
                forwards[d.sender].push_back(d.target);
                continue;
            }
            if (d.kind == DestKind::kMailbox && d.recipient != r.address &&
                agent::delivered_to_loop(*head, d.recipient)) {
                add_part(agent::bounced("mail forwarding loop for " + d.recipient, "5.4.6"), d.recipient);
                continue;
            }
            std::string key = std::to_string(static_cast<int>(d.kind)) + ":" + d.target + ":" + d.extension;
            if (auto it = done.find(key); it != done.end()) {
                add_part(it->second, d.recipient);
                continue;
            }
            agent::Outcome o = deliver_destination(d, r, job, message, ctx.deliver, now);
            if (o.kind == agent::OutcomeKind::kSent) done.emplace(key, o);
            add_part(std::move(o), d.recipient);
        }
        for (const auto& [sender, addresses] : forwards) {
            if (!ctx.forward) {
                add_part(agent::deferred("mail forwarding is not available", "4.3.0"), r.address);
                continue;
            }
            add_part(ctx.forward(job, message, sender, r.address, addresses), r.address);
        }
        out.push_back(agent::combine_outcomes(parts, part_to));
    }
    return out;
}

}  // namespace mailroom::local
