// milter_client.cc - see milter_client.h.
#include "lib/milter/milter_client.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace mailroom::milter {

MilterClient::Ptr MilterClient::create(event::Loop& loop, const MilterSpec& spec) {
    return Ptr(new MilterClient(loop, spec));
}

MilterClient::MilterClient(event::Loop& loop, const MilterSpec& spec) : loop_(loop), spec_(spec) {
    timer_ = event::Timer(loop_, [this] {
        fail(negotiating_ ? "timeout while negotiating" : connector_ && !channel_ ? "connect: Connection timed out"
                                                                                   : "timeout while waiting for a reply");
    });
}

MilterClient::~MilterClient() = default;

void MilterClient::later(std::function<void()> fn) {
    std::weak_ptr<int> alive = alive_;
    loop_.defer([alive, fn = std::move(fn)] {
        if (!alive.expired()) fn();
    });
}

void MilterClient::connect(std::uint32_t actions, std::function<void(Status)> ready) {
    offered_actions_ = actions;
    ready_ = std::move(ready);
    timer_.start(std::chrono::seconds(spec_.connect_timeout_s));
    // Host names were resolved with the configuration (resolve_socket()).
    if (spec_.socket.inet && spec_.socket.addresses.empty()) {
        std::string why = "cannot resolve " + spec_.socket.host;
        if (!spec_.socket.resolve_error.empty()) why += ": " + spec_.socket.resolve_error;
        return fail(why);
    }
    try_address(0);
}

// Connects to the i-th address of the name; a refusal tries the next.
void MilterClient::try_address(std::size_t i) {
    event::StreamAddress to;
    if (spec_.socket.inet) {
        to.address = spec_.socket.addresses[i];
        to.port = spec_.socket.port_number;
    } else {
        to.path = spec_.socket.path;
    }
    connector_ = event::Connector::start(loop_, to, std::chrono::seconds(spec_.connect_timeout_s),
                                         [this, i](Result<util::UniqueFd> fd) {
                                             if (!fd && spec_.socket.inet && i + 1 < spec_.socket.addresses.size())
                                                 return try_address(i + 1);
                                             if (!fd) return fail("connect: " + fd.error().message);
                                             if (spec_.socket.inet) {
                                                 // A packet may leave in more than one write; Nagle
                                                 // would hold its tail until the milter's delayed
                                                 // ACK (40 ms a body chunk).
                                                 int one = 1;
                                                 (void)::setsockopt(fd->get(), IPPROTO_TCP, TCP_NODELAY, &one,
                                                                    sizeof(one));
                                             }
                                             connecting_fd_ = std::move(*fd);
                                             connected();
                                         });
}

void MilterClient::connected() {
    channel_ = event::Channel::create(loop_, std::move(connecting_fd_), event::ChannelOptions{.max_input = kMaxPacket + 8, .write_timeout = std::chrono::seconds(spec_.content_timeout_s)});
    if (!channel_) return fail("out of memory");
    channel_->on_input([this] { on_input(); });
    channel_->on_event([this](event::Channel::Event ev, const std::string& why) {
        if (ev == event::Channel::Event::kEof) fail("connection closed by milter");
        else if (ev == event::Channel::Event::kTimeout) fail("timeout while writing");
        else fail(why.empty() ? "connection error" : why);
    });
    negotiating_ = true;
    channel_->write(encode_optneg(spec_.protocol, offered_actions_, offered_protocol(spec_.protocol)));
}

void MilterClient::fail(const std::string& why) {
    if (broken_) return;
    broken_ = true;
    error_ = why;
    timer_.cancel();
    connector_.reset();
    connecting_fd_ = util::UniqueFd();
    if (channel_) {
        channel_->on_input(nullptr);
        channel_->on_event(nullptr);
        channel_.reset();
    }
    if (ready_) {
        auto r = std::move(ready_);
        ready_ = nullptr;
        later([r, why] { r(make_temp_error(why)); });
    }
    std::deque<Pending> q = std::move(queue_);
    queue_.clear();
    waiting_ = false;
    for (auto& p : q) {
        if (p.done) later([d = std::move(p.done), why] { d(make_temp_error(why)); });
    }
}

void MilterClient::on_input() {
    if (!channel_) return;
    reader_.feed(channel_->read_all());
    for (;;) {
        auto next = reader_.next();
        if (!next) return fail(next.error().message);
        if (!*next) return;
        Packet p = std::move(**next);
        if (negotiating_) {
            negotiating_ = false;
            timer_.cancel();
            auto n = parse_optneg(p, spec_.protocol, offered_actions_, offered_protocol(spec_.protocol));
            if (!n) return fail(n.error().message);
            negotiated_ = std::move(*n);
            auto r = std::move(ready_);
            ready_ = nullptr;
            if (r) later([r] { r(ok_status()); });
            start_next();
            continue;
        }
        if (!waiting_) return fail(std::string("unexpected reply '") + p.command + "'");
        auto reply = parse_reply(p);
        if (!reply) return fail(reply.error().message);
        if (reply->type == kRepProgress) {
            timer_.start(std::chrono::seconds(queue_.front().timeout_s));
            continue;
        }
        bool last = final_reply(reply->type);
        gathered_.push_back(std::move(*reply));
        if (last) {
            Replies r = std::move(gathered_);
            gathered_.clear();
            complete(std::move(r));
        }
    }
}

void MilterClient::complete(Result<Replies> result) {
    timer_.cancel();
    waiting_ = false;
    Pending p = std::move(queue_.front());
    queue_.pop_front();
    if (p.done) later([d = std::move(p.done), r = std::move(result)]() mutable { d(std::move(r)); });
    start_next();
}

void MilterClient::start_next() {
    while (!broken_ && !waiting_ && !negotiating_ && channel_ && !queue_.empty()) {
        Pending& p = queue_.front();
        channel_->write(p.packets);
        if (p.want_reply) {
            waiting_ = true;
            gathered_.clear();
            timer_.start(std::chrono::seconds(p.timeout_s));
            return;
        }
        complete(Replies{});
    }
}

void MilterClient::request(std::string packets, bool want_reply, int timeout_s, ReplyDone done) {
    if (broken_) {
        std::string why = error_;
        later([done = std::move(done), why] { done(make_temp_error(why)); });
        return;
    }
    queue_.push_back(Pending{std::move(packets), want_reply, timeout_s, std::move(done)});
    start_next();
}

void MilterClient::send(std::string packets) {
    if (broken_) return;
    request(std::move(packets), false, 0, nullptr);
}

}  // namespace mailroom::milter
