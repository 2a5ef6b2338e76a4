// qmgr_delivery.cc - see qmgr_delivery.h.
#include "qmgr/qmgr_delivery.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

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
    : fd_(std::move(fd)), recipients_(recipients), done_(std::move(done)) {
    reader_ = event::FdWatcher(loop, fd_.get(), event::Interest::kRead, [this] { on_readable(); });
    writer_ = event::FdWatcher(loop, fd_.get(), event::Interest::kWrite, [this] { on_writable(); });
    timer_ = event::Timer(loop, [this] { finish(make_temp_error("timeout talking to the delivery agent")); });
    reader_.enable();
    timer_.start(std::chrono::milliseconds(timeout_ms));
}

void DeliveryCall::finish(Result<deliver::DeliveryReply> result) {
    if (state_ == State::kDone) return;
    state_ = State::kDone;
    reader_.disable();
    writer_.disable();
    timer_.cancel();
    fd_.reset();
    Done done = std::move(done_);
    done(std::move(result));
}

void DeliveryCall::send_more() {
    while (sent_ < out_.size()) {
        ssize_t n = ::send(fd_.get(), out_.data() + sent_, out_.size() - sent_, MSG_NOSIGNAL);
        if (n > 0) {
            sent_ += static_cast<std::size_t>(n);
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            writer_.enable();
            return;
        }
        finish(make_temp_error(util::format("write to the delivery agent: %s", std::strerror(errno))));
        return;
    }
    writer_.disable();
    state_ = State::kReply;
}

void DeliveryCall::on_writable() {
    if (state_ == State::kSending) send_more();
}

void DeliveryCall::on_readable() {
    char buf[16 * 1024];
    ssize_t n = ::read(fd_.get(), buf, sizeof(buf));
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return;
    if (n <= 0) {
        finish(make_temp_error(n == 0 ? "lost connection with the delivery agent"
                                      : util::format("read from the delivery agent: %s", std::strerror(errno))));
        return;
    }
    std::string_view data(buf, static_cast<std::size_t>(n));
    while (!data.empty() && state_ != State::kDone) {
        std::size_t used = 0;
        auto step = decoder_.feed(data, &used);
        data.remove_prefix(used);
        if (step == ipc::AttrDecoder::Step::kError) {
            finish(make_temp_error("delivery agent: " + decoder_.error().message));
            return;
        }
        if (step == ipc::AttrDecoder::Step::kNeedMore) return;
        ipc::AttrList record = decoder_.take();
        if (state_ == State::kAnnouncement) {
            if (auto st = ipc::check_announcement(record, ipc::kDeliverProtocol); !st) {
                finish(make_temp_error(st.error().message));
                return;
            }
            state_ = State::kSending;
            send_more();
        } else if (state_ == State::kReply) {
            auto reply = deliver::decode_reply(record, recipients_);
            if (!reply) {
                finish(make_temp_error(reply.error().message));
                return;
            }
            finish(std::move(*reply));
            return;
        } else {
            finish(make_temp_error("delivery agent spoke out of turn"));
            return;
        }
    }
}

}  // namespace mailroom::qmgr
