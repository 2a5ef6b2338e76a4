// smtpd_peer_cache.cc - see smtpd_peer_cache.h.
#include "smtpd/smtpd_peer_cache.h"

namespace mailroom::smtpd {

std::optional<PeerCache::Answers> PeerCache::find(const std::string& addr, Clock::time_point now) {
    auto it = entries_.find(addr);
    if (it == entries_.end()) return std::nullopt;
    if (now >= it->second.expires) {
        entries_.erase(it);
        return std::nullopt;
    }
    return it->second.answers;
}

void PeerCache::remember(const std::string& addr, const Answers& answers, Clock::time_point now) {
    // A temporary failure is asked again next time.
    if (answers.first.outcome == dns::Outcome::kTempFail) return;
    if (answers.first.found() && answers.second.outcome == dns::Outcome::kTempFail) return;
    if (entries_.size() >= kMaxEntries && entries_.find(addr) == entries_.end()) {
        // Room: the expired ones go, else the one that expires first.
        auto oldest = entries_.end();
        for (auto it = entries_.begin(); it != entries_.end();) {
            if (now >= it->second.expires) {
                it = entries_.erase(it);
                continue;
            }
            if (oldest == entries_.end() || it->second.expires < oldest->second.expires) oldest = it;
            ++it;
        }
        if (entries_.size() >= kMaxEntries && oldest != entries_.end()) entries_.erase(oldest);
    }
    entries_[addr] = Entry{answers, now + kLifetime};
}

}  // namespace mailroom::smtpd
