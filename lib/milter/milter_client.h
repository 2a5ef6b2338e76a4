// milter_client.h - one connection to one milter, on the event loop.
//
// Summary
//   MilterClient connects to a milter (inet:host:port or unix:/path)
//   without blocking the loop, runs the option negotiation, then sends
//   commands and collects the replies. Every wait is bounded: connecting
//   and negotiating by the milter's connect_timeout, each reply by the
//   timeout the caller passes (milter_command_timeout or
//   milter_content_timeout); SMFIR_PROGRESS restarts the wait.
//
//     auto c = MilterClient::create(loop, spec);
//     c->connect(kActAll, [&](Status st) { ... c->negotiated() ... });
//     c->request(packets, true, 30, [&](Result<std::vector<Reply>> r) { ... });
//
// Description
//   request() writes its packets (macros first, then the command) and,
//   when a reply is wanted, gathers the modification replies (only legal
//   at end of message; the caller checks) up to the final one (accept,
//   continue, reject, ...). Without a reply wanted (an NR step, or a
//   command that has none such as SMFIC_MACRO) `done` gets an empty list.
//   Requests are queued: a new one waits until the reply of the one before
//   has arrived, as the protocol requires. A connection error, a timeout,
//   a malformed packet or a reply nobody asked for ends the connection:
//   the pending and every later request fail with the reason.
//
//   Callbacks always run from the loop after the call that caused them
//   returned, never after the client is destroyed; destroying it from a
//   callback is safe.
//
// Thread safety
//   Loop thread only. Host names of inet: sockets were resolved when the
//   configuration was read (milter_config.h: resolve_socket()), so the
//   loop never waits for a name; each address of the name is tried in
//   turn until one accepts.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "lib/event/channel.h"
#include "lib/event/connector.h"
#include "lib/event/event_loop.h"
#include "lib/milter/milter_codec.h"
#include "lib/milter/milter_config.h"
#include "lib/util/result.h"

namespace mailroom::milter {

class MilterClient {
public:
    using Ptr = std::unique_ptr<MilterClient>;
    using Replies = std::vector<Reply>;
    using ReplyDone = std::function<void(Result<Replies>)>;

    static Ptr create(event::Loop& loop, const MilterSpec& spec);
    ~MilterClient();
    MilterClient(const MilterClient&) = delete;
    MilterClient& operator=(const MilterClient&) = delete;

    // Connects and negotiates, offering `actions` and the protocol steps
    // of spec.protocol; `ready` gets the outcome.
    void connect(std::uint32_t actions, std::function<void(Status)> ready);
    const Negotiated& negotiated() const { return negotiated_; }
    const MilterSpec& spec() const { return spec_; }
    bool broken() const { return broken_; }
    const std::string& error() const { return error_; }

    void request(std::string packets, bool want_reply, int timeout_s, ReplyDone done);
    // Sends without waiting for anything (ABORT, QUIT); ignored when broken.
    void send(std::string packets);

private:
    MilterClient(event::Loop& loop, const MilterSpec& spec);
    void connected();
    void on_input();
    void fail(const std::string& why);
    void try_address(std::size_t i);
    void start_next();
    void complete(Result<Replies> result);
    void later(std::function<void()> fn);

    struct Pending {
        std::string packets;
        bool want_reply = false;
        int timeout_s = 0;
        ReplyDone done;
    };

    event::Loop& loop_;
    MilterSpec spec_;
    util::UniqueFd connecting_fd_;
    std::unique_ptr<event::Connector> connector_;
    event::Timer timer_;
    event::Channel::Ptr channel_;
    PacketReader reader_;
    Negotiated negotiated_;
    std::uint32_t offered_actions_ = 0;
    std::function<void(Status)> ready_;
    bool negotiating_ = false;
    bool broken_ = false;
    std::string error_;
    std::deque<Pending> queue_;
    bool waiting_ = false;  // the front of queue_ waits for its reply
    Replies gathered_;
    std::shared_ptr<int> alive_ = std::make_shared<int>(0);
};

}  // namespace mailroom::milter
