// qmgr_delivery.h - one delivery conversation, run on qmgr's event loop.
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
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "lib/deliver/deliver_proto.h"
#include "lib/event/event_loop.h"
#include "lib/ipc/attr.h"
#include "lib/ipc/attr_channel.h"
#include "lib/util/unique_fd.h"

namespace mailroom::qmgr {

class DeliveryCall {
public:
    using Done = std::function<void(Result<deliver::DeliveryReply>)>;

    // Connects at once (UNIX sockets do not make us wait); a failure to
    // connect is returned here and `done` is never called.
    static Result<std::unique_ptr<DeliveryCall>> start(event::Loop& loop, const std::string& queue_directory,
                                                       const deliver::DeliveryRequest& request, int timeout_ms,
                                                       Done done);

    DeliveryCall(event::Loop& loop, util::UniqueFd fd, std::size_t recipients, int timeout_ms, Done done);
    DeliveryCall(const DeliveryCall&) = delete;
    DeliveryCall& operator=(const DeliveryCall&) = delete;

private:
    enum class State { kAnnouncement, kReply, kDone };

    void on_record(const ipc::AttrList& record);
    void finish(Result<deliver::DeliveryReply> result);

    std::size_t recipients_;
    Done done_;
    State state_ = State::kAnnouncement;
    std::string out_;  // the request, sent after the agent's announcement
    std::unique_ptr<ipc::AttrChannel> channel_;
    event::Timer timer_;
};

}  // namespace mailroom::qmgr
