// agent_server.h - the part of a delivery agent daemon that talks to qmgr.
//
// Summary
//   serve_agent_connection() handles one connection on the agent's
//   master.cf socket: it speaks the delivery protocol (lib/deliver),
//   turns the request into a Job, opens the queue file as a MessageCopy
//   (the envelope; the content is read as it is delivered), calls the
//   agent's core, logs one Postfix line per
//   recipient and replies with one result per recipient.
//
// Description
//   A queue file that cannot be read defers every recipient (4.3.0) with
//   the reason, also when its content fails while it is delivered (every
//   recipient not yet delivered); a core that returns the wrong number of outcomes is a
//   broken invariant and defers everything too. relay= is the service
//   name, as Postfix's local, virtual and pipe log it.
//
//   Connection reuse: with a ConnectionReuse from request_budget() one
//   connection carries several requests (deliver_ipc.h), each counted
//   against the process's max_use: the request that reaches it is the
//   last (its reply does not offer more) and the process then exits, as
//   it did after max_use connections of one request each.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "lib/agent/agent_job.h"
#include "lib/agent/agent_message.h"
#include "lib/agent/agent_outcome.h"
#include "lib/config/config.h"
#include "lib/deliver/deliver_ipc.h"
#include "lib/server/server.h"

namespace mailroom::agent {

using AgentCore = std::function<std::vector<Outcome>(const Job& job, const MessageCopy& message)>;

void serve_agent_connection(int fd, const config::Config& config, const std::string& service_name,
                            const AgentCore& core, const deliver::ConnectionReuse* reuse = nullptr);

// Reuse of qmgr's connections for a single-server agent: counts every
// request of the process against max_use and asks the skeleton to exit at
// it. Valid while `ctx` is (the process's whole life).
deliver::ConnectionReuse request_budget(server::ServerContext& ctx);

}  // namespace mailroom::agent
