// channel_tls.cc - TLS on a Channel (see channel.h): start_tls() moves the
// socket onto libevent's OpenSSL bufferevent, whose events end up here.
//
// Description
//   Only this object calls OpenSSL and libevent_openssl, and only
//   start_tls() brings it into a program: a process that never starts TLS
//   (cleanup, qmgr) links channel.cc alone and does not map libssl or
//   libcrypto.
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "lib/event/channel.h"

namespace mailroom::event {

namespace {

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

// The TLS bufferevent takes the channel's I/O from here on.
bool Channel::attach(bufferevent* bev) {
    if (!bev || !kick_) return false;
    bev_ = bev;
    bufferevent_setcb(bev_, &Channel::read_cb, &Channel::write_cb, &Channel::event_cb, this);
    set_timeouts(options_.read_timeout, options_.write_timeout);
    bufferevent_setwatermark(bev_, EV_READ, 0, options_.max_input);
    bufferevent_enable(bev_, reading_ ? EV_READ | EV_WRITE : EV_WRITE);
    return true;
}

bool Channel::start_tls(SSL* ssl, bool accepting) {
    if (!ssl) return false;
    // Plaintext that came after the command that started TLS never counts
    // as input inside TLS: the plain buffers go with their events.
    if (bev_) {
        bufferevent_free(bev_);
        bev_ = nullptr;
    }
    detach_plain();
    full_ = false;
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
    self->emit(ev, reason);
}

}  // namespace mailroom::event
