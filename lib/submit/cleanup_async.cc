// cleanup_async.cc - see cleanup_async.h.
#include "lib/submit/cleanup_async.h"

#include <chrono>

#include "lib/ipc/protocol.h"
#include "lib/queue/record.h"

namespace mailroom::submit {

namespace {
// Records are handed to the channel in batches of about this size.
constexpr std::size_t kBatch = 16 * 1024;
}  // namespace

void AsyncCleanupClient::open(event::Loop& loop, const std::string& queue_directory, ipc::ServiceClass cls,
                              std::string_view service, std::int64_t flags, int timeout_ms, Opened opened) {
    // A UNIX socket connects at once or not at all (a full backlog is not
    // waited for here: that would block the loop).
    auto fd = ipc::connect_service(queue_directory, cls, service, 0);
    if (!fd) {
        Error e = make_temp_error(fd.error().message);
        loop.defer([opened = std::move(opened), e] { opened(e); });
        return;
    }
    // connect_service() makes its sockets non-blocking.
    start(loop, std::move(*fd), flags, timeout_ms, std::move(opened), true);
}

void AsyncCleanupClient::start(event::Loop& loop, util::UniqueFd fd, std::int64_t flags, int timeout_ms,
                               Opened opened, bool nonblocking) {
    std::unique_ptr<AsyncCleanupClient> client(new AsyncCleanupClient(loop, timeout_ms));
    AsyncCleanupClient* raw = client.get();
    raw->flags_ = flags;
    raw->opened_ = std::move(opened);
    event::ChannelOptions opt;
    opt.read_timeout = opt.write_timeout = std::chrono::milliseconds(timeout_ms);
    opt.nonblocking = nonblocking;
    raw->channel_ = ipc::AttrChannel::create(loop, std::move(fd), opt);
    raw->self_ = std::move(client);
    if (!raw->channel_) {
        loop.defer([raw] { raw->fail(make_temp_error("cleanup: cannot create the connection")); });
        return;
    }
    raw->channel_->on_record([raw](ipc::AttrList record) { raw->on_record(record); });
    raw->channel_->on_close([raw](ipc::AttrChannel::Close kind, const std::string& reason) {
        raw->fail(make_temp_error(kind == ipc::AttrChannel::Close::kEof ? "cleanup: lost connection"
                                                                         : "cleanup: " + reason));
    });
    raw->channel_->on_drained([raw] {
        if (raw->on_drained_) raw->on_drained_();
    });
}

AsyncCleanupClient::AsyncCleanupClient(event::Loop& loop, int timeout_ms) : loop_(loop), timeout_ms_(timeout_ms) {}

AsyncCleanupClient::~AsyncCleanupClient() = default;

void AsyncCleanupClient::on_record(const ipc::AttrList& record) {
    switch (state_) {
        case State::kAnnouncement:
            if (auto st = ipc::check_announcement(record, ipc::kCleanupProtocol); !st)
                return fail(make_temp_error(st.error().message));
            state_ = State::kQueueId;
            if (auto st = channel_->send(cleanup_request(flags_)); !st) return fail(st.error());
            return;
        case State::kQueueId: {
            auto id = decode_queue_id(record);
            if (!id) return fail(id.error());
            queue_id_ = *id;
            state_ = State::kStreaming;
            // While the message streams, cleanup says nothing: only writes time out.
            channel_->channel().set_timeouts(std::chrono::milliseconds(0), std::chrono::milliseconds(timeout_ms_));
            Opened opened = std::move(opened_);
            opened(std::move(self_));  // the caller owns us from here
            return;
        }
        case State::kFinishing: {
            state_ = State::kDone;
            Done done = std::move(done_);
            done(decode_cleanup_result(record, queue_id_));
            return;
        }
        default:
            return fail(make_temp_error("cleanup spoke out of turn"));
    }
}

void AsyncCleanupClient::fail(const Error& error) {
    State was = state_;
    if (was == State::kDone) return;
    state_ = State::kDone;
    failed_ = error;
    if (channel_) channel_->pause();
    if (was == State::kAnnouncement || was == State::kQueueId) {
        // Still ours: tell the caller, then go from the loop.
        Opened opened = std::move(opened_);
        loop_.release_later(std::move(self_));
        if (opened) opened(error);
    } else if (was == State::kFinishing) {
        Done done = std::move(done_);
        if (done) done(error);
    } else if (on_drained_) {
        // A writer waiting for room learns about the failure at its next send().
        auto drained = on_drained_;
        drained();
    }
}

Status AsyncCleanupClient::send(queue::RecordType type, std::string_view payload) {
    if (!failed_) return failed_;
    if (auto st = queue::append_record(&buffer_, type, payload); !st) return st;
    if (buffer_.size() >= kBatch || type == queue::RecordType::kEnd) {
        channel_->channel().write(buffer_);
        buffer_.clear();
    }
    return ok_status();
}

std::size_t AsyncCleanupClient::unsent() const { return buffer_.size() + (channel_ ? channel_->output_size() : 0); }

void AsyncCleanupClient::on_drained(std::function<void()> handler) { on_drained_ = std::move(handler); }

void AsyncCleanupClient::finish(Done done) {
    if (!failed_ || state_ != State::kStreaming) {
        Error e = failed_ ? make_temp_error("cleanup: finish out of order") : failed_.error();
        loop_.defer([done = std::move(done), e] { done(e); });
        return;
    }
    if (!buffer_.empty()) {
        channel_->channel().write(buffer_);
        buffer_.clear();
    }
    state_ = State::kFinishing;
    done_ = std::move(done);
    channel_->channel().set_timeouts(std::chrono::milliseconds(timeout_ms_), std::chrono::milliseconds(timeout_ms_));
}

}  // namespace mailroom::submit
