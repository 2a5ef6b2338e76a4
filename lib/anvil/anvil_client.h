// anvil_client.h - talking to anvil from an event loop without blocking it.
//
// Summary
//   Client keeps one connection to queue_directory/private/anvil and sends
//   requests (anvil_proto.h) on it, pipelined; each request's `done` runs
//   on the loop with the reply, or with nullopt when anvil could not be
//   asked. The loop never waits for anvil: connecting to a UNIX socket
//   does not block (a missing socket or a full backlog fails at once), and
//   reading and writing wait for readiness on the loop.
//
// Description
//   Failures are logged as Postfix logs them ("warning: connect to
//   private/anvil: No such file or directory", "warning: problem talking
//   to server private/anvil: timeout") and every request waiting on the
//   connection gets nullopt; the caller goes on without a limit, as
//   Postfix's smtpd does. A request unanswered for `timeout` breaks the
//   connection; for `retry_delay` after that, requests fail at once
//   instead of making each session wait again. The next request after a
//   failure connects anew; generation() changes with each connection, so
//   a caller can tell whether a connect it registered is still known to
//   the anvil process it talks to (anvil forgets a client's connections
//   when the client's connection closes).
//
//   `done` never runs from inside request(): failures known at once are
//   delivered from the loop. Destroying the Client drops every pending
//   `done` without calling it.
//
// Thread safety
//   One loop thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "lib/anvil/anvil_proto.h"
#include "lib/event/event_loop.h"
#include "lib/ipc/attr.h"
#include "lib/ipc/attr_channel.h"
#include "lib/util/unique_fd.h"

namespace mailroom::anvil {

struct ClientOptions {
    std::string socket_path;                      // queue_directory/private/anvil
    std::string service = "private/anvil";        // for log lines
    std::chrono::milliseconds timeout{5000};      // per request
    std::chrono::milliseconds retry_delay{10000};  // after a timeout
};

class Client {
public:
    using Done = std::function<void(std::optional<Reply>)>;

    Client(event::Loop& loop, ClientOptions options);
    ~Client();
    Client(const Client&) = delete;
    Client& operator=(const Client&) = delete;

    // Sends a request; `done` (may be empty) gets the reply, or nullopt.
    void request(RequestType type, std::string ident, Done done);
    // Changes whenever a new connection to anvil is made.
    std::uint64_t generation() const { return generation_; }
    bool connected() const { return channel_ != nullptr; }

private:
    struct Pending {
        RequestType type;
        Done done;
    };

    bool open();
    void on_record(ipc::AttrList record);
    void broken(const std::string& reason, bool quiet = false);
    void fail_later(Done done);

    event::Loop& loop_;
    ClientOptions options_;
    std::unique_ptr<ipc::AttrChannel> channel_;
    event::Timer timer_;       // the oldest request's deadline
    event::Timer post_timer_;  // delivers failures from the loop
    bool announced_ = false;
    std::deque<Pending> pending_;
    std::deque<Done> failed_;
    std::chrono::steady_clock::time_point down_until_{};
    std::uint64_t generation_ = 0;
};

}  // namespace mailroom::anvil
