// channel.cc - see channel.h.
#include "lib/event/channel.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/time.h>
#include <unistd.h>

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

std::string openssl_errors(bufferevent* bev) {
    std::string reason;
    while (unsigned long e = bufferevent_get_openssl_error(bev)) {
        char buf[256];
        ERR_error_string_n(e, buf, sizeof(buf));
        if (!reason.empty()) reason += ": ";
        reason += buf;
    }
    return reason;
}

}  // namespace

void Channel::Deleter::operator()(Channel* channel) const {
    if (channel) channel->release();
}

Channel::Ptr Channel::create(Loop& loop, int fd, Options options) {
    Ptr ch(new Channel(loop, fd, util::UniqueFd(), options));
    if (!ch->attach(bufferevent_socket_new(loop.base(), fd, 0))) return nullptr;
    return ch;
}

Channel::Ptr Channel::create(Loop& loop, util::UniqueFd fd, Options options) {
    int raw = fd.get();
    Ptr ch(new Channel(loop, raw, std::move(fd), options));
    if (!ch->attach(bufferevent_socket_new(loop.base(), raw, 0))) return nullptr;
    return ch;
}

Channel::Channel(Loop& loop, int fd, util::UniqueFd owned, Options options)
    : loop_(loop), fd_(fd), owned_(std::move(owned)), options_(options) {
    evutil_make_socket_nonblocking(fd_);
    kick_ = event_new(loop_.base(), -1, 0, &Channel::kick_cb, this);
}

Channel::~Channel() {
    if (bev_) bufferevent_free(bev_);
    if (kick_) event_free(kick_);
}

bool Channel::attach(bufferevent* bev) {
    if (!bev || !kick_) return false;
    bev_ = bev;
    bufferevent_setcb(bev_, &Channel::read_cb, &Channel::write_cb, &Channel::event_cb, this);
    set_timeouts(options_.read_timeout, options_.write_timeout);
    bufferevent_setwatermark(bev_, EV_READ, 0, options_.max_input);
    bufferevent_enable(bev_, reading_ ? EV_READ | EV_WRITE : EV_WRITE);
    return true;
}

void Channel::release() {
    if (released_) return;
    released_ = true;
    if (bev_) {
        bufferevent_disable(bev_, EV_READ | EV_WRITE);
        bufferevent_setcb(bev_, nullptr, nullptr, nullptr, nullptr);
    }
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
    if (!bev_) return;
    timeval rt = to_timeval(read), wt = to_timeval(write);
    bufferevent_set_timeouts(bev_, read.count() > 0 ? &rt : nullptr, write.count() > 0 ? &wt : nullptr);
}

// Input

std::size_t Channel::input_size() const { return bev_ ? evbuffer_get_length(bufferevent_get_input(bev_)) : 0; }

std::string Channel::read_all() {
    std::string out(input_size(), '\0');
    if (!out.empty()) evbuffer_remove(bufferevent_get_input(bev_), out.data(), out.size());
    return out;
}

std::string Channel::read(std::size_t max) {
    std::string out(std::min(max, input_size()), '\0');
    if (!out.empty()) evbuffer_remove(bufferevent_get_input(bev_), out.data(), out.size());
    return out;
}

std::string Channel::peek(std::size_t max) const {
    std::string out(std::min(max, input_size()), '\0');
    if (!out.empty()) evbuffer_copyout(bufferevent_get_input(bev_), out.data(), out.size());
    return out;
}

void Channel::consume(std::size_t n) {
    if (bev_) evbuffer_drain(bufferevent_get_input(bev_), n);
}

void Channel::skip_line() { skipping_ = true; }

bool Channel::read_line(Line* out) {
    if (!bev_) return false;
    evbuffer* in = bufferevent_get_input(bev_);
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
    if (bev_) bufferevent_disable(bev_, EV_READ);
}

void Channel::resume_reading() {
    reading_ = true;
    if (bev_ && !released_) bufferevent_enable(bev_, EV_READ);
    schedule_input();
}

void Channel::schedule_input() {
    if (kick_ && !released_ && input_size() > 0) event_active(kick_, EV_TIMEOUT, 0);
}

// Output

void Channel::write(std::string_view bytes) {
    if (bev_ && !released_ && !bytes.empty()) bufferevent_write(bev_, bytes.data(), bytes.size());
}

std::size_t Channel::output_size() const {
    return bev_ ? evbuffer_get_length(bufferevent_get_output(bev_)) : 0;
}

// TLS

bool Channel::start_tls(SSL* ssl, bool accepting) {
    if (!ssl) return false;
    if (bev_) {
        // Plaintext that came after the command that started TLS never
        // counts as input inside TLS.
        evbuffer* in = bufferevent_get_input(bev_);
        evbuffer_drain(in, evbuffer_get_length(in));
        bufferevent_free(bev_);
        bev_ = nullptr;
    }
    skipping_ = false;
    // The TLS bufferevent owns a duplicate of the socket and the SSL object.
    int dup = ::dup(fd_);
    bufferevent* bev =
        dup < 0 ? nullptr
                : bufferevent_openssl_socket_new(loop_.base(), dup, ssl,
                                                 accepting ? BUFFEREVENT_SSL_ACCEPTING : BUFFEREVENT_SSL_CONNECTING,
                                                 BEV_OPT_CLOSE_ON_FREE);
    if (!bev) {
        SSL_free(ssl);
        if (dup >= 0) ::close(dup);
        return false;
    }
    bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
    handshaking_ = true;
    tls_ = true;
    return attach(bev);
}

SSL* Channel::ssl() const { return tls_ && bev_ ? bufferevent_openssl_get_ssl(bev_) : nullptr; }

void Channel::close_tls() {
    if (SSL* s = ssl()) SSL_shutdown(s);
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

void Channel::event_cb(bufferevent* bev, short what, void* arg) {
    auto* self = static_cast<Channel*>(arg);
    Event ev;
    std::string reason;
    if (self->handshaking_ && (what & BEV_EVENT_CONNECTED)) {
        self->handshaking_ = false;
        ev = Event::kTlsReady;
    } else if (self->handshaking_ && (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))) {
        self->handshaking_ = false;
        reason = openssl_errors(bev);
        if (reason.empty()) reason = (what & BEV_EVENT_EOF) ? "lost connection" : std::strerror(errno);
        ev = Event::kTlsFailed;
    } else if (what & BEV_EVENT_TIMEOUT) {
        ev = Event::kTimeout;
        reason = "timeout";
    } else if ((what & BEV_EVENT_EOF) && !(what & BEV_EVENT_ERROR)) {
        ev = Event::kEof;
        reason = "lost connection";
    } else if (what & BEV_EVENT_ERROR) {
        ev = Event::kError;
        int err = EVUTIL_SOCKET_ERROR();
        reason = self->tls_ ? openssl_errors(bev) : std::string();
        if (reason.empty()) reason = err ? std::strerror(err) : "lost connection";
    } else {
        return;
    }
    self->call([self, ev, &reason] {
        auto h = self->on_event_;
        if (h) h(ev, reason);
    });
}

}  // namespace mailroom::event
