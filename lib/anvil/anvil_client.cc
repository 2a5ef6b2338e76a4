// anvil_client.cc - see anvil_client.h.
#include "lib/anvil/anvil_client.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "lib/ipc/ipc_socket.h"
#include "lib/ipc/protocol.h"
#include "lib/log/log.h"

namespace mailroom::anvil {

Client::Client(event::Loop& loop, ClientOptions options) : loop_(loop), options_(std::move(options)) {
    timer_ = event::Timer(loop_, [this] {
        broken("timeout");
        down_until_ = std::chrono::steady_clock::now() + options_.retry_delay;
    });
    post_timer_ = event::Timer(loop_, [this] {
        std::deque<Done> done = std::move(failed_);
        failed_.clear();
        for (auto& d : done) {
            if (d) d(std::nullopt);
        }
    });
}

Client::~Client() {
    reader_ = event::FdWatcher();
    writer_ = event::FdWatcher();
}

void Client::fail_later(Done done) {
    failed_.push_back(std::move(done));
    post_timer_.start(std::chrono::milliseconds(0));
}

bool Client::open() {
    if (std::chrono::steady_clock::now() < down_until_) return false;
    auto fd = ipc::connect_unix(options_.socket_path, 0);
    if (!fd) {
        // connect_unix names the path; Postfix names the service.
        std::string why = fd.error().message;
        if (auto colon = why.rfind(": "); colon != std::string::npos) why = why.substr(colon + 2);
        log::warn("connect to %s: %s", options_.service.c_str(), why.c_str());
        return false;
    }
    fd_ = std::move(*fd);
    ++generation_;
    announced_ = false;
    decoder_.reset();
    out_.clear();
    reader_ = event::FdWatcher(loop_, fd_.get(), event::Interest::kRead, [this] { on_readable(); });
    writer_ = event::FdWatcher(loop_, fd_.get(), event::Interest::kWrite, [this] { flush(); });
    reader_.enable();
    return true;
}

void Client::request(RequestType type, std::string ident, Done done) {
    if (!fd_.valid() && !open()) {
        fail_later(std::move(done));
        return;
    }
    auto bytes = ipc::encode_record(encode_request(Request{type, std::move(ident)}));
    if (!bytes) {
        log::warn("anvil request: %s", bytes.error().message.c_str());
        fail_later(std::move(done));
        return;
    }
    out_ += *bytes;
    pending_.push_back(Pending{type, std::move(done)});
    if (!timer_.pending()) timer_.start(options_.timeout);
    flush();
}

void Client::flush() {
    if (!fd_.valid()) return;
    std::string error;
    switch (ipc::send_pending(fd_.get(), out_, &error)) {
    case ipc::SendStep::kDone: writer_.disable(); break;
    case ipc::SendStep::kWouldBlock: writer_.enable(); break;
    case ipc::SendStep::kError: broken(error); break;
    }
}

void Client::on_readable() {
    char buf[4096];
    ssize_t n = ::read(fd_.get(), buf, sizeof(buf));
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return;
    if (n <= 0) {
        // anvil went away (a reload, max_idle): quiet unless a request is lost.
        broken(n == 0 ? "lost connection" : std::strerror(errno), pending_.empty());
        return;
    }
    std::string_view data(buf, static_cast<size_t>(n));
    std::uint64_t gen = generation_;
    while (!data.empty()) {
        size_t used = 0;
        auto step = decoder_.feed(data, &used);
        data.remove_prefix(used);
        if (step == ipc::AttrDecoder::Step::kError) {
            broken(decoder_.error().message);
            return;
        }
        if (step == ipc::AttrDecoder::Step::kNeedMore) return;
        ipc::AttrList record = decoder_.take();
        if (!announced_) {
            if (auto st = ipc::check_announcement(record, ipc::kAnvilProtocol); !st) {
                broken(st.error().message);
                return;
            }
            announced_ = true;
            continue;
        }
        if (pending_.empty()) {
            broken("reply without a request");
            return;
        }
        Pending p = std::move(pending_.front());
        pending_.pop_front();
        auto reply = decode_reply(p.type, record);
        if (!reply) {
            pending_.push_front(std::move(p));
            broken(reply.error().message);
            return;
        }
        if (pending_.empty()) {
            timer_.cancel();
        } else {
            timer_.start(options_.timeout);
        }
        if (p.done) p.done(*reply);
        // `done` may have sent requests; a broken connection ends this read.
        if (generation_ != gen || !fd_.valid()) return;
    }
}

void Client::broken(const std::string& reason, bool quiet) {
    if (!quiet) log::warn("problem talking to server %s: %s", options_.service.c_str(), reason.c_str());
    reader_ = event::FdWatcher();
    writer_ = event::FdWatcher();
    fd_.reset();
    timer_.cancel();
    out_.clear();
    decoder_.reset();
    announced_ = false;
    while (!pending_.empty()) {
        fail_later(std::move(pending_.front().done));
        pending_.pop_front();
    }
}

}  // namespace mailroom::anvil
