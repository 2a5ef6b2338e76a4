// anvil_client.cc - see anvil_client.h.
#include "lib/anvil/anvil_client.h"

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

Client::~Client() = default;

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
    channel_ = ipc::AttrChannel::create(loop_, std::move(*fd));
    if (!channel_) return false;
    ++generation_;
    announced_ = false;
    channel_->on_record([this](ipc::AttrList record) { on_record(std::move(record)); });
    channel_->on_close([this](ipc::AttrChannel::Close kind, const std::string& reason) {
        // anvil went away (a reload, max_idle): quiet unless a request is lost.
        broken(reason, kind == ipc::AttrChannel::Close::kEof && pending_.empty());
    });
    return true;
}

void Client::request(RequestType type, std::string ident, Done done) {
    if (!channel_ && !open()) {
        fail_later(std::move(done));
        return;
    }
    if (auto st = channel_->send(encode_request(Request{type, std::move(ident)})); !st) {
        log::warn("anvil request: %s", st.error().message.c_str());
        fail_later(std::move(done));
        return;
    }
    pending_.push_back(Pending{type, std::move(done)});
    if (!timer_.pending()) timer_.start(options_.timeout);
}

void Client::on_record(ipc::AttrList record) {
    if (!announced_) {
        if (auto st = ipc::check_announcement(record, ipc::kAnvilProtocol); !st) return broken(st.error().message);
        announced_ = true;
        return;
    }
    if (pending_.empty()) return broken("reply without a request");
    Pending p = std::move(pending_.front());
    pending_.pop_front();
    auto reply = decode_reply(p.type, record);
    if (!reply) {
        pending_.push_front(std::move(p));
        return broken(reply.error().message);
    }
    if (pending_.empty()) {
        timer_.cancel();
    } else {
        timer_.start(options_.timeout);
    }
    // `done` may send requests, or break the connection (the channel is
    // then freed after this callback).
    if (p.done) p.done(*reply);
}

void Client::broken(const std::string& reason, bool quiet) {
    if (!quiet) log::warn("problem talking to server %s: %s", options_.service.c_str(), reason.c_str());
    channel_.reset();
    timer_.cancel();
    announced_ = false;
    while (!pending_.empty()) {
        fail_later(std::move(pending_.front().done));
        pending_.pop_front();
    }
}

}  // namespace mailroom::anvil
