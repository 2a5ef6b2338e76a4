// local_forward.h - forwarding to non-local addresses through cleanup.
//
// Summary
//   forward_via_cleanup() submits a new copy of the message to the cleanup
//   service (lib/submit) for addresses that an alias or .forward sends
//   elsewhere: same content with "Delivered-To: <recipient>" prepended (so
//   a loop back to us is detected), the expansion's sender, the original
//   client attributes. The result is Postfix's "forwarded as QUEUEID";
//   a cleanup that cannot be reached, or refuses, defers.
#pragma once

#include <string>
#include <vector>

#include "lib/agent/agent_job.h"
#include "lib/agent/agent_message.h"
#include "lib/agent/agent_outcome.h"

namespace mailroom::local {

agent::Outcome forward_via_cleanup(const std::string& queue_directory, int timeout_ms, const agent::Job& job,
                                   const agent::MessageCopy& message, const std::string& sender,
                                   const std::string& delivered_to, const std::vector<std::string>& addresses);

}  // namespace mailroom::local
