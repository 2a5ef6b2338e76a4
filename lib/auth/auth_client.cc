// auth_client.cc - see auth_client.h.
#include "lib/auth/auth_client.h"

#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "lib/event/channel.h"
#include "lib/ipc/ipc_socket.h"
#include "lib/util/strings.h"

namespace mailroom::auth {

namespace {

AuthResult temp_fail(std::string reason) {
    AuthResult r;
    r.kind = AuthResult::Kind::kTempFail;
    r.reason = std::move(reason);
    return r;
}

// The outcome of a complete reply (ReplyDecoder gave kReply).
AuthResult from_reply(Reply reply, const AuthClientOptions& o) {
    AuthResult r;
    switch (reply.kind) {
        case Reply::Kind::kFail:
            r.kind = AuthResult::Kind::kFail;
            break;
        case Reply::Kind::kTempFail:
            r.kind = AuthResult::Kind::kTempFail;
            r.reason = "problem talking to server " + o.service + ": connection closed without a reply";
            break;
        default:
            r.kind = AuthResult::Kind::kOk;
            break;
    }
    r.reply = std::move(reply);
    return r;
}

// Connecting to a UNIX socket never waits (a timeout of 0).
Result<util::UniqueFd> connect_now(const AuthClientOptions& o) {
    auto fd = ipc::connect_unix(o.socket_path, 0);
    if (!fd) {
        // connect_unix names the absolute path; the log names the service.
        std::string why = fd.error().message;
        size_t colon = why.rfind(": ");
        return make_temp_error("connect to " + o.service + ": " +
                               (colon == std::string::npos ? why : why.substr(colon + 2)));
    }
    return fd;
}

}  // namespace

std::string authd_socket_path(std::string_view queue_directory, std::string_view path) {
    if (!path.empty() && path.front() == '/') return std::string(path);
    std::string out(queue_directory);
    if (!out.empty() && out.back() != '/') out += '/';
    return out + std::string(path);
}

struct AuthClient::Op {
    event::Channel::Ptr channel;
    event::Timer timer;
    ReplyDecoder decoder;
    Done done;
    explicit Op(RequestType type) : decoder(type) {}
};

AuthClient::AuthClient(event::Loop& loop, AuthClientOptions options) : loop_(loop), options_(std::move(options)) {}

AuthClient::~AuthClient() = default;

void AuthClient::finish(std::uint64_t id, AuthResult result) {
    auto it = ops_.find(id);
    if (it == ops_.end()) return;
    Done done = std::move(it->second->done);
    // The channel or the timer may be the caller of this: both may be
    // dropped inside their own callbacks (the channel is freed after it),
    // and neither calls back once dropped.
    ops_.erase(it);
    if (done) done(std::move(result));
}

std::uint64_t AuthClient::request(const Request& request, Done done) {
    std::uint64_t id = next_id_++;
    auto op = std::make_unique<Op>(request.type);
    op->done = std::move(done);
    Op* raw = op.get();
    ops_.emplace(id, std::move(op));
    std::weak_ptr<int> alive = alive_;
    auto fail_later = [this, alive, id](std::string why) {
        loop_.defer([this, alive, id, why = std::move(why)] {
            if (!alive.expired()) finish(id, temp_fail(why));
        });
    };

    auto bytes = encode_request(request);
    if (!bytes) {
        fail_later("cannot send to " + options_.service + ": " + bytes.error().message);
        return id;
    }
    auto fd = connect_now(options_);
    if (!fd) {
        fail_later(fd.error().message);
        return id;
    }
    event::ChannelOptions co;
    co.max_line = kMaxLine;
    co.max_input = kMaxReply;
    raw->channel = event::Channel::create(loop_, std::move(*fd), co);
    if (!raw->channel) {
        fail_later("cannot make a channel to " + options_.service);
        return id;
    }
    raw->timer = event::Timer(loop_, [this, id] {
        finish(id, temp_fail("problem talking to server " + options_.service + ": timeout"));
    });
    raw->timer.start(options_.timeout);
    raw->channel->on_input([this, id, raw] {
        std::string in = raw->channel->read_all();
        std::size_t used = 0;
        auto step = raw->decoder.feed(in, &used);
        if (step == ReplyDecoder::Step::kError)
            return finish(id, temp_fail("problem talking to server " + options_.service + ": " +
                                        raw->decoder.error().message));
        if (step == ReplyDecoder::Step::kReply) return finish(id, from_reply(raw->decoder.take(), options_));
    });
    raw->channel->on_event([this, id, raw](event::Channel::Event e, const std::string& why) {
        if (e == event::Channel::Event::kEof) {
            // Input buffered before the end has been delivered to on_input.
            std::string in = raw->channel->read_all();
            std::size_t used = 0;
            auto step = raw->decoder.feed(in, &used);
            if (step == ReplyDecoder::Step::kNeedMore) step = raw->decoder.finish();
            if (step == ReplyDecoder::Step::kReply) return finish(id, from_reply(raw->decoder.take(), options_));
            return finish(id, temp_fail("problem talking to server " + options_.service + ": " +
                                        raw->decoder.error().message));
        }
        finish(id, temp_fail("problem talking to server " + options_.service + ": " +
                             (e == event::Channel::Event::kTimeout ? std::string("timeout") : why)));
    });
    raw->channel->write(*bytes);
    return id;
}

void AuthClient::cancel(std::uint64_t id) {
    auto it = ops_.find(id);
    if (it == ops_.end()) return;
    ops_.erase(it);
}

AuthResult authd_call(const AuthClientOptions& options, const Request& request) {
    auto bytes = encode_request(request);
    if (!bytes) return temp_fail("cannot send to " + options.service + ": " + bytes.error().message);
    auto fd = connect_now(options);
    if (!fd) return temp_fail(fd.error().message);
    auto deadline = std::chrono::steady_clock::now() + options.timeout;
    auto wait = [&](short events) -> bool {
        for (;;) {
            auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline -
                                                                              std::chrono::steady_clock::now());
            if (left.count() <= 0) return false;
            pollfd p{fd->get(), events, 0};
            int n = ::poll(&p, 1, static_cast<int>(left.count()));
            if (n > 0) return true;
            if (n < 0 && errno != EINTR) return false;
        }
    };
    const std::string problem = "problem talking to server " + options.service + ": ";
    std::string out = *bytes;
    for (;;) {
        std::string error;
        auto st = ipc::send_pending(fd->get(), out, &error);
        if (st == ipc::SendStep::kDone) break;
        if (st == ipc::SendStep::kError) return temp_fail(problem + error);
        if (!wait(POLLOUT)) return temp_fail(problem + "timeout");
    }
    ReplyDecoder decoder(request.type);
    char buf[4096];
    for (;;) {
        if (!wait(POLLIN)) return temp_fail(problem + "timeout");
        ssize_t n = ::recv(fd->get(), buf, sizeof(buf), 0);
        if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)) continue;
        if (n < 0) return temp_fail(problem + std::strerror(errno));
        ReplyDecoder::Step step;
        if (n == 0) {
            step = decoder.finish();
        } else {
            std::size_t used = 0;
            step = decoder.feed(std::string_view(buf, static_cast<size_t>(n)), &used);
        }
        if (step == ReplyDecoder::Step::kError) return temp_fail(problem + decoder.error().message);
        if (step == ReplyDecoder::Step::kReply) return from_reply(decoder.take(), options);
    }
}

}  // namespace mailroom::auth
