// channel.cc - see channel.h.
//
// Description
//   A plain channel does its own I/O on two libevent events and two
//   evbuffers rather than through a socket bufferevent, which per SMTP
//   reply added and removed the write interest (two epoll_ctl calls) and
//   asked the kernel how much to read (an ioctl(FIONREAD) per read):
//   - write() queues and schedules a flush on the loop's next turn (no
//     system call), so the replies to pipelined commands leave in one
//     writev; only what the socket does not take waits for the write
//     event;
//   - reads go straight into the input evbuffer, up to 16 KiB or what
//     max_input leaves;
//   - pause_reading() only stops reading: the read event stays registered
//     and is removed the first time it fires while reading is paused, so a
//     session that pauses while it waits for a lookup, and resumes, makes
//     no epoll_ctl call unless the client sent something meanwhile.
//   TLS channels use libevent's OpenSSL bufferevent (channel_tls.cc, a
//   separate object, so that programs that never call start_tls() link
//   neither OpenSSL nor libevent_openssl).
#include "lib/event/channel.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace mailroom::event {

namespace {

timeval to_timeval(std::chrono::milliseconds ms) {
    timeval tv{};
    tv.tv_sec = static_cast<time_t>(ms.count() / 1000);
    tv.tv_usec = static_cast<suseconds_t>((ms.count() % 1000) * 1000);
    return tv;
}

constexpr std::size_t kReadSize = 16 * 1024;  // the most one read takes

}  // namespace

void Channel::Deleter::operator()(Channel* channel) const {
    if (channel) channel->release();
}

Channel::Ptr Channel::create(Loop& loop, int fd, Options options) {
    Ptr ch(new Channel(loop, fd, util::UniqueFd(), options));
    if (!ch->attach_plain()) return nullptr;
    return ch;
}

Channel::Ptr Channel::create(Loop& loop, util::UniqueFd fd, Options options) {
    int raw = fd.get();
    Ptr ch(new Channel(loop, raw, std::move(fd), options));
    if (!ch->attach_plain()) return nullptr;
    return ch;
}

Channel::Channel(Loop& loop, int fd, util::UniqueFd owned, Options options)
    : loop_(loop), fd_(fd), owned_(std::move(owned)), options_(options) {
    evutil_make_socket_nonblocking(fd_);
    kick_ = event_new(loop_.base(), -1, 0, &Channel::kick_cb, this);
}

Channel::~Channel() {
    if (bev_) bufferevent_free(bev_);
    detach_plain();
    if (kick_) event_free(kick_);
}

bool Channel::attach_plain() {
    if (!kick_) return false;
    in_ = evbuffer_new();
    out_ = evbuffer_new();
    rev_ = event_new(loop_.base(), fd_, EV_READ | EV_PERSIST, &Channel::plain_read_cb, this);
    wev_ = event_new(loop_.base(), fd_, EV_WRITE | EV_PERSIST, &Channel::plain_write_cb, this);
    flush_ = event_new(loop_.base(), -1, 0, &Channel::flush_cb, this);
    if (!in_ || !out_ || !rev_ || !wev_ || !flush_) return false;
    if (reading_) arm_read();
    return true;
}

void Channel::detach_plain() {
    for (::event** e : {&rev_, &wev_, &flush_}) {
        if (*e) event_free(*e);
        *e = nullptr;
    }
    for (evbuffer** b : {&in_, &out_}) {
        if (*b) evbuffer_free(*b);
        *b = nullptr;
    }
    read_armed_ = false;
}

evbuffer* Channel::input() const { return bev_ ? bufferevent_get_input(bev_) : in_; }
evbuffer* Channel::output() const { return bev_ ? bufferevent_get_output(bev_) : out_; }

// (Re)registers the read event; its timeout starts again.
void Channel::arm_read() {
    if (!rev_ || released_) return;
    if (read_armed_ && options_.read_timeout.count() == 0) return;
    timeval rt = to_timeval(options_.read_timeout);
    event_add(rev_, options_.read_timeout.count() > 0 ? &rt : nullptr);
    read_armed_ = true;
}

void Channel::disarm_read() {
    if (rev_ && read_armed_) event_del(rev_);
    read_armed_ = false;
}

// Input was taken: reading goes on if max_input had stopped it.
void Channel::input_taken() {
    if (full_ && reading_ && input_size() < options_.max_input) {
        full_ = false;
        arm_read();
    }
}

void Channel::release() {
    if (released_) return;
    released_ = true;
    if (bev_) {
        bufferevent_disable(bev_, EV_READ | EV_WRITE);
        bufferevent_setcb(bev_, nullptr, nullptr, nullptr, nullptr);
    }
    for (::event* e : {rev_, wev_, flush_})
        if (e) event_del(e);
    read_armed_ = false;
    if (kick_) event_del(kick_);
    // Inside one of our own handlers the stack still holds us (and libevent
    // its bufferevent): the loop frees us once that callback has returned.
    if (depth_ > 0) {
        loop_.defer([this] { delete this; });
    } else {
        delete this;
    }
}

template <class F>
void Channel::call(F&& f) {
    if (released_) return;
    ++depth_;
    f();
    --depth_;
}

void Channel::set_timeouts(std::chrono::milliseconds read, std::chrono::milliseconds write) {
    options_.read_timeout = read;
    options_.write_timeout = write;
    if (!bev_) {
        // event_add() without a timeout would keep the old one: removed first.
        if (read_armed_) {
            disarm_read();
            arm_read();
        }
        if (wev_ && event_pending(wev_, EV_WRITE, nullptr)) {
            timeval wt = to_timeval(write);
            event_del(wev_);
            event_add(wev_, write.count() > 0 ? &wt : nullptr);
        }
        return;
    }
    timeval rt = to_timeval(read), wt = to_timeval(write);
    bufferevent_set_timeouts(bev_, read.count() > 0 ? &rt : nullptr, write.count() > 0 ? &wt : nullptr);
}

// Input

std::size_t Channel::input_size() const {
    evbuffer* in = input();
    return in ? evbuffer_get_length(in) : 0;
}

std::string Channel::read_all() {
    std::string out(input_size(), '\0');
    if (!out.empty()) evbuffer_remove(input(), out.data(), out.size());
    input_taken();
    return out;
}

std::string Channel::read(std::size_t max) {
    std::string out(std::min(max, input_size()), '\0');
    if (!out.empty()) evbuffer_remove(input(), out.data(), out.size());
    input_taken();
    return out;
}

std::string Channel::peek(std::size_t max) const {
    std::string out(std::min(max, input_size()), '\0');
    if (!out.empty()) evbuffer_copyout(input(), out.data(), out.size());
    return out;
}

void Channel::consume(std::size_t n) {
    if (evbuffer* in = input()) evbuffer_drain(in, n);
    input_taken();
}

void Channel::skip_line() { skipping_ = true; }

bool Channel::read_line(Line* out) {
    bool got = take_line(out);
    input_taken();
    return got;
}

bool Channel::take_line(Line* out) {
    evbuffer* in = input();
    if (!in) return false;
    if (skipping_) {
        evbuffer_ptr lf = evbuffer_search(in, "\n", 1, nullptr);
        if (lf.pos < 0) {
            evbuffer_drain(in, evbuffer_get_length(in));
            return false;
        }
        evbuffer_drain(in, static_cast<size_t>(lf.pos) + 1);
        skipping_ = false;
    }
    size_t len = evbuffer_get_length(in);
    if (len == 0) return false;
    // Only the first max_line + 2 bytes (a full line and its CR LF) matter.
    size_t window = std::min(len, options_.max_line + 2);
    evbuffer_ptr end;
    evbuffer_ptr_set(in, &end, window, EVBUFFER_PTR_SET);
    evbuffer_ptr lf = evbuffer_search_range(in, "\n", 1, nullptr, &end);
    if (lf.pos >= 0) {
        size_t n = static_cast<size_t>(lf.pos);
        std::string text(n, '\0');
        if (n > 0) evbuffer_copyout(in, text.data(), n);
        bool cr = !text.empty() && text.back() == '\r';
        if (cr) text.pop_back();
        if (text.size() <= options_.max_line) {
            evbuffer_drain(in, n + 1);
            out->text = std::move(text);
            out->complete = true;
            out->bare_lf = !cr;
            return true;
        }
    } else if (len < options_.max_line + 2) {
        return false;  // the rest of the line has not arrived
    }
    // Longer than max_line: its first max_line bytes.
    out->text.assign(options_.max_line, '\0');
    evbuffer_remove(in, out->text.data(), options_.max_line);
    out->complete = false;
    out->bare_lf = false;
    return true;
}

void Channel::pause_reading() {
    reading_ = false;
    // A plain channel keeps its read event until it fires (plain_read_cb).
    if (bev_) bufferevent_disable(bev_, EV_READ);
}

void Channel::resume_reading() {
    reading_ = true;
    if (bev_ && !released_) bufferevent_enable(bev_, EV_READ);
    if (!bev_ && !(full_ && input_size() >= options_.max_input)) {
        full_ = false;
        arm_read();
    }
    schedule_input();
}

void Channel::schedule_input() {
    if (kick_ && !released_ && input_size() > 0) event_active(kick_, EV_TIMEOUT, 0);
}

// Output

void Channel::write(std::string_view bytes) {
    if (released_ || bytes.empty()) return;
    if (bev_) {
        bufferevent_write(bev_, bytes.data(), bytes.size());
        return;
    }
    if (!out_ || output_failed_) return;
    bool idle = evbuffer_get_length(out_) == 0;
    evbuffer_add(out_, bytes.data(), bytes.size());
    // With output already queued a flush or the write event is pending.
    if (idle) event_active(flush_, EV_TIMEOUT, 0);
}

// Writes what is queued; false after an error was reported.
bool Channel::write_out() {
    int n = evbuffer_write(out_, fd_);
    if (n < 0) {
        int err = errno;
        if (err == EAGAIN || err == EWOULDBLOCK || err == EINTR) return true;
        event_del(wev_);
        output_failed_ = true;
        emit(Event::kError, std::strerror(err));
        return false;
    }
    if (n == 0 && evbuffer_get_length(out_) > 0) {
        event_del(wev_);
        output_failed_ = true;
        emit(Event::kEof, "lost connection");
        return false;
    }
    return true;
}

std::size_t Channel::output_size() const {
    evbuffer* out = output();
    return out ? evbuffer_get_length(out) : 0;
}

// libevent callbacks

void Channel::read_cb(bufferevent*, void* arg) {
    auto* self = static_cast<Channel*>(arg);
    if (!self->reading_) return;
    self->call([self] {
        auto h = self->on_input_;
        if (h) h();
    });
}

void Channel::plain_read_cb(int, short what, void* arg) {
    auto* self = static_cast<Channel*>(arg);
    if (self->released_) return;
    if (!self->reading_) {
        // Paused: stop watching until resume_reading().
        self->disarm_read();
        return;
    }
    if (what & EV_TIMEOUT) {
        self->disarm_read();
        self->emit(Event::kTimeout, "timeout");
        return;
    }
    std::size_t have = evbuffer_get_length(self->in_);
    if (have >= self->options_.max_input) {
        self->full_ = true;
        self->disarm_read();
        return;
    }
    std::size_t want = std::min(kReadSize, self->options_.max_input - have);
    evbuffer_iovec v;
    if (evbuffer_reserve_space(self->in_, static_cast<ev_ssize_t>(want), &v, 1) < 1) return;
    ssize_t n = ::read(self->fd_, v.iov_base, std::min(want, v.iov_len));
    if (n <= 0) {
        int err = errno;
        evbuffer_commit_space(self->in_, nullptr, 0);
        if (n < 0 && (err == EAGAIN || err == EWOULDBLOCK || err == EINTR)) return;
        // As a bufferevent: reading stops until resume_reading().
        self->disarm_read();
        if (n == 0)
            self->emit(Event::kEof, "lost connection");
        else
            self->emit(Event::kError, std::strerror(err));
        return;
    }
    v.iov_len = static_cast<size_t>(n);
    evbuffer_commit_space(self->in_, &v, 1);
    if (have + static_cast<size_t>(n) >= self->options_.max_input) {
        self->full_ = true;
        self->disarm_read();
    }
    read_cb(nullptr, arg);
}

void Channel::plain_write_cb(int, short what, void* arg) {
    auto* self = static_cast<Channel*>(arg);
    if (self->released_) return;
    if (what & EV_TIMEOUT) {
        event_del(self->wev_);
        self->emit(Event::kTimeout, "timeout");
        return;
    }
    if (!self->write_out() || evbuffer_get_length(self->out_) > 0) return;
    event_del(self->wev_);
    write_cb(nullptr, arg);
}

// The flush write() scheduled: everything at once when the socket takes
// it, else the rest waits for the write event.
void Channel::flush_cb(int, short, void* arg) {
    auto* self = static_cast<Channel*>(arg);
    if (self->released_ || self->bev_ || !self->out_ || self->output_failed_) return;
    if (evbuffer_get_length(self->out_) == 0 || event_pending(self->wev_, EV_WRITE, nullptr)) return;
    if (!self->write_out()) return;
    if (evbuffer_get_length(self->out_) > 0) {
        timeval wt = to_timeval(self->options_.write_timeout);
        event_add(self->wev_, self->options_.write_timeout.count() > 0 ? &wt : nullptr);
        return;
    }
    write_cb(nullptr, arg);
}

void Channel::emit(Event ev, const std::string& reason) {
    call([this, ev, &reason] {
        auto h = on_event_;
        if (h) h(ev, reason);
    });
}

void Channel::kick_cb(int, short, void* arg) {
    auto* self = static_cast<Channel*>(arg);
    if (!self->reading_ || self->input_size() == 0) return;
    read_cb(self->bev_, arg);
}

void Channel::write_cb(bufferevent*, void* arg) {
    auto* self = static_cast<Channel*>(arg);
    self->call([self] {
        auto h = self->on_drained_;
        if (h) h();
    });
}

}  // namespace mailroom::event
