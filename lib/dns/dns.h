// dns.h - asynchronous DNS lookups on an event loop, with typed results.
//
// Summary
//   Resolver owns one c-ares channel bound to an event::Loop: the sockets
//   c-ares opens are watched by libevent, its retransmissions and timeouts
//   are driven by one Timer, so a lookup never blocks the loop. lookup()
//   asks for A, AAAA, PTR, MX or TXT records of a name and later calls the
//   callback on the loop with an Answer: found (with typed records), not
//   found (NXDOMAIN or NODATA: permanent) or temporary failure (SERVFAIL,
//   REFUSED, timeout, no server). lookup_blocking() runs a private loop for
//   one question, for commands and worker threads. system_reverse() and
//   system_forward() ask the system resolver instead (blocking).
//
// Description
//   Servers come from /etc/resolv.conf unless Options::servers names them
//   ("127.0.0.1:5353,[::1]:53", the mailroom parameter dns_servers). MX
//   answers are sorted by preference (ties keep the server's order); a
//   single MX with the root "." as exchange is a null MX (RFC 7505) and
//   Answer::null_mx is set. reverse_name() turns an address into the
//   in-addr.arpa / ip6.arpa name a PTR lookup asks for.
//   Destroying the Resolver cancels outstanding lookups without calling
//   their callbacks.
//
// Thread safety
//   A Resolver is used on its loop's thread only. lookup_blocking() may be
//   called from any thread (each call has its own loop and channel).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "lib/event/event_loop.h"
#include "lib/util/result.h"

namespace mailroom::dns {

enum class Type { kA, kAAAA, kPTR, kMX, kTXT };
enum class Outcome { kFound, kNotFound, kTempFail };

struct Mx {
    uint16_t preference = 0;
    std::string exchange;  // no trailing dot; "" for the root (null MX)
};

struct Answer {
    Outcome outcome = Outcome::kTempFail;
    bool nxdomain = false;              // kNotFound: the name does not exist (else NODATA)
    std::vector<std::string> addresses; // A, AAAA: "127.0.0.1", "::1"
    std::vector<std::string> names;     // PTR: host names without trailing dot
    std::vector<Mx> mx;                 // MX: sorted by preference
    bool null_mx = false;               // MX: the single record "0 ."
    std::vector<std::string> txt;       // TXT: one string per record
    std::string error;                  // why, for a kTempFail (for logs)

    bool found() const { return outcome == Outcome::kFound; }
};

struct Options {
    std::string servers;                         // "" = /etc/resolv.conf
    std::chrono::milliseconds timeout{5000};     // per try
    int tries = 2;
};

// Reads dns_servers from a config-like getter is left to callers; this
// parses nothing beyond what c-ares accepts.
const char* type_name(Type type);
// "1.0.0.127.in-addr.arpa" for "127.0.0.1"; nibble form for IPv6; "" when
// `address` is not an address.
std::string reverse_name(std::string_view address);

class Resolver {
public:
    static Result<std::unique_ptr<Resolver>> create(event::Loop& loop, const Options& options);
    struct Private {};
    Resolver(Private, event::Loop& loop);
    ~Resolver();
    Resolver(const Resolver&) = delete;
    Resolver& operator=(const Resolver&) = delete;

    using Callback = std::function<void(Answer)>;
    // Starts a lookup; `done` runs later on the loop (never from inside
    // this call).
    void lookup(std::string_view name, Type type, Callback done);
    // Lookups whose callback has not run yet.
    size_t pending() const { return pending_; }

    struct Impl;

private:
    void update_timer();
    std::unique_ptr<Impl> impl_;
    event::Loop& loop_;
    size_t pending_ = 0;
    friend struct Impl;
};

// One lookup on a private loop; waits at most options.timeout * tries.
Answer lookup_blocking(std::string_view name, Type type, const Options& options);

// The system resolver, in the order nsswitch.conf gives (/etc/hosts before
// DNS, as a rule), which is how Postfix's smtpd names its client. Both
// block: call them from a worker thread. system_reverse() answers the host
// name of an address in names[0] (getnameinfo); system_forward() the
// addresses of a name, IPv4 or IPv6 (getaddrinfo). EAI_AGAIN is kTempFail,
// any other error kNotFound, with gai_strerror() in Answer::error.
Answer system_reverse(std::string_view address);
Answer system_forward(std::string_view name, bool ipv6);

}  // namespace mailroom::dns
