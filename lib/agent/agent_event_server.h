// agent_event_server.h - the event-loop flavour of agent_server.h: many
// deliveries at once in one process (the smtp/lmtp agent).
//
// Summary
//   EventAgentServer serves the delivery protocol (lib/deliver) on each
//   connection qmgr makes to the agent's master.cf socket, without
//   blocking: it announces the protocol, reads the request, reads the
//   queue file into a MessageCopy, and hands both to the agent's
//   asynchronous core. When the core calls `done` with one result per
//   recipient, it logs Postfix's line for each (relay= as the core says)
//   and sends the reply. Any number of conversations run at once.
//
// Description
//   A queue file that cannot be read defers every recipient (4.3.0); a
//   core that answers with the wrong number of results defers everything
//   too. When qmgr hangs up first the core's answer is dropped (the core
//   finishes its work; nothing is logged for it). A core may call `done`
//   at once (inside the call) or later from the loop.
//
// Thread safety
//   Loop thread only.
#pragma once

#include <functional>
#include <list>
#include <memory>
#include <string>
#include <vector>

#include "lib/agent/agent_message.h"
#include "lib/config/config.h"
#include "lib/deliver/deliver_proto.h"
#include "lib/event/event_loop.h"
#include "lib/server/server.h"

namespace mailroom::agent {

// `session_ready` (a deliver::now_seconds() value, 0 = none) ends the
// connection setup: the log's third delays= part runs up to it, the
// fourth (transmission) from it, as Postfix's smtp reports them.
using EventDone = std::function<void(std::vector<deliver::RecipientResult> results, double session_ready)>;
using EventCore = std::function<void(const deliver::DeliveryRequest& request,
                                     std::shared_ptr<const MessageCopy> message, EventDone done)>;

class EventAgentServer {
public:
    EventAgentServer(event::Loop& loop, const config::Config& config, EventCore core);
    ~EventAgentServer();
    EventAgentServer(const EventAgentServer&) = delete;
    EventAgentServer& operator=(const EventAgentServer&) = delete;

    // Serves one connection from qmgr; the conversation keeps `conn`.
    void serve(server::Connection conn);
    std::size_t active() const { return sessions_.size(); }

    struct Session;

private:
    void finish(Session* session);

    event::Loop& loop_;
    std::string queue_dir_;
    int timeout_ms_;
    EventCore core_;
    std::list<std::unique_ptr<Session>> sessions_;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace mailroom::agent
