// smtp_target.cc - see smtp_target.h.
#include "smtp/smtp_target.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>

#include <charconv>

namespace mailroom::smtp_agent {

namespace {

Result<std::uint16_t> parse_port(std::string_view s, std::string_view nexthop) {
    unsigned v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || p != s.data() + s.size() || v == 0 || v > 65535) {
        // A service name ("smtp", "lmtp").
        if (s == "smtp") return std::uint16_t{25};
        if (s == "lmtp") return std::uint16_t{24};
        return make_error("bad port in nexthop \"" + std::string(nexthop) + "\"");
    }
    return static_cast<std::uint16_t>(v);
}

}  // namespace

std::string Target::namaddr() const { return hostname + "[" + (path.empty() ? address : path) + "]"; }

std::string Target::relay() const {
    if (!path.empty()) return namaddr();
    return namaddr() + ":" + std::to_string(port);
}

Result<Nexthop> parse_nexthop(std::string_view nexthop, bool lmtp) {
    Nexthop n;
    n.port = lmtp ? 24 : 25;
    std::string_view s = nexthop;
    if (s.substr(0, 5) == "unix:") {
        n.kind = Nexthop::Kind::kUnix;
        n.path = std::string(s.substr(5));
        if (n.path.empty()) return make_error("empty socket path in nexthop \"" + std::string(nexthop) + "\"");
        return n;
    }
    if (s.substr(0, 5) == "inet:") s.remove_prefix(5);
    if (!s.empty() && s[0] == '[') {
        auto close = s.find(']');
        if (close == std::string_view::npos) return make_error("bad nexthop \"" + std::string(nexthop) + "\"");
        n.host = std::string(s.substr(1, close - 1));
        n.mx_lookup = false;
        s.remove_prefix(close + 1);
        if (!s.empty()) {
            if (s[0] != ':') return make_error("bad nexthop \"" + std::string(nexthop) + "\"");
            auto port = parse_port(s.substr(1), nexthop);
            if (!port) return port.error();
            n.port = *port;
        }
    } else {
        auto colon = s.rfind(':');
        // An IPv6 address without brackets has more than one colon.
        if (colon != std::string_view::npos && s.find(':') == colon) {
            auto port = parse_port(s.substr(colon + 1), nexthop);
            if (!port) return port.error();
            n.port = *port;
            s = s.substr(0, colon);
        }
        n.host = std::string(s);
        n.mx_lookup = !lmtp;
    }
    if (n.host.empty()) return make_error("empty host in nexthop \"" + std::string(nexthop) + "\"");
    return n;
}

Result<std::vector<Target>> resolve_targets(const Nexthop& n, const std::string& myhostname) {
    std::vector<Target> out;
    if (n.kind == Nexthop::Kind::kUnix) {
        Target t;
        t.hostname = myhostname;
        t.path = n.path;
        out.push_back(t);
        return out;
    }
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICHOST;
    addrinfo* res = nullptr;
    bool literal = getaddrinfo(n.host.c_str(), nullptr, &hints, &res) == 0;
    if (!literal) {
        hints.ai_flags = AI_ADDRCONFIG;
        int rc = getaddrinfo(n.host.c_str(), nullptr, &hints, &res);
        if (rc != 0) {
            std::string why = "Host or domain name not found. Name service error for name=" + n.host +
                              " type=A: Host not found";
            if (rc == EAI_AGAIN) return make_temp_error(why + ", try again");
            return make_error(why);
        }
    }
    for (addrinfo* a = res; a; a = a->ai_next) {
        char buf[INET6_ADDRSTRLEN] = "";
        const void* src = a->ai_family == AF_INET
                              ? static_cast<const void*>(&reinterpret_cast<sockaddr_in*>(a->ai_addr)->sin_addr)
                              : static_cast<const void*>(&reinterpret_cast<sockaddr_in6*>(a->ai_addr)->sin6_addr);
        if (a->ai_family != AF_INET && a->ai_family != AF_INET6) continue;
        if (!inet_ntop(a->ai_family, src, buf, sizeof buf)) continue;
        Target t{n.host, buf, n.port, ""};
        bool seen = false;
        for (const auto& o : out) seen = seen || o.address == t.address;
        if (!seen) out.push_back(t);
    }
    freeaddrinfo(res);
    if (out.empty()) return make_error("Host or domain name not found. Name service error for name=" + n.host);
    return out;
}

}  // namespace mailroom::smtp_agent
