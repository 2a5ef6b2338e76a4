// anvil_server.h - anvil's client connections on the event loop.
//
// Summary
//   AnvilServer owns the AnvilState of the process and one Peer per
//   client connection (an smtpd process, usually for its whole life). A
//   Peer announces anvil_protocol, then reads requests as they come and
//   answers each in order (anvil_proto.h); when the client closes, the
//   connections it registered end (AnvilState::drop_local). A timer
//   removes expired entries, and every anvil_status_update_time (and at
//   exit) the peaks are logged (AnvilState::take_statistics).
//
// Description
//   A malformed record ends that client's connection with a warning; an
//   unknown request name is answered with status 1 and logged as Postfix
//   does ("unrecognized request: \"x\", ignored"). Input is bounded by
//   the attribute decoder's record limit, output by the replies of at
//   most one read's worth of requests.
#pragma once

#include <ctime>
#include <functional>
#include <map>
#include <memory>
#include <vector>

#include "anvil/anvil_state.h"
#include "lib/config/config.h"
#include "lib/event/event_loop.h"
#include "lib/server/server.h"
#include "lib/util/result.h"

namespace mailroom::anvil {

struct AnvilConfig {
    std::time_t anvil_rate_time_unit = 60;
    std::time_t anvil_status_update_time = 600;
    int ipc_timeout_ms = 3600 * 1000;

    static Result<AnvilConfig> from_config(const config::Config& config);
};

class AnvilServer {
public:
    using Clock = std::function<std::time_t()>;

    AnvilServer(event::Loop& loop, AnvilConfig config, Clock clock = {});
    ~AnvilServer();
    AnvilServer(const AnvilServer&) = delete;
    AnvilServer& operator=(const AnvilServer&) = delete;

    // Serves one client connection until it closes.
    void accept(server::Connection conn);
    // Logs and resets the peaks.
    void log_statistics();

    AnvilState& state() { return state_; }
    std::size_t clients() const { return peers_.size(); }

    class Peer;

private:
    friend class Peer;
    void closed(Peer* peer);
    std::time_t now() const { return clock_(); }

    event::Loop& loop_;
    AnvilConfig config_;
    Clock clock_;
    AnvilState state_;
    AnvilState::LocalId next_local_ = 1;
    std::map<Peer*, std::unique_ptr<Peer>> peers_;
    event::Timer expire_timer_;
    event::Timer status_timer_;
};

}  // namespace mailroom::anvil
