// anvil_state.h - anvil's table of per-client connection counts and rates.
//
// Summary
//   AnvilState answers the requests of anvil_proto.h for idents
//   ("service:client_address"): connect/disconnect update the number of
//   simultaneous connections and the connection rate; message and
//   recipient update their rates; lookup reports without changing
//   anything. Pure logic: the caller passes the time, so tests drive it
//   with a fake clock.
//
// Description
//   Rates are counted as Postfix's anvil counts them: an entry starts a
//   sampling interval at its first event, and the first event more than
//   anvil_rate_time_unit seconds after the interval began resets every
//   rate to zero and starts a new interval (a quick answer to a client
//   that hammers, cheaper than a moving average).
//
//   Each client process (one connection to anvil) is a "local" with an id;
//   the connections it registered are remembered so that drop_local()
//   (its connection to anvil closed) disconnects what it left behind. A
//   disconnect of an ident the local did not connect is ignored.
//
//   Memory is bounded: an entry without connections expires
//   anvil_rate_time_unit after its last connection ended (or after it was
//   created by a message or recipient event), removed by expire(); at most
//   max_entries entries exist: a new ident beyond that, when expire()
//   cannot make room, is answered kStatusFail (the client then applies no
//   limit) and counted in dropped().
//
//   Peaks (the largest count and rates since the last report, with their
//   ident and time, and the largest table size) are reported by
//   take_statistics() as Postfix's lines:
//     statistics: max connection rate 12/60s for (smtp:192.0.2.1) at Nov 24 07:51:19
//     statistics: max connection count 3 for (smtp:192.0.2.1) at Nov 24 07:51:19
//     statistics: max message rate 4/60s for (smtp:192.0.2.1) at Nov 24 07:51:19
//     statistics: max recipient rate 9/60s for (smtp:192.0.2.1) at Nov 24 07:51:19
//     statistics: max cache size 2 at Nov 24 07:51:19
//   and reset.
#pragma once

#include <cstdint>
#include <ctime>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "lib/anvil/anvil_proto.h"

namespace mailroom::anvil {

class AnvilState {
public:
    using LocalId = std::uint64_t;

    // time_unit: anvil_rate_time_unit in seconds (>= 1).
    explicit AnvilState(std::time_t time_unit, std::size_t max_entries = 100000);

    Reply connect(LocalId local, const std::string& ident, std::time_t now);
    Reply disconnect(LocalId local, const std::string& ident, std::time_t now);
    Reply message(LocalId local, const std::string& ident, std::time_t now);
    Reply recipient(LocalId local, const std::string& ident, std::time_t now);
    Reply lookup(const std::string& ident, std::time_t now);
    Reply handle(LocalId local, const Request& request, std::time_t now);

    // The client process `local` went away: its connections end.
    void drop_local(LocalId local, std::time_t now);
    // Removes entries without connections whose time is up.
    void expire(std::time_t now);

    // Report lines (see above), each peak reset afterwards; empty when
    // nothing happened since the last report. `when` is formatted in
    // local time, as ctime() does.
    std::vector<std::string> take_statistics();

    std::size_t size() const { return entries_.size(); }
    std::size_t dropped() const { return dropped_; }
    std::time_t time_unit() const { return time_unit_; }

private:
    struct Entry {
        std::int64_t count = 0;
        std::int64_t rate = 0;
        std::int64_t mail = 0;
        std::int64_t rcpt = 0;
        std::time_t start = 0;       // start of the sampling interval
        std::time_t expires = 0;     // when count == 0: removal time
    };
    struct Peak {
        std::int64_t value = 0;
        std::string ident;
        std::time_t when = 0;
    };

    Entry* find_or_create(const std::string& ident, std::time_t now, bool* created);
    void new_interval_if_due(Entry& e, std::time_t now);
    Reply rate_event(const std::string& ident, std::time_t now, std::int64_t Entry::*counter, Peak& max);
    static void bump(std::int64_t& counter);
    void peak(Peak& p, std::int64_t value, const std::string& ident, std::time_t now);

    std::time_t time_unit_;
    std::size_t max_entries_;
    std::unordered_map<std::string, Entry> entries_;
    // local -> (ident -> connections it registered)
    std::map<LocalId, std::map<std::string, std::int64_t>> locals_;
    Peak max_count_, max_rate_, max_mail_, max_rcpt_;
    std::size_t max_size_ = 0;
    std::time_t max_size_time_ = 0;
    std::size_t dropped_ = 0;
};

}  // namespace mailroom::anvil
