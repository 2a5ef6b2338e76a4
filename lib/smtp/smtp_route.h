// smtp_route.h - where the SMTP/LMTP client connects: a delivery request's
// nexthop turned into the list of servers to try, in order.
//
// Summary
//   parse_nexthop() reads one nexthop as the queue manager hands it to the
//   smtp/lmtp agent: "[host]:port", "host:port", "host", "[address]" (IPv6
//   too, with or without "ipv6:"), and for LMTP also "inet:host:port" and
//   "unix:/path". A port is a number or a service name (smtp=25, lmtp=24,
//   submission=587, smtps=submissions=465, then /etc/services).
//   Router::resolve() looks the nexthop up as Postfix's smtp(8) does and
//   calls back with a RouteResult: the Targets to try in order, or why
//   there are none (bounce or defer, with the DSN code and Postfix's text).
//
// Description
//   An SMTP nexthop without brackets is a mail domain: its MX records, in
//   preference order, equal preferences shuffled (smtp_randomize_addresses),
//   each MX host's addresses looked up (A and/or AAAA per inet_protocols);
//   with no MX record (NXDOMAIN or NODATA) the domain's own addresses are
//   used. "[host]", an LMTP nexthop, disable_dns_lookups = yes or
//   smtp_dns_support_level = disabled skip the MX lookup. Host addresses
//   come from DNS (lib/dns, c-ares on the loop) and/or the system resolver
//   (smtp_host_lookup = dns, native; native runs off the loop).
//   Addresses are ordered by MX preference, then smtp_address_preference
//   (ipv6, ipv4, any); smtp_balance_inet_protocols keeps both families
//   within smtp_mx_address_limit, which bounds each nexthop's addresses.
//   smtp_fallback_relay hosts (fallback_relay before Postfix 2.3) follow
//   the nexthop's own targets, each marked `fallback`; they are not used
//   when this host is one of the nexthop's MX hosts, or when mail for it
//   loops back. For port 25, our own addresses (inet_interfaces,
//   proxy_interfaces) and $myhostname among the MX hosts truncate the list
//   before our own preference: nothing left is "mail for X loops back to
//   myself" (5.4.6), or "unable to find primary relay for X" (4.4.4) when
//   the better MX hosts had no address.
//   Failures, with Postfix's texts: null MX (RFC 7505) bounces 5.1.0
//   "Domain X does not accept mail (nullMX)"; a name that does not exist
//   5.4.4 "Host or domain name not found. Name service error for name=X
//   type=T: Host not found" (NODATA: "Host found but no data record of
//   requested type"); SERVFAIL or timeout 4.4.3 "... Host not found, try
//   again". A temporary failure dominates permanent ones. A permanent
//   failure of a fallback relay, or of the relayhost, defers (4.3.5) as a
//   configuration problem.
//   smtp_mx_session_limit is not applied here (it counts sessions that
//   completed their handshake): it is handed to the agent in the config,
//   which counts sessions per Target::site and skips the rest of a site's
//   targets once the limit is reached.
//
// Thread safety
//   A Router and its callbacks live on the loop's thread. Destroying the
//   Router drops resolutions in progress without calling their callbacks.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "lib/config/config.h"
#include "lib/deliver/deliver_proto.h"
#include "lib/dns/dns.h"
#include "lib/event/event_loop.h"
#include "lib/util/result.h"

namespace mailroom::smtp_route {

struct Nexthop {
    enum class Kind { kInet, kUnix } kind = Kind::kInet;
    std::string host;        // without brackets, "ipv6:" or trailing dot
    uint16_t port = 25;
    bool mx_lookup = true;   // false: [host], any LMTP nexthop, unix
    std::string path;        // kUnix: the socket path as written
    std::string destination; // the nexthop as written (minus "inet:")
};

// One nexthop. `lmtp` accepts "inet:" and "unix:" prefixes and never asks
// for MX records; without a port, `default_port` (smtp_tcp_port /
// lmtp_tcp_port) applies.
Result<Nexthop> parse_nexthop(std::string_view nexthop, bool lmtp);
Result<Nexthop> parse_nexthop(std::string_view nexthop, bool lmtp, uint16_t default_port);
// A list separated by commas and/or white space (relayhost, fallback relays).
Result<std::vector<Nexthop>> parse_nexthop_list(std::string_view list, bool lmtp, uint16_t default_port);
// "25", "smtp", "submission" ...; error for 0, > 65535 or an unknown name.
Result<uint16_t> parse_port(std::string_view service);

struct Target {
    std::string hostname;  // MX host, or the nexthop host; $myhostname for unix
    std::string address;   // "192.0.2.1", "2001:db8::1"; "" for unix
    uint16_t port = 0;     // 0 for unix
    // Beyond what a connection needs:
    std::string path;          // unix: the socket path
    uint32_t preference = 0;   // MX preference (0 without MX)
    bool best_mx = false;      // has the nexthop's best preference
    unsigned site = 0;         // index of the nexthop or fallback relay it came from
    bool fallback = false;     // from smtp_fallback_relay
};

struct RouteResult {
    bool ok = false;
    std::vector<Target> targets;  // in try order
    // When !ok:
    deliver::DeliveryStatus status = deliver::DeliveryStatus::kDeferred;
    std::string dsn;     // "5.4.4", "4.4.3", "5.1.0", "5.4.6", ...
    std::string reason;  // Postfix's text, without the dsn
};

enum class AddressPreference { kAny, kIPv4, kIPv6 };

struct RouterConfig {
    bool lmtp = false;
    bool dns_enabled = true;        // !disable_dns_lookups, smtp_dns_support_level
    bool host_lookup_dns = true;    // smtp_host_lookup has "dns"
    bool host_lookup_native = false;// smtp_host_lookup has "native"
    bool ipv4 = true;               // inet_protocols
    bool ipv6 = true;
    AddressPreference address_preference = AddressPreference::kAny;
    unsigned mx_address_limit = 5;  // 0 = no limit
    unsigned mx_session_limit = 2;  // for the agent (see the file comment)
    bool randomize_addresses = true;
    bool balance_inet_protocols = true;
    bool defer_if_no_mx_address_found = false;
    bool ignore_mx_lookup_error = false;
    uint16_t default_port = 25;     // smtp_tcp_port / lmtp_tcp_port
    std::vector<Nexthop> fallback_relays;
    std::vector<Nexthop> relayhosts;  // relayhost, parsed (SMTP only)
    std::string myhostname;
    std::vector<std::string> own_addresses;  // inet_interfaces + proxy_interfaces
    dns::Options dns;                // dns_servers
    // Source of randomness for the shuffle; empty = seeded at random.
    // Tests set it for a repeatable order.
    std::function<uint32_t()> random;

    // smtp_* parameters, or lmtp_* ones when `lmtp`.
    static Result<RouterConfig> from_config(const config::Config& cfg, bool lmtp);
    // Every parameter from_config() reads (both prefixes), for the
    // agent's parameter table.
    static std::vector<std::string_view> parameters();
};

// How the Router asks questions; tests substitute their own. Callbacks may
// run later on the loop, never from inside the call.
struct Lookups {
    std::function<void(const std::string& name, dns::Type type, std::function<void(dns::Answer)>)> dns;
    // The system resolver (getaddrinfo), both families; may block, so the
    // default runs it on a worker thread.
    std::function<void(const std::string& name, std::function<void(dns::Answer)>)> native;
};

class Router {
public:
    Router(event::Loop& loop, RouterConfig config);
    Router(event::Loop& loop, RouterConfig config, Lookups lookups);
    ~Router();
    Router(const Router&) = delete;
    Router& operator=(const Router&) = delete;

    // The nexthop, then the fallback relays.
    void resolve(const Nexthop& nexthop, std::function<void(RouteResult)> done);
    // Several nexthops in order (a relayhost list), then the fallback relays.
    void resolve(const std::vector<Nexthop>& nexthops, std::function<void(RouteResult)> done);

    const RouterConfig& config() const { return config_; }

    struct Impl;

private:
    RouterConfig config_;
    std::shared_ptr<Impl> impl_;
};

// The pure steps of a resolution, for tests and for the Router.
struct Address {
    std::string hostname;
    std::string address;
    uint32_t preference = 0;
    bool ipv6() const { return address.find(':') != std::string::npos; }
};
// Shuffle (when `random` is set), then order by preference and family.
void order_addresses(std::vector<Address>* list, AddressPreference pref, const std::function<uint32_t()>* random);
// Keeps both families within `limit` (Postfix's smtp_balance_inet_protocols).
void balance_families(std::vector<Address>* list, unsigned limit);
// The text and DSN of a failed DNS question (Postfix's dns_lookup texts).
struct LookupError {
    bool temporary = false;
    std::string dsn;
    std::string text;
};
LookupError dns_error(const std::string& name, dns::Type type, const dns::Answer& answer);

}  // namespace mailroom::smtp_route
