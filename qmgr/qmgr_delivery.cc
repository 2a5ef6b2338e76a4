// qmgr_delivery.cc - see qmgr_delivery.h.
#include "qmgr/qmgr_delivery.h"

#include "lib/ipc/ipc_socket.h"
#include "lib/ipc/protocol.h"
#include "lib/util/strings.h"

namespace mailroom::qmgr {

Result<std::unique_ptr<DeliveryCall>> DeliveryCall::start(event::Loop& loop, const std::string& queue_directory,
                                                          const deliver::DeliveryRequest& request, int timeout_ms,
                                                          Done done) {
    auto fd = ipc::connect_service(queue_directory, ipc::ServiceClass::kPrivate, request.transport,
                                   std::min(timeout_ms, 1000));
    if (!fd) return make_temp_error(fd.error().message);
    auto bytes = ipc::encode_record(deliver::encode_request(request));
    if (!bytes) return make_temp_error(bytes.error().message);
    auto call = std::make_unique<DeliveryCall>(loop, std::move(*fd), request.recipients.size(), timeout_ms,
                                               std::move(done));
    call->out_ = std::move(*bytes);
    return call;
}

DeliveryCall::DeliveryCall(event::Loop& loop, util::UniqueFd fd, std::size_t recipients, int timeout_ms, Done done)
    : recipients_(recipients), done_(std::move(done)) {
    channel_ = ipc::AttrChannel::create(loop, std::move(fd));
    if (!channel_) {
        // Reported from the loop: `done` never runs inside start().
        timer_ = event::Timer(loop, [this] { finish(make_temp_error("cannot set up the delivery agent connection")); });
        timer_.start(std::chrono::milliseconds(0));
        return;
    }
    timer_ = event::Timer(loop, [this] { finish(make_temp_error("timeout talking to the delivery agent")); });
    timer_.start(std::chrono::milliseconds(timeout_ms));
    channel_->on_record([this](ipc::AttrList record) { on_record(record); });
    channel_->on_close([this](ipc::AttrChannel::Close kind, const std::string& reason) {
        switch (kind) {
            case ipc::AttrChannel::Close::kEof:
                return finish(make_temp_error("lost connection with the delivery agent"));
            case ipc::AttrChannel::Close::kMalformed:
                return finish(make_temp_error("delivery agent: " + reason));
            default:
                return finish(make_temp_error("read from the delivery agent: " + reason));
        }
    });
}

void DeliveryCall::finish(Result<deliver::DeliveryReply> result) {
    if (state_ == State::kDone) return;
    state_ = State::kDone;
    timer_.cancel();
    if (channel_) channel_->pause();
    Done done = std::move(done_);
    done(std::move(result));
}

void DeliveryCall::on_record(const ipc::AttrList& record) {
    if (state_ == State::kAnnouncement) {
        if (auto st = ipc::check_announcement(record, ipc::kDeliverProtocol); !st)
            return finish(make_temp_error(st.error().message));
        state_ = State::kReply;
        channel_->channel().write(out_);
        out_.clear();
    } else if (state_ == State::kReply) {
        auto reply = deliver::decode_reply(record, recipients_);
        if (!reply) return finish(make_temp_error(reply.error().message));
        finish(std::move(*reply));
    } else {
        finish(make_temp_error("delivery agent spoke out of turn"));
    }
}

}  // namespace mailroom::qmgr
