// smtp_cache.h - idle SMTP/LMTP sessions kept for the next message to the
// same destination (Postfix's connection cache, per agent process).
//
// Summary
//   After a transaction a Delivery may hand its connection to the
//   SessionCache instead of sending QUIT, when the nexthop is listed in
//   smtp_connection_cache_destinations, or when smtp_connection_cache_on_demand
//   is on and qmgr's request says more mail for that nexthop is waiting
//   (deliver::kRequestFlagConnStore), as Postfix's on-demand caching.
//   The next delivery with the same key (the nexthop as qmgr names it,
//   the TLS level and, with sender-dependent authentication, the sender)
//   takes it and goes straight to MAIL FROM. An idle session is closed
//   with QUIT after smtp_connection_cache_time_limit; a session is not
//   cached again once it is older than smtp_connection_reuse_time_limit or
//   has carried smtp_connection_reuse_count_limit messages (0: no limit).
//   A server that speaks or hangs up while the session is idle ends it.
//
// Thread safety
//   Loop thread only.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "lib/config/config.h"
#include "lib/event/channel.h"
#include "lib/event/event_loop.h"
#include "lib/smtp/smtp_client_text.h"
#include "lib/smtp/smtp_route.h"
#include "lib/util/result.h"

namespace mailroom::smtp_agent {

struct CacheSettings {
    bool on_demand = true;
    std::vector<std::string> destinations;
    std::chrono::milliseconds time_limit{2000};
    std::chrono::milliseconds reuse_time_limit{300000};
    unsigned reuse_count_limit = 0;

    // smtp_connection_* (or lmtp_connection_*).
    static Result<CacheSettings> from_config(const config::Config& config, const std::string& prefix);
    static std::vector<std::string_view> parameters();
};

struct IdleSession {
    event::Channel::Ptr channel;
    smtp_route::Target target;
    std::vector<smtp::EhloKeyword> keywords;
    bool tls = false;
    bool authenticated = false;
    std::chrono::steady_clock::time_point created = std::chrono::steady_clock::now();
    unsigned uses = 0;  // messages carried so far
};

class SessionCache {
public:
    SessionCache(event::Loop& loop, CacheSettings settings) : loop_(loop), settings_(std::move(settings)) {}
    ~SessionCache();
    SessionCache(const SessionCache&) = delete;
    SessionCache& operator=(const SessionCache&) = delete;

    // Whether a session to this nexthop is kept after its transaction:
    // always for smtp_connection_cache_destinations, on demand when qmgr
    // says more mail for the nexthop is waiting (`more_waiting`).
    bool wanted(const std::string& nexthop, bool more_waiting) const;
    // Keeps the session, or ends it with QUIT when it may not be reused.
    void put(const std::string& key, std::unique_ptr<IdleSession> session);
    // A session for `key`, or nullptr.
    std::unique_ptr<IdleSession> take(const std::string& key);
    std::size_t size() const { return entries_.size(); }

private:
    struct Entry {
        std::string key;
        std::unique_ptr<IdleSession> session;
        event::Timer timer;
    };
    void close(std::uint64_t id, bool quit);

    event::Loop& loop_;
    CacheSettings settings_;
    std::map<std::uint64_t, Entry> entries_;
    std::uint64_t next_id_ = 1;
};

}  // namespace mailroom::smtp_agent
