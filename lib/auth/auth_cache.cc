// auth_cache.cc - see auth_cache.h.
#include "lib/auth/auth_cache.h"

namespace mailroom::auth {

std::size_t AuthCache::cost(const std::string& key, const LookupResult& r) {
    const UserRecord& u = r.user;
    // The strings plus a fixed share for the list and map nodes.
    return 160 + 2 * key.size() + u.username.size() + u.address.size() + u.name.size() + u.home.size() +
           u.maildir.size() + u.quota.size() + u.options.size() + u.sysuser.size() + u.crypt_password.size() +
           u.clear_password.size() + u.password_unavailable.size() + u.module.size();
}

void AuthCache::evict(List::iterator it) {
    bytes_ -= it->bytes;
    map_.erase(it->key);
    lru_.erase(it);
}

std::optional<LookupResult> AuthCache::get(const std::string& key, std::time_t now, bool allow_stale) {
    if (!enabled()) return std::nullopt;
    auto it = map_.find(key);
    if (it == map_.end()) {
        ++misses_;
        return std::nullopt;
    }
    Entry& e = *it->second;
    bool found = e.result.outcome == Outcome::kOk;
    std::time_t ttl = found ? ttl_ : negative_ttl_;
    if (now - e.stored >= ttl && !(allow_stale && found)) {
        // An expired unknown user is of no further use; a found one is
        // kept for stale().
        if (!found) evict(it->second);
        ++misses_;
        return std::nullopt;
    }
    lru_.splice(lru_.begin(), lru_, it->second);
    ++hits_;
    return e.result;
}

std::optional<LookupResult> AuthCache::stale(const std::string& key) const {
    if (!enabled()) return std::nullopt;
    auto it = map_.find(key);
    if (it == map_.end() || it->second->result.outcome != Outcome::kOk) return std::nullopt;
    return it->second->result;
}

void AuthCache::put(const std::string& key, const LookupResult& result, std::time_t now) {
    if (!enabled() || result.outcome == Outcome::kTempFail) return;
    if (result.outcome == Outcome::kNotFound && negative_ttl_ <= 0) return;
    if (result.outcome == Outcome::kOk && ttl_ <= 0) return;
    remove(key);
    Entry e{key, result, now, cost(key, result)};
    if (e.result.outcome != Outcome::kOk) e.result.user = UserRecord{};
    if (e.bytes > max_bytes_) return;
    while (bytes_ + e.bytes > max_bytes_ && !lru_.empty()) evict(std::prev(lru_.end()));
    bytes_ += e.bytes;
    lru_.push_front(std::move(e));
    map_[key] = lru_.begin();
}

void AuthCache::remove(const std::string& key) {
    auto it = map_.find(key);
    if (it != map_.end()) evict(it->second);
}

void AuthCache::clear() {
    lru_.clear();
    map_.clear();
    bytes_ = 0;
}

}  // namespace mailroom::auth
