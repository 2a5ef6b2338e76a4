// smtpd_peer_cache.h - the client names smtpd found through the system
// resolver, kept a few seconds for the next connection from the address.
//
// Summary
//   With smtpd_peername_lookup = yes and no dns_servers, each connection
//   asks glibc twice (the address's name, then that name's addresses), and
//   glibc reads /etc/hosts and checks resolv.conf and nsswitch.conf again
//   for each question: some 18 system calls and a worker thread hand-off
//   per connection, a quarter of smtpd's calls per message. A client that
//   connects again and again (a relay or an application that submits one
//   message per connection) gets the same answers; PeerCache keeps them
//   for kLifetime.
//
// Description
//   Only final answers are kept: a temporary failure of either question is
//   asked again on the next connection. Entries expire kLifetime after the
//   lookup; at most kMaxEntries are kept (an expired or the oldest one
//   makes room). The cache is per process (a process serves at most
//   max_use clients), and a changed PTR or /etc/hosts shows after at most
//   kLifetime, as behind any caching resolver. Loop thread only.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>

#include "lib/dns/dns.h"

namespace mailroom::smtpd {

class PeerCache {
public:
    using Clock = std::chrono::steady_clock;
    // The reverse answer, then the forward answer of its first name.
    using Answers = std::pair<dns::Answer, dns::Answer>;

    static constexpr std::chrono::seconds kLifetime{10};
    static constexpr std::size_t kMaxEntries = 256;

    std::optional<Answers> find(const std::string& addr, Clock::time_point now = Clock::now());
    void remember(const std::string& addr, const Answers& answers, Clock::time_point now = Clock::now());
    std::size_t size() const { return entries_.size(); }

private:
    struct Entry {
        Answers answers;
        Clock::time_point expires;
    };
    std::unordered_map<std::string, Entry> entries_;
};

}  // namespace mailroom::smtpd
