// connector.h - connecting a stream socket from an event loop without
// blocking it: where a client connects (a UNIX-domain path or a numeric
// address and port, as main.cf names it) and the connect itself.
//
// Summary
//   parse_stream_address() reads "unix:/path", "inet:host:port",
//   "host:port" (when allowed) and "[v6addr]:port"; HOST is a numeric
//   address or "localhost" (a loop must not wait for DNS). Connector
//   starts a non-blocking connect and calls back once, from the loop, with
//   the connected descriptor or the reason ("No such file or directory",
//   "Connection refused", "Connection timed out").
//
//     auto c = event::Connector::start(loop, addr, 30s, [](Result<util::UniqueFd> fd) { ... });
//
// Description
//   The callback never runs from inside start(). Dropping the Connector
//   before it calls back cancels the connect. A full backlog on a
//   UNIX-domain socket (EAGAIN) is a failure, as a refused connection is.
//
// Thread safety
//   Loop thread only.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "lib/event/event_loop.h"
#include "lib/util/result.h"
#include "lib/util/unique_fd.h"

namespace mailroom::event {

struct StreamAddress {
    std::string path;     // UNIX-domain socket; empty for TCP
    std::string address;  // numeric IPv4 or IPv6 address
    std::uint16_t port = 0;

    std::string text() const;  // "unix:/path", "inet:addr:port", "inet:[v6]:port"
};

// "unix:PATH", an absolute PATH, "inet:HOST:PORT"; also "HOST:PORT" when
// bare_inet is true (smtpd_proxy_filter takes that form).
Result<StreamAddress> parse_stream_address(std::string_view spec, bool bare_inet = false);

class Connector {
public:
    using Done = std::function<void(Result<util::UniqueFd>)>;

    static std::unique_ptr<Connector> start(Loop& loop, const StreamAddress& to, std::chrono::milliseconds timeout,
                                            Done done);
    ~Connector() = default;
    Connector(const Connector&) = delete;
    Connector& operator=(const Connector&) = delete;

private:
    explicit Connector(Loop& loop) : loop_(loop) {}
    void finish(Result<util::UniqueFd> result);

    Loop& loop_;
    util::UniqueFd fd_;
    FdWatcher watch_;
    Timer timer_;
    Done done_;
    std::shared_ptr<int> alive_ = std::make_shared<int>(0);
};

}  // namespace mailroom::event
