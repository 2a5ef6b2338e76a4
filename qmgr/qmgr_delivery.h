// qmgr_delivery.h - one delivery conversation, run on qmgr's event loop,
// and the agent connections kept between conversations.
//
// Summary
//   DeliveryCall is the asynchronous form of deliver::request_delivery():
//   it connects to private/<transport>, reads the announcement, sends the
//   request and reads the reply without blocking the loop, so qmgr can
//   have many deliveries in flight. `done` is called exactly once, from
//   the loop, with the reply or an error (temporary: qmgr defers the
//   recipients). The owner must keep the call alive until then; from
//   inside `done` it hands the call to Loop::release_later(). The agent's
//   socket is an ipc::AttrChannel (lib/ipc/attr_channel.h).
//
//   AgentPool keeps the connections whose agent offered another request
//   (the reply's more=1, docs/delivery-protocol.md), per transport, idle
//   for at most kAgentIdleSeconds. A call to a transport with an idle
//   connection sends its request there at once: no connect, no accept, no
//   announcement. The most recently used connection goes first, so the
//   others run out and their agent processes go back to master. A
//   connection is taken only when idle and opened only when none is, so
//   there are never more connections than requests were in flight at once.
//
// Description
//   An idle connection that the agent closes (max_use reached, its own
//   idle wait over) leaves the pool. If a reused connection ends before
//   the reply (the agent closed it as the request went out), the call
//   starts again once on a new connection; any other failure is reported
//   as before. Per-recipient results are those of the one reply, as
//   without reuse.
#pragma once

#include <functional>
#include <list>
#include <memory>
#include <string>

#include "lib/deliver/deliver_proto.h"
#include "lib/event/event_loop.h"
#include "lib/ipc/attr.h"
#include "lib/ipc/attr_channel.h"
#include "lib/util/unique_fd.h"

namespace mailroom::qmgr {

// How long an agent connection stays open without a request (the agent
// itself waits longer: lib/agent/agent_server.h).
inline constexpr int kAgentIdleSeconds = 2;

class AgentPool {
public:
    explicit AgentPool(event::Loop& loop);
    AgentPool(const AgentPool&) = delete;
    AgentPool& operator=(const AgentPool&) = delete;

    // An idle connection to `transport` (handlers cleared), or null.
    std::unique_ptr<ipc::AttrChannel> take(const std::string& transport);
    // Keeps a connection whose agent asked for the next request.
    void put(const std::string& transport, std::unique_ptr<ipc::AttrChannel> channel);
    std::size_t idle() const { return idle_.size(); }

private:
    struct Idle {
        std::string transport;
        std::unique_ptr<ipc::AttrChannel> channel;
        double since = 0;
    };
    void drop(ipc::AttrChannel* channel);
    void sweep();

    event::Loop& loop_;
    std::list<Idle> idle_;  // most recently used first
    event::Timer sweeper_;
};

class DeliveryCall {
public:
    using Done = std::function<void(Result<deliver::DeliveryReply>)>;

    // Sends on an idle connection of `pool` when there is one, or
    // connects at once (UNIX sockets do not make us wait); a failure to
    // connect is returned here and `done` is never called.
    static Result<std::unique_ptr<DeliveryCall>> start(event::Loop& loop, AgentPool& pool,
                                                       const std::string& queue_directory,
                                                       const deliver::DeliveryRequest& request, int timeout_ms,
                                                       Done done);

    DeliveryCall(event::Loop& loop, AgentPool& pool, std::size_t recipients, int timeout_ms, Done done);
    DeliveryCall(const DeliveryCall&) = delete;
    DeliveryCall& operator=(const DeliveryCall&) = delete;

    bool reused() const { return reused_; }

private:
    enum class State { kAnnouncement, kReply, kDone };

    void attach(std::unique_ptr<ipc::AttrChannel> channel);
    void on_record(const ipc::AttrList& record);
    void on_close(ipc::AttrChannel::Close kind, const std::string& reason);
    void finish(Result<deliver::DeliveryReply> result);

    event::Loop& loop_;
    AgentPool& pool_;
    std::string queue_directory_;
    std::string transport_;
    std::size_t recipients_;
    Done done_;
    State state_ = State::kAnnouncement;
    bool reused_ = false;  // the request went out on a kept connection
    std::string out_;      // the encoded request
    std::unique_ptr<ipc::AttrChannel> channel_;
    event::Timer timer_;
};

}  // namespace mailroom::qmgr
