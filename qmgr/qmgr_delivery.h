// qmgr_delivery.h - one delivery conversation, run on qmgr's event loop.
//
// Summary
//   DeliveryCall is the asynchronous form of deliver::request_delivery():
//   it connects to private/<transport>, reads the announcement, sends the
//   request and reads the reply without blocking the loop, so qmgr can
//   have many deliveries in flight. `done` is called exactly once, from
//   the loop, with the reply or an error (temporary: qmgr defers the
//   recipients). The owner must keep the call alive until then and must
//   not destroy it from inside `done` (park it and free it later).
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "lib/deliver/deliver_proto.h"
#include "lib/event/event_loop.h"
#include "lib/ipc/attr.h"
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
    enum class State { kAnnouncement, kSending, kReply, kDone };

    void on_readable();
    void on_writable();
    void send_more();
    void finish(Result<deliver::DeliveryReply> result);

    util::UniqueFd fd_;
    std::size_t recipients_;
    Done done_;
    State state_ = State::kAnnouncement;
    ipc::AttrDecoder decoder_;
    std::string out_;
    std::size_t sent_ = 0;
    event::FdWatcher reader_;
    event::FdWatcher writer_;
    event::Timer timer_;
};

}  // namespace mailroom::qmgr
