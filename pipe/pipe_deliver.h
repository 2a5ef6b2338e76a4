// pipe_deliver.h - delivery of one request to an external command.
//
// Summary
//   pipe_deliver() runs the service's command for the request's
//   recipients and returns one Outcome per recipient (same order). The
//   recipients share one command run (in groups of at most
//   recipient_limit), except with the D or O flag (each recipient gets its
//   own copy and run, since the prepended header names one recipient). Success is "delivered via <service> service"; failures
//   follow the sysexits table (agent_command.h) with the command's output
//   in the text.
//
// Description
//   Checks before the command runs: size= (5.2.3 "message too large") and,
//   with D, a Delivered-To: header for the same recipient (5.4.6 "mail
//   forwarding loop for <rcpt>"). The command runs as user=/group= when
//   the agent is root; user= may not name root.
#pragma once

#include <string>
#include <vector>

#include "lib/agent/agent_identity.h"
#include "lib/agent/agent_job.h"
#include "lib/agent/agent_message.h"
#include "lib/agent/agent_outcome.h"
#include "pipe/pipe_args.h"

namespace mailroom::pipe {

struct PipeService {
    PipeArgs args;
    std::optional<agent::Identity> identity;  // set when running as root
    long time_limit_seconds = 1000;           // <service>_time_limit / command_time_limit
    address::ExtensionSettings extension;
    std::vector<std::string> env;             // the command's environment
    // <service>_destination_recipient_limit: at most this many recipients
    // share one command run (the seed's maildrop uses 1); 0 = no limit.
    std::size_t recipient_limit = 0;
};

// Resolves user=/group= (only when the agent is root).
Result<std::optional<agent::Identity>> resolve_pipe_identity(const PipeArgs& args);

std::vector<agent::Outcome> pipe_deliver(const agent::Job& job, const agent::MessageCopy& message,
                                         const PipeService& service, time_t now);

}  // namespace mailroom::pipe
