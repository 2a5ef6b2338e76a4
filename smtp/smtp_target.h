// smtp_target.h - where one delivery request connects to (until the
// DNS-aware router takes over): the nexthop's syntax and its addresses.
//
// Summary
//   parse_nexthop() reads the nexthop forms of Postfix's smtp and lmtp:
//   "[host]:port", "[host]", "host:port", "host", "inet:host:port" and
//   "unix:/path" (LMTP's default port is 24, SMTP's 25). resolve_targets()
//   turns a destination into the addresses to try, in order: an address
//   literal as it is, a host name through the system resolver
//   (getaddrinfo, A/AAAA). MX lookups are not done here.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "lib/util/result.h"

namespace mailroom::smtp_agent {

struct Nexthop {
    enum class Kind { kInet, kUnix } kind = Kind::kInet;
    std::string host;
    std::uint16_t port = 25;
    bool mx_lookup = true;  // false for [host]
    std::string path;       // kUnix
};

Result<Nexthop> parse_nexthop(std::string_view nexthop, bool lmtp);

struct Target {
    std::string hostname;  // the name to show and to verify
    std::string address;   // "" for a UNIX socket
    std::uint16_t port = 0;
    std::string path;      // UNIX socket

    // "host[addr]" as Postfix's texts say it.
    std::string namaddr() const;
    // "host[addr]:port" (relay= in the log, the TLS log line).
    std::string relay() const;
};

// Error kinds: temporary when the name service may do better later.
Result<std::vector<Target>> resolve_targets(const Nexthop& nexthop, const std::string& myhostname);

}  // namespace mailroom::smtp_agent
