// qmgr_delivery.cc - see qmgr_delivery.h.
#include "qmgr/qmgr_delivery.h"

#include <algorithm>
#include <chrono>

#include "lib/deliver/deliver_log.h"
#include "lib/ipc/ipc_socket.h"
#include "lib/ipc/protocol.h"
#include "lib/util/strings.h"

namespace mailroom::qmgr {

namespace {

Result<std::unique_ptr<ipc::AttrChannel>> connect_agent(event::Loop& loop, const std::string& queue_directory,
                                                         const std::string& transport, int timeout_ms) {
    auto fd = ipc::connect_service(queue_directory, ipc::ServiceClass::kPrivate, transport,
                                   std::min(timeout_ms, 1000));
    if (!fd) return make_temp_error(fd.error().message);
    auto channel = ipc::AttrChannel::create(loop, std::move(*fd));
    if (!channel) return make_temp_error("cannot set up the delivery agent connection");
    return channel;
}

}  // namespace

AgentPool::AgentPool(event::Loop& loop) : loop_(loop), sweeper_(loop, [this] { sweep(); }) {}

std::unique_ptr<ipc::AttrChannel> AgentPool::take(const std::string& transport) {
    auto it = std::find_if(idle_.begin(), idle_.end(), [&](const Idle& i) { return i.transport == transport; });
    if (it == idle_.end()) return nullptr;
    auto channel = std::move(it->channel);
    idle_.erase(it);
    channel->on_record(nullptr);
    channel->on_close(nullptr);
    return channel;
}

void AgentPool::put(const std::string& transport, std::unique_ptr<ipc::AttrChannel> channel) {
    ipc::AttrChannel* raw = channel.get();
    // The agent says nothing until the next request: anything it sends,
    // or its hang-up, ends the connection.
    raw->on_record([this, raw](ipc::AttrList) { drop(raw); });
    raw->on_close([this, raw](ipc::AttrChannel::Close, const std::string&) { drop(raw); });
    idle_.push_front({transport, std::move(channel), deliver::now_seconds()});
    if (!sweeper_.pending()) sweeper_.start(std::chrono::seconds(kAgentIdleSeconds));
    raw->resume();  // may drop it at once
}

void AgentPool::drop(ipc::AttrChannel* channel) {
    // Safe inside the channel's own callback (attr_channel.h).
    idle_.remove_if([channel](const Idle& i) { return i.channel.get() == channel; });
}

void AgentPool::sweep() {
    double cutoff = deliver::now_seconds() - kAgentIdleSeconds;
    idle_.remove_if([cutoff](const Idle& i) { return i.since <= cutoff; });
    if (!idle_.empty()) sweeper_.start(std::chrono::seconds(1));
}

Result<std::unique_ptr<DeliveryCall>> DeliveryCall::start(event::Loop& loop, AgentPool& pool,
                                                          const std::string& queue_directory,
                                                          const deliver::DeliveryRequest& request, int timeout_ms,
                                                          Done done) {
    auto bytes = ipc::encode_record(deliver::encode_request(request));
    if (!bytes) return make_temp_error(bytes.error().message);
    auto call = std::make_unique<DeliveryCall>(loop, pool, request.recipients.size(), timeout_ms, std::move(done));
    call->queue_directory_ = queue_directory;
    call->transport_ = request.transport;
    call->out_ = std::move(*bytes);
    if (auto kept = pool.take(request.transport)) {
        call->reused_ = true;
        call->state_ = State::kReply;
        call->attach(std::move(kept));
        call->channel_->channel().write(call->out_);
        return call;
    }
    auto channel = connect_agent(loop, queue_directory, request.transport, timeout_ms);
    if (!channel) return channel.error();
    call->attach(std::move(*channel));
    return call;
}

DeliveryCall::DeliveryCall(event::Loop& loop, AgentPool& pool, std::size_t recipients, int timeout_ms, Done done)
    : loop_(loop), pool_(pool), recipients_(recipients), done_(std::move(done)) {
    timer_ = event::Timer(loop, [this] { finish(make_temp_error("timeout talking to the delivery agent")); });
    timer_.start(std::chrono::milliseconds(timeout_ms));
}

void DeliveryCall::attach(std::unique_ptr<ipc::AttrChannel> channel) {
    channel_ = std::move(channel);
    channel_->on_record([this](ipc::AttrList record) { on_record(record); });
    channel_->on_close([this](ipc::AttrChannel::Close kind, const std::string& reason) { on_close(kind, reason); });
}

void DeliveryCall::on_close(ipc::AttrChannel::Close kind, const std::string& reason) {
    // A kept connection the agent closed as the request went out: once
    // more on a new one (the agent had ended the conversation, as its
    // reply allowed, and read nothing).
    if (state_ == State::kReply && reused_ &&
        (kind == ipc::AttrChannel::Close::kEof || kind == ipc::AttrChannel::Close::kError)) {
        reused_ = false;
        auto channel = connect_agent(loop_, queue_directory_, transport_, 1000);
        if (!channel) return finish(channel.error());
        state_ = State::kAnnouncement;
        return attach(std::move(*channel));  // drops the old channel: safe here
    }
    switch (kind) {
        case ipc::AttrChannel::Close::kEof:
            return finish(make_temp_error("lost connection with the delivery agent"));
        case ipc::AttrChannel::Close::kMalformed:
            return finish(make_temp_error("delivery agent: " + reason));
        default:
            return finish(make_temp_error("read from the delivery agent: " + reason));
    }
}

void DeliveryCall::finish(Result<deliver::DeliveryReply> result) {
    if (state_ == State::kDone) return;
    bool keep = result && result->more && state_ == State::kReply;
    state_ = State::kDone;
    timer_.cancel();
    if (channel_ && keep)
        pool_.put(transport_, std::move(channel_));
    else if (channel_)
        channel_->pause();
    Done done = std::move(done_);
    done(std::move(result));
}

void DeliveryCall::on_record(const ipc::AttrList& record) {
    if (state_ == State::kAnnouncement) {
        if (auto st = ipc::check_announcement(record, ipc::kDeliverProtocol); !st)
            return finish(make_temp_error(st.error().message));
        state_ = State::kReply;
        channel_->channel().write(out_);
    } else if (state_ == State::kReply) {
        auto reply = deliver::decode_reply(record, recipients_);
        if (!reply) return finish(make_temp_error(reply.error().message));
        finish(std::move(*reply));
    } else {
        finish(make_temp_error("delivery agent spoke out of turn"));
    }
}

}  // namespace mailroom::qmgr
