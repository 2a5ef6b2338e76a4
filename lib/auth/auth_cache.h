// auth_cache.h - authd's cache of user lookups (Dovecot's auth cache).
//
// Summary
//   AuthCache keeps what the modules answered for a user name: the found
//   record (with its stored password, so a cached user is authenticated
//   without asking MySQL) or "unknown user". auth_cache_size bounds its
//   memory (0 disables it), auth_cache_ttl the age of a found entry and
//   auth_cache_negative_ttl that of an unknown one (0: not kept). The
//   least recently used entries go first when it is full.
//
// Description
//   A temporary failure is never cached. An expired found entry stays
//   until it is replaced or pushed out by the memory bound: get() with
//   allow_stale, or stale(), returns it, since when the backend is down
//   Dovecot goes on using the last answer it had, and so does authd. The clock is passed
//   in, so tests need no sleeping.
//
// Thread safety
//   Loop thread only.
#pragma once

#include <cstddef>
#include <ctime>
#include <list>
#include <optional>
#include <string>
#include <unordered_map>

#include "lib/auth/auth_module.h"

namespace mailroom::auth {

class AuthCache {
public:
    AuthCache(std::size_t max_bytes, std::time_t ttl, std::time_t negative_ttl)
        : max_bytes_(max_bytes), ttl_(ttl), negative_ttl_(negative_ttl) {}

    bool enabled() const { return max_bytes_ > 0; }
    // kOk with the record, kNotFound for a cached unknown user; nullopt on
    // a miss.
    std::optional<LookupResult> get(const std::string& key, std::time_t now, bool allow_stale = false);
    // A found entry whatever its age, for when the modules cannot answer;
    // not counted as a hit or miss.
    std::optional<LookupResult> stale(const std::string& key) const;
    // Keeps kOk and kNotFound results; ignores kTempFail.
    void put(const std::string& key, const LookupResult& result, std::time_t now);
    void remove(const std::string& key);
    void clear();

    std::size_t entries() const { return map_.size(); }
    std::size_t bytes() const { return bytes_; }
    std::size_t hits() const { return hits_; }
    std::size_t misses() const { return misses_; }

private:
    struct Entry {
        std::string key;
        LookupResult result;
        std::time_t stored = 0;
        std::size_t bytes = 0;
    };
    using List = std::list<Entry>;
    static std::size_t cost(const std::string& key, const LookupResult& r);
    void evict(List::iterator it);

    std::size_t max_bytes_;
    std::time_t ttl_;
    std::time_t negative_ttl_;
    std::size_t bytes_ = 0;
    std::size_t hits_ = 0;
    std::size_t misses_ = 0;
    List lru_;  // most recently used first
    std::unordered_map<std::string, List::iterator> map_;
};

}  // namespace mailroom::auth
