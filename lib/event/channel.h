// channel.h - the connection type of every event-loop process: a socket
// with buffered line I/O, optional TLS, timeouts and safe deferred delete.
//
// Summary
//   A Channel wraps one connected stream socket on a Loop (a libevent
//   bufferevent underneath). The owner reads what arrived (whole buffer,
//   or line by line with a bounded line length), writes replies, gets told
//   when the output has drained, and learns about end of input, errors,
//   timeouts and the end of a TLS handshake through one event handler.
//   lib/ipc/attr_channel.h puts attribute records on top of it; smtpd's
//   session reads SMTP command and DATA lines with it.
//
//     auto ch = event::Channel::create(loop, fd, {.max_line = 2048,
//                                                 .read_timeout = 300s});
//     ch->on_input([&] { event::Channel::Line l; while (ch->read_line(&l)) ... });
//     ch->on_event([&](event::Channel::Event e, const std::string& why) { ... });
//
// Description
//   Ownership. create() returns a Channel::Ptr. The descriptor is either
//   borrowed (create(loop, int fd): a server::Connection keeps it and
//   counts the session) or owned (create(loop, UniqueFd)). Dropping the
//   Ptr is always safe, also from inside one of the channel's own
//   callbacks: the channel then stops calling back at once and is freed
//   after that callback has returned (deferred delete). Nothing is called
//   back after the Ptr is gone.
//
//   Input. Reading stops while more than max_input bytes wait unread
//   (back-pressure on a client that sends faster than the owner works);
//   pause_reading()/resume_reading() stop and restart it, and
//   resume_reading() calls on_input again (on the next turn) when input
//   is already buffered, so an owner that paused while it waited for a
//   lookup does not stall. read_line() hands out lines ending in LF
//   (the CR LF or LF removed, a bare LF reported); a line longer than
//   max_line comes out in pieces of max_line bytes with complete = false,
//   so that no line is ever buffered whole; skip_line() throws away the
//   rest of the current line, also the part that has not arrived yet.
//
//   Output. write() queues bytes; on_drained runs (on a later turn of the
//   loop) when everything queued has been written. A plain channel writes
//   what was queued during one turn of the loop with one writev, and waits
//   for the socket only with what it did not take (channel.cc).
//
//   Timeouts. read_timeout counts while reading is enabled and nothing
//   arrives; write_timeout while output waits for the peer. Either ends in
//   Event::kTimeout. Zero means none.
//
//   TLS. start_tls() (STARTTLS, or at once for a wrapper-mode port) hands
//   the socket to OpenSSL with a caller-made SSL object (lib/tls makes
//   them): input buffered before it (plaintext pipelined after STARTTLS,
//   RFC 3207 and CVE-2011-0411) is thrown away, then the handshake runs;
//   Event::kTlsReady or kTlsFailed (with OpenSSL's reason) ends it. After
//   that the channel reads and writes through TLS; close_tls() sends
//   close_notify.
//
// Thread safety
//   Loop thread only. Writing to a peer that went away raises SIGPIPE:
//   processes using channels ignore it (the daemon skeleton does).
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "lib/event/event_loop.h"
#include "lib/util/unique_fd.h"

struct bufferevent;
struct event;
struct evbuffer;
typedef struct ssl_st SSL;

namespace mailroom::event {

struct ChannelOptions {
    std::size_t max_line = 2048;                  // longest line read_line() gives whole
    std::size_t max_input = 64 * 1024;            // unread bytes before reading pauses
    std::chrono::milliseconds read_timeout{0};    // 0: none
    std::chrono::milliseconds write_timeout{0};   // 0: none
    // The descriptor is non-blocking already (accepted or made with
    // SOCK_NONBLOCK): the channel skips the fcntl calls that make it so.
    bool nonblocking = false;
};

class Channel {
public:
    using Options = ChannelOptions;

    enum class Event {
        kEof,        // the peer closed its side (input buffered before it can still be read)
        kError,      // a socket error; the reason says which
        kTimeout,    // read_timeout or write_timeout
        kTlsReady,   // the TLS handshake is complete
        kTlsFailed,  // the TLS handshake failed; the reason is OpenSSL's
    };

    struct Line {
        std::string text;       // without the line end
        bool complete = false;  // false: the first max_line bytes of a longer line
        bool bare_lf = false;   // ended in LF without CR
    };

    struct Deleter {
        void operator()(Channel* channel) const;
    };
    using Ptr = std::unique_ptr<Channel, Deleter>;

    // A channel on a borrowed descriptor (the caller keeps it open while
    // the channel lives) or an owned one. nullptr when libevent cannot
    // make the bufferevent (out of memory).
    static Ptr create(Loop& loop, int fd, Options options = {});
    static Ptr create(Loop& loop, util::UniqueFd fd, Options options = {});

    void on_input(std::function<void()> handler) { on_input_ = std::move(handler); }
    void on_drained(std::function<void()> handler) { on_drained_ = std::move(handler); }
    void on_event(std::function<void(Event, const std::string&)> handler) { on_event_ = std::move(handler); }

    // Input.
    std::size_t input_size() const;
    std::string read_all();                 // takes everything buffered
    std::string read(std::size_t max);      // takes up to max buffered bytes
    std::string peek(std::size_t max) const;  // a copy of up to max buffered bytes
    void consume(std::size_t n);            // drops n buffered bytes
    bool read_line(Line* out);              // false: no whole line or piece yet
    void skip_line();                       // drops input up to and including the next LF
    bool skipping_line() const { return skipping_; }
    void pause_reading();
    void resume_reading();
    bool reading() const { return reading_; }

    // Output.
    void write(std::string_view bytes);
    std::size_t output_size() const;

    void set_timeouts(std::chrono::milliseconds read, std::chrono::milliseconds write);
    const Options& options() const { return options_; }
    void set_max_line(std::size_t max_line) { options_.max_line = max_line; }

    // TLS (see the header comment). `ssl` is taken over (freed with the
    // channel). accepting: server side; else client side. False when the
    // TLS bufferevent cannot be made (ssl is then freed).
    bool start_tls(SSL* ssl, bool accepting);
    SSL* ssl() const;            // nullptr before start_tls()
    bool tls_handshaking() const { return handshaking_; }
    void close_tls();            // sends close_notify, waits for nothing

    int fd() const { return fd_; }

    Channel(const Channel&) = delete;
    Channel& operator=(const Channel&) = delete;

private:
    Channel(Loop& loop, int fd, util::UniqueFd owned, Options options);
    ~Channel();
    bool attach(bufferevent* bev);
    bool attach_plain();
    void detach_plain();
    evbuffer* input() const;
    evbuffer* output() const;
    void arm_read();
    void disarm_read();
    void input_taken();
    bool take_line(Line* out);
    void emit(Event ev, const std::string& reason);
    void release();  // the owner dropped its Ptr
    void schedule_input();
    template <class F>
    void call(F&& f);  // runs a handler; frees a channel released meanwhile

    static void read_cb(bufferevent* bev, void* arg);
    static void write_cb(bufferevent* bev, void* arg);
    static void event_cb(bufferevent* bev, short what, void* arg);
    static void kick_cb(int fd, short what, void* arg);
    static void plain_read_cb(int fd, short what, void* arg);
    static void plain_write_cb(int fd, short what, void* arg);
    static void flush_cb(int fd, short what, void* arg);
    bool write_out();

    Loop& loop_;
    int fd_;
    util::UniqueFd owned_;
    Options options_;
    bufferevent* bev_ = nullptr;  // TLS only
    // A plain channel (channel.cc): its buffers and events.
    evbuffer* in_ = nullptr;
    evbuffer* out_ = nullptr;
    ::event* rev_ = nullptr;
    ::event* wev_ = nullptr;
    ::event* flush_ = nullptr;  // writes the output on the next turn
    bool read_armed_ = false;
    bool full_ = false;        // max_input unread bytes: not reading
    bool output_failed_ = false;  // a write error seen: output is dropped
    ::event* kick_ = nullptr;  // delivers buffered input after resume_reading()
    bool reading_ = true;
    bool skipping_ = false;
    bool handshaking_ = false;
    bool tls_ = false;
    bool released_ = false;
    int depth_ = 0;  // handlers running now
    std::function<void()> on_input_;
    std::function<void()> on_drained_;
    std::function<void(Event, const std::string&)> on_event_;
};

}  // namespace mailroom::event
