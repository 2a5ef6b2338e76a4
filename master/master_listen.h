// master_listen.h - master.cf service names to listening descriptors.
//
// Summary
//   parse_inet_endpoint() splits an inet service name ("25",
//   "127.0.0.1:2525", "[::1]:25", "*:smtp", "localhost:submission") into host
//   and port; it is pure. open_listeners() opens every descriptor a
//   service needs: one per address for inet (per inet_interfaces and
//   inet_protocols unless the name carries a host), one UNIX stream or
//   datagram socket or fifo under queue_directory/private or /public.
//
// Description
//   inet sockets get SO_REUSEADDR (and IPV6_V6ONLY on IPv6, so a wildcard
//   IPv4 and IPv6 pair can coexist). UNIX sockets replace a stale socket
//   file and get mode 0666 (the directory protects private ones); fifos get
//   0622. Descriptors are non-blocking and close-on-exec; master clears
//   close-on-exec when it hands them to a child.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "lib/config/config.h"
#include "lib/config/master_cf.h"
#include "lib/util/result.h"
#include "lib/util/unique_fd.h"

namespace mailroom::master {

struct InetEndpoint {
    std::string host;  // "" = every address of inet_interfaces
    std::string port;  // number or service name

    bool operator==(const InetEndpoint&) const = default;
};

Result<InetEndpoint> parse_inet_endpoint(std::string_view service_name);

// Which address families inet_protocols allows: {ipv4, ipv6}.
struct Families {
    bool ipv4 = true;
    bool ipv6 = true;
};
Result<Families> parse_inet_protocols(const std::vector<std::string>& values);

// The path of a unix, unix-dgram or fifo service.
std::string local_listener_path(const config::Config& cfg, const config::MasterService& svc);

Result<std::vector<util::UniqueFd>> open_listeners(const config::Config& cfg, const config::MasterService& svc);

}  // namespace mailroom::master
