// clamd_client.cc - the INSTREAM codec and one scan on the loop; see clamd_client.h.
#include "lib/clamav/clamd_client.h"

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace mailroom::clamav {

namespace {

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ' || s.back() == '\0'))
        s.remove_suffix(1);
    while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
    return s;
}

bool ends_with(std::string_view s, std::string_view tail) {
    return s.size() >= tail.size() && s.substr(s.size() - tail.size()) == tail;
}

}  // namespace

Result<Endpoint> parse_endpoint(std::string_view spec) {
    auto a = event::parse_stream_address(spec);
    if (!a) return make_error("clamd socket: " + a.error().message);
    return *a;
}

std::string frame_chunk(std::string_view data) {
    std::string out;
    out.reserve(4 + data.size());
    auto n = static_cast<std::uint32_t>(data.size());
    out.push_back(static_cast<char>((n >> 24) & 0xff));
    out.push_back(static_cast<char>((n >> 16) & 0xff));
    out.push_back(static_cast<char>((n >> 8) & 0xff));
    out.push_back(static_cast<char>(n & 0xff));
    out.append(data);
    return out;
}

std::string end_of_stream() { return std::string(4, '\0'); }

Result<Verdict> parse_reply(std::string_view reply) {
    std::string_view r = trim(reply);
    Verdict v;
    v.text = std::string(r);
    // With IDSESSION clamd prefixes "N: "; a plain INSTREAM reply has none.
    if (auto colon = r.find(": "); colon != std::string_view::npos && colon > 0 &&
                                   r.substr(0, colon).find_first_not_of("0123456789") == std::string_view::npos)
        r.remove_prefix(colon + 2);
    if (ends_with(r, " ERROR")) {
        v.kind = Verdict::Kind::kError;
        return v;
    }
    if (!r.starts_with("stream: ")) return make_error("unexpected clamd reply: " + v.text);
    std::string_view rest = r.substr(8);
    if (rest == "OK") {
        v.kind = Verdict::Kind::kClean;
        return v;
    }
    if (ends_with(rest, " FOUND") && rest.size() > 6) {
        v.kind = Verdict::Kind::kInfected;
        v.virus = std::string(trim(rest.substr(0, rest.size() - 6)));
        if (v.virus.empty()) return make_error("unexpected clamd reply: " + v.text);
        return v;
    }
    return make_error("unexpected clamd reply: " + v.text);
}

// ---------------------------------------------------------------------------
// InstreamScan

InstreamScan::InstreamScan(event::Loop& loop, ScanOptions options) : loop_(loop), options_(options) {}

InstreamScan::~InstreamScan() {
    if (channel_) loop_.release_later(std::move(channel_));
}

std::unique_ptr<InstreamScan> InstreamScan::start(event::Loop& loop, const Endpoint& endpoint, ScanOptions options) {
    std::unique_ptr<InstreamScan> scan(new InstreamScan(loop, options));
    scan->before_.append(kInstreamCommand);
    InstreamScan* raw = scan.get();
    // The connector's own timeout bounds the connect.
    scan->connector_ = event::Connector::start(loop, endpoint, options.timeout, [raw](Result<util::UniqueFd> fd) {
        raw->connector_.reset();
        if (!fd) return raw->fail(fd.error().message);
        raw->connected(std::move(*fd));
    });
    return scan;
}

void InstreamScan::arm_timer() {
    if (options_.timeout.count() <= 0) return;
    timer_ = event::Timer(loop_, [this] { fail("timeout"); });
    timer_.start(options_.timeout);
}

void InstreamScan::connected(util::UniqueFd fd) {
    timer_ = event::Timer();
    // The reply comes only at the end: no read timeout while streaming.
    channel_ = event::Channel::create(loop_, std::move(fd),
                                      {.max_line = kMaxReply, .max_input = kMaxReply * 4,
                                       .read_timeout = std::chrono::milliseconds(0),
                                       .write_timeout = options_.timeout});
    if (!channel_) return fail("out of memory");
    channel_->on_input([this] { read_reply(false); });
    channel_->on_drained([this] {
        if (on_drained_) on_drained_();
    });
    channel_->on_event([this](event::Channel::Event ev, const std::string& why) { on_event(ev, why); });
    channel_->write(before_);
    before_.clear();
    before_.shrink_to_fit();
    if (finishing_) arm_timer();
}

void InstreamScan::write(std::string_view data) {
    if (failed()) return;
    if (options_.max_length > 0) {
        std::uint64_t room = options_.max_length > sent_ ? options_.max_length - sent_ : 0;
        if (data.size() > room) {
            data = data.substr(0, static_cast<std::size_t>(room));
            truncated_ = true;
        }
    }
    while (!data.empty()) {
        std::size_t take = std::min(data.size(), kChunkSize - pending_.size());
        pending_.append(data.substr(0, take));
        data.remove_prefix(take);
        sent_ += take;
        if (pending_.size() >= kChunkSize) flush_chunk();
    }
}

void InstreamScan::flush_chunk() {
    if (pending_.empty()) return;
    std::string frame = frame_chunk(pending_);
    pending_.clear();
    if (channel_) channel_->write(frame);
    else before_.append(frame);
}

std::size_t InstreamScan::unsent() const {
    if (failed()) return 0;
    return before_.size() + (channel_ ? channel_->output_size() : 0);
}

void InstreamScan::finish(Done done) {
    done_ = std::move(done);
    finishing_ = true;
    if (!failed()) {
        flush_chunk();
        if (channel_) channel_->write(end_of_stream());
        else before_.append(end_of_stream());
        if (channel_) arm_timer();  // else: armed once connected
    }
    maybe_done();
}

void InstreamScan::on_event(event::Channel::Event ev, const std::string& reason) {
    if (ev == event::Channel::Event::kEof) return read_reply(true);
    if (have_reply_) return;  // clamd answered early and closed: writes fail
    if (ev == event::Channel::Event::kTimeout) return fail("timeout");
    // clamd that stops a stream (its StreamMaxLength) answers and closes;
    // our next write then fails before the answer may have been read.
    if (channel_) {
        std::string data = channel_->peek(kMaxReply);
        char buf[kMaxReply];
        ssize_t n = ::recv(channel_->fd(), buf, kMaxReply - std::min(data.size(), kMaxReply), MSG_DONTWAIT);
        if (n > 0) data.append(buf, static_cast<std::size_t>(n));
        if (!data.empty()) {
            auto end = data.find('\0');
            if (end != std::string::npos) data.resize(end);
            reply_ = std::move(data);
            have_reply_ = true;
            pending_.clear();
            stopped();
            return maybe_done();
        }
    }
    fail(reason.empty() ? "connection error" : reason);
}

void InstreamScan::read_reply(bool eof) {
    if (have_reply_ || failed_ || !channel_) return;
    std::string data = channel_->peek(kMaxReply + 1);
    auto end = data.find('\0');
    if (end == std::string::npos && !eof && data.size() <= kMaxReply) return;
    if (end == std::string::npos && data.empty()) return fail("lost connection without a reply");
    if (end != std::string::npos) data.resize(end);
    if (data.size() > kMaxReply) data.resize(kMaxReply);
    reply_ = std::move(data);
    have_reply_ = true;
    pending_.clear();
    channel_->pause_reading();
    stopped();
    maybe_done();
}

void InstreamScan::fail(const std::string& why) {
    if (failed_ || have_reply_) return;
    failed_ = true;
    error_ = why;
    pending_.clear();
    before_.clear();
    timer_ = event::Timer();
    connector_.reset();
    if (channel_) loop_.release_later(std::move(channel_));
    stopped();
    maybe_done();
}

void InstreamScan::stopped() {
    // A writer waiting for room learns (at its next write) that nothing
    // more is sent; from the loop, as it may drop the scan.
    std::weak_ptr<int> alive = alive_;
    loop_.defer([this, alive] {
        if (!alive.expired() && on_drained_) on_drained_();
    });
}

void InstreamScan::maybe_done() {
    if (!finishing_ || !done_ || !(failed_ || have_reply_)) return;
    timer_ = event::Timer();
    Result<Verdict> result = failed_ ? Result<Verdict>(make_error(error_)) : parse_reply(reply_);
    std::weak_ptr<int> alive = alive_;
    loop_.defer([this, alive, done = std::move(done_), result = std::move(result)]() mutable {
        if (alive.expired()) return;
        done(std::move(result));
    });
    done_ = nullptr;
}

}  // namespace mailroom::clamav
