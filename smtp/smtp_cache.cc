// smtp_cache.cc - see smtp_cache.h.
#include "smtp/smtp_cache.h"

#include "lib/util/strings.h"

namespace mailroom::smtp_agent {

Result<CacheSettings> CacheSettings::from_config(const config::Config& config, const std::string& prefix) {
    CacheSettings c;
    auto on = config.get_bool(prefix + "_connection_cache_on_demand");
    if (!on) return on.error();
    c.on_demand = *on;
    auto dest = config.get_list(prefix + "_connection_cache_destinations");
    if (!dest) return dest.error();
    c.destinations = *dest;
    auto t = config.get_time(prefix + "_connection_cache_time_limit");
    if (!t) return t.error();
    c.time_limit = std::chrono::milliseconds(*t * 1000);
    auto r = config.get_time(prefix + "_connection_reuse_time_limit");
    if (!r) return r.error();
    c.reuse_time_limit = std::chrono::milliseconds(*r * 1000);
    auto n = config.get_int(prefix + "_connection_reuse_count_limit");
    if (!n) return n.error();
    c.reuse_count_limit = static_cast<unsigned>(*n);
    return c;
}

std::vector<std::string_view> CacheSettings::parameters() {
    return {"smtp_connection_cache_on_demand", "lmtp_connection_cache_on_demand",
            "smtp_connection_cache_destinations", "lmtp_connection_cache_destinations",
            "smtp_connection_cache_time_limit", "lmtp_connection_cache_time_limit",
            "smtp_connection_reuse_time_limit", "lmtp_connection_reuse_time_limit",
            "smtp_connection_reuse_count_limit", "lmtp_connection_reuse_count_limit"};
}

SessionCache::~SessionCache() {
    for (auto& [id, e] : entries_) {
        if (e.session && e.session->channel) loop_.release_later(std::move(e.session->channel));
    }
}

bool SessionCache::wanted(const std::string& nexthop, bool more_waiting) const {
    if (settings_.time_limit.count() <= 0) return false;
    for (const auto& d : settings_.destinations)
        if (util::iequals(d, nexthop)) return true;
    return settings_.on_demand && more_waiting;
}

void SessionCache::put(const std::string& key, std::unique_ptr<IdleSession> session) {
    if (!session || !session->channel) return;
    session->uses++;
    auto age = std::chrono::steady_clock::now() - session->created;
    bool worn = (settings_.reuse_count_limit > 0 && session->uses >= settings_.reuse_count_limit) ||
                age >= settings_.reuse_time_limit;
    std::uint64_t id = next_id_++;
    Entry& e = entries_[id];
    e.key = key;
    e.session = std::move(session);
    if (worn) return close(id, true);
    event::Channel& ch = *e.session->channel;
    ch.on_input([this, id] { close(id, false); });  // 421 or anything else: done
    ch.on_event([this, id](event::Channel::Event, const std::string&) { close(id, false); });
    ch.on_drained(nullptr);
    ch.set_timeouts(std::chrono::milliseconds(0), std::chrono::milliseconds(0));
    e.timer = event::Timer(loop_, [this, id] { close(id, true); });
    e.timer.start(settings_.time_limit);
}

std::unique_ptr<IdleSession> SessionCache::take(const std::string& key) {
    for (auto it = entries_.begin(); it != entries_.end(); ++it) {
        if (it->second.key != key) continue;
        auto s = std::move(it->second.session);
        entries_.erase(it);
        return s;
    }
    return nullptr;
}

void SessionCache::close(std::uint64_t id, bool quit) {
    auto it = entries_.find(id);
    if (it == entries_.end()) return;
    auto session = std::move(it->second.session);
    entries_.erase(it);  // may be the running timer: the loop allows that
    if (!session || !session->channel) return;
    event::Channel* ch = session->channel.get();
    ch->on_input(nullptr);
    ch->on_event(nullptr);
    if (!quit) return loop_.release_later(std::move(session->channel));
    ch->write("QUIT\r\n");
    // Closed once QUIT is written (or the peer goes first).
    auto holder = std::make_shared<event::Channel::Ptr>(std::move(session->channel));
    auto done = [this, holder](auto&&...) {
        if (*holder) loop_.release_later(std::move(*holder));
    };
    ch->on_drained(done);
    ch->on_event(done);
    ch->set_timeouts(std::chrono::milliseconds(10000), std::chrono::milliseconds(10000));
}

}  // namespace mailroom::smtp_agent
