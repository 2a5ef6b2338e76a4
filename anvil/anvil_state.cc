// anvil_state.cc - see anvil_state.h.
#include "anvil/anvil_state.h"

#include <climits>

#include "lib/util/strings.h"

namespace mailroom::anvil {

namespace {

// ctime()'s "Mmm dd hh:mm:ss" (day padded with a space), local time.
std::string when_text(std::time_t when) {
    std::tm tm{};
    ::localtime_r(&when, &tm);
    char buf[32];
    std::strftime(buf, sizeof(buf), "%b %e %H:%M:%S", &tm);
    return buf;
}

}  // namespace

AnvilState::AnvilState(std::time_t time_unit, std::size_t max_entries)
    : time_unit_(time_unit < 1 ? 1 : time_unit), max_entries_(max_entries < 1 ? 1 : max_entries) {}

void AnvilState::bump(std::int64_t& counter) {
    if (counter < INT_MAX) ++counter;
}

void AnvilState::new_interval_if_due(Entry& e, std::time_t now) {
    if (e.start + time_unit_ < now) {
        e.rate = e.mail = e.rcpt = 0;
        e.start = now;
    }
}

void AnvilState::peak(Peak& p, std::int64_t value, const std::string& ident, std::time_t now) {
    if (value <= p.value) return;
    p.value = value;
    p.ident = ident;
    p.when = now;
}

AnvilState::Entry* AnvilState::find_or_create(const std::string& ident, std::time_t now, bool* created) {
    *created = false;
    auto it = entries_.find(ident);
    if (it != entries_.end()) return &it->second;
    if (entries_.size() >= max_entries_) expire(now);
    if (entries_.size() >= max_entries_) {
        ++dropped_;
        return nullptr;
    }
    Entry e;
    e.start = now;
    e.expires = now + time_unit_;
    auto [pos, ok] = entries_.emplace(ident, e);
    (void)ok;
    *created = true;
    if (entries_.size() > max_size_) {
        max_size_ = entries_.size();
        max_size_time_ = now;
    }
    return &pos->second;
}

Reply AnvilState::connect(LocalId local, const std::string& ident, std::time_t now) {
    bool created = false;
    Entry* e = find_or_create(ident, now, &created);
    if (!e) return Reply{kStatusFail};
    new_interval_if_due(*e, now);
    bump(e->rate);
    bump(e->count);
    ++locals_[local][ident];
    peak(max_rate_, e->rate, ident, now);
    peak(max_count_, e->count, ident, now);
    Reply r;
    r.count = e->count;
    r.rate = e->rate;
    return r;
}

Reply AnvilState::disconnect(LocalId local, const std::string& ident, std::time_t now) {
    auto l = locals_.find(local);
    if (l == locals_.end()) return Reply{};
    auto mine = l->second.find(ident);
    if (mine == l->second.end()) return Reply{};
    if (--mine->second == 0) l->second.erase(mine);
    if (l->second.empty()) locals_.erase(l);
    auto it = entries_.find(ident);
    if (it != entries_.end() && it->second.count > 0 && --it->second.count == 0)
        it->second.expires = now + time_unit_;
    return Reply{};
}

Reply AnvilState::rate_event(const std::string& ident, std::time_t now, std::int64_t Entry::*counter, Peak& max) {
    bool created = false;
    Entry* e = find_or_create(ident, now, &created);
    if (!e) return Reply{kStatusFail};
    new_interval_if_due(*e, now);
    bump(e->*counter);
    peak(max, e->*counter, ident, now);
    Reply r;
    r.rate = e->*counter;
    return r;
}

Reply AnvilState::message(LocalId, const std::string& ident, std::time_t now) {
    return rate_event(ident, now, &Entry::mail, max_mail_);
}

Reply AnvilState::recipient(LocalId, const std::string& ident, std::time_t now) {
    return rate_event(ident, now, &Entry::rcpt, max_rcpt_);
}

Reply AnvilState::lookup(const std::string& ident, std::time_t now) {
    Reply r;
    auto it = entries_.find(ident);
    if (it == entries_.end()) return r;
    const Entry& e = it->second;
    r.count = e.count;
    // Stale rates are reported as zero (and not reset: lookup changes nothing).
    if (e.start + time_unit_ >= now) {
        r.rate = e.rate;
        r.mail = e.mail;
        r.rcpt = e.rcpt;
    }
    return r;
}

Reply AnvilState::handle(LocalId local, const Request& request, std::time_t now) {
    switch (request.type) {
    case RequestType::kConnect: return connect(local, request.ident, now);
    case RequestType::kDisconnect: return disconnect(local, request.ident, now);
    case RequestType::kMessage: return message(local, request.ident, now);
    case RequestType::kRecipient: return recipient(local, request.ident, now);
    case RequestType::kLookup: return lookup(request.ident, now);
    }
    return Reply{kStatusFail};
}

void AnvilState::drop_local(LocalId local, std::time_t now) {
    auto l = locals_.find(local);
    if (l == locals_.end()) return;
    auto idents = std::move(l->second);
    locals_.erase(l);
    for (const auto& [ident, n] : idents) {
        auto it = entries_.find(ident);
        if (it == entries_.end()) continue;
        Entry& e = it->second;
        e.count = e.count > n ? e.count - n : 0;
        if (e.count == 0) e.expires = now + time_unit_;
    }
}

void AnvilState::expire(std::time_t now) {
    for (auto it = entries_.begin(); it != entries_.end();) {
        if (it->second.count == 0 && it->second.expires <= now) {
            it = entries_.erase(it);
        } else {
            ++it;
        }
    }
}

std::vector<std::string> AnvilState::take_statistics() {
    std::vector<std::string> out;
    auto rate = [&](Peak& p, const char* what) {
        if (p.value <= 0) return;
        out.push_back(util::format("statistics: max %s rate %lld/%llds for (%s) at %s", what,
                                   static_cast<long long>(p.value), static_cast<long long>(time_unit_),
                                   p.ident.c_str(), when_text(p.when).c_str()));
        p.value = 0;
    };
    rate(max_rate_, "connection");
    if (max_count_.value > 0) {
        out.push_back(util::format("statistics: max connection count %lld for (%s) at %s",
                                   static_cast<long long>(max_count_.value), max_count_.ident.c_str(),
                                   when_text(max_count_.when).c_str()));
        max_count_.value = 0;
    }
    rate(max_mail_, "message");
    rate(max_rcpt_, "recipient");
    if (max_size_ > 0) {
        out.push_back(util::format("statistics: max cache size %zu at %s", max_size_,
                                   when_text(max_size_time_).c_str()));
        max_size_ = 0;
    }
    return out;
}

}  // namespace mailroom::anvil
