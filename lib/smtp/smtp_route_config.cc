// smtp_route_config.cc - nexthop syntax and the routing parameters of the
// smtp/lmtp agent (see smtp_route.h).
#include <arpa/inet.h>
#include <netdb.h>

#include <cctype>
#include <string>

#include "lib/address/resolve.h"
#include "lib/config/param_read.h"
#include "lib/smtp/smtp_route.h"
#include "lib/util/strings.h"

namespace mailroom::smtp_route {

namespace {

bool is_address(const std::string& s) {
    unsigned char buf[16];
    return inet_pton(AF_INET, s.c_str(), buf) == 1 || inet_pton(AF_INET6, s.c_str(), buf) == 1;
}

// Letters, digits, '-', '_' and '.', at most 255 characters: what a host
// name in a nexthop may hold (an address is checked apart).
bool is_host_name(std::string_view s) {
    if (s.empty() || s.size() > 255) return false;
    for (char c : s) {
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') return false;
    }
    return true;
}

// The names Postfix's known_tcp_ports default gives, so a nexthop does not
// depend on /etc/services for them.
struct KnownPort {
    const char* name;
    uint16_t port;
};
constexpr KnownPort kKnownPorts[] = {
    {"smtp", 25}, {"lmtp", 24}, {"submission", 587}, {"smtps", 465}, {"submissions", 465},
};

}  // namespace

Result<uint16_t> parse_port(std::string_view service) {
    std::string s(util::trim(service));
    if (s.empty()) return make_error("empty port");
    bool digits = true;
    for (char c : s) digits = digits && std::isdigit(static_cast<unsigned char>(c));
    if (digits) {
        if (s.size() > 5) return make_error("bad network port: " + s);
        long n = std::stol(s);
        if (n <= 0 || n > 65535) return make_error("bad network port: " + s);
        return static_cast<uint16_t>(n);
    }
    for (const KnownPort& k : kKnownPorts) {
        if (util::iequals(s, k.name)) return k.port;
    }
    struct servent* sp = getservbyname(s.c_str(), "tcp");
    if (sp == nullptr) return make_error("unknown service: " + s + "/tcp");
    return static_cast<uint16_t>(ntohs(static_cast<uint16_t>(sp->s_port)));
}

Result<Nexthop> parse_nexthop(std::string_view nexthop, bool lmtp) {
    return parse_nexthop(nexthop, lmtp, lmtp ? 24 : 25);
}

Result<Nexthop> parse_nexthop(std::string_view text, bool lmtp, uint16_t default_port) {
    std::string_view in = util::trim(text);
    Nexthop n;
    n.port = default_port;
    auto bad = [&](const std::string& why) { return make_error(why + " in server description: " + std::string(in)); };
    if (in.empty()) return make_error("empty nexthop");
    // The "unix:" and "inet:" prefixes are LMTP's only: an SMTP nexthop of
    // that form names a host, as in Postfix.
    if (lmtp && util::starts_with_icase(in, "unix:")) {
        n.kind = Nexthop::Kind::kUnix;
        n.path = std::string(in.substr(5));
        n.port = 0;
        n.mx_lookup = false;
        n.destination = std::string(in);
        if (n.path.empty()) return bad("missing socket path");
        return n;
    }
    if (lmtp && util::starts_with_icase(in, "inet:")) in.remove_prefix(5);
    n.destination = std::string(in);
    std::string_view host;
    std::string_view service;
    bool has_service = false;
    if (in.front() == '[') {
        size_t close = in.find(']');
        if (close == std::string_view::npos) return bad("missing \"]\"");
        host = in.substr(1, close - 1);
        std::string_view rest = in.substr(close + 1);
        if (!rest.empty()) {
            if (rest.front() != ':') return bad("garbage after \"]\"");
            service = rest.substr(1);
            has_service = true;
        }
        n.mx_lookup = false;
        if (util::starts_with_icase(host, "ipv6:")) host.remove_prefix(5);
        if (!is_address(std::string(host)) && !is_host_name(host)) return bad("bad host name or address");
    } else {
        // A bare IPv6 address has colons of its own.
        if (is_address(std::string(in))) {
            host = in;
        } else {
            size_t colon = in.rfind(':');
            host = in.substr(0, colon);
            if (colon != std::string_view::npos) {
                service = in.substr(colon + 1);
                has_service = true;
            }
        }
        if (!is_address(std::string(host)) && !is_host_name(host)) return bad("bad host name or address");
    }
    n.host = std::string(host);
    if (has_service && !service.empty()) {
        auto port = parse_port(service);
        if (!port) return bad(port.error().message);
        n.port = *port;
    }
    if (lmtp) n.mx_lookup = false;
    return n;
}

Result<std::vector<Nexthop>> parse_nexthop_list(std::string_view list, bool lmtp, uint16_t default_port) {
    std::vector<Nexthop> out;
    for (const auto& e : util::split(list, ", \t\r\n")) {
        auto n = parse_nexthop(e, lmtp, default_port);
        if (!n) return n.error();
        out.push_back(std::move(*n));
    }
    return out;
}

std::vector<std::string_view> RouterConfig::parameters() {
    return {"disable_dns_lookups", "inet_protocols", "inet_interfaces", "proxy_interfaces", "myhostname",
            "ignore_mx_lookup_error", "relayhost", "fallback_relay", "dns_servers",
            "smtp_dns_support_level", "lmtp_dns_support_level", "smtp_host_lookup", "lmtp_host_lookup",
            "smtp_address_preference", "lmtp_address_preference", "smtp_mx_address_limit", "lmtp_mx_address_limit",
            "smtp_mx_session_limit", "lmtp_mx_session_limit", "smtp_randomize_addresses", "lmtp_randomize_addresses",
            "smtp_balance_inet_protocols", "lmtp_balance_inet_protocols", "smtp_defer_if_no_mx_address_found",
            "lmtp_defer_if_no_mx_address_found", "smtp_tcp_port", "lmtp_tcp_port", "smtp_fallback_relay",
            "lmtp_fallback_relay"};
}

Result<RouterConfig> RouterConfig::from_config(const config::Config& cfg, bool lmtp) {
    RouterConfig c;
    c.lmtp = lmtp;
    const std::string p = lmtp ? "lmtp_" : "smtp_";
    auto name = [&](const char* suffix) { return p + suffix; };

    // DNS at all: smtp_dns_support_level wins over disable_dns_lookups.
    bool disable_dns = false;
    std::string level;
    if (Status st = config::read_param(cfg, "disable_dns_lookups", &disable_dns); !st) return st.error();
    if (Status st = config::read_param(cfg, name("dns_support_level"), &level); !st) return st.error();
    c.dns_enabled = level.empty() ? !disable_dns : !util::iequals(level, "disabled");

    std::vector<std::string> words;
    if (Status st = config::read_param(cfg, name("host_lookup"), &words); !st) return st.error();
    c.host_lookup_dns = c.host_lookup_native = false;
    for (const auto& w : words) {
        if (util::iequals(w, "dns")) c.host_lookup_dns = true;
        if (util::iequals(w, "native")) c.host_lookup_native = true;
    }
    // Without DNS, host names go to the system resolver.
    if (!c.dns_enabled) {
        c.host_lookup_dns = false;
        c.host_lookup_native = true;
    }

    if (Status st = config::read_param(cfg, "inet_protocols", &words); !st) return st.error();
    c.ipv4 = c.ipv6 = false;
    for (const auto& w : words) {
        if (util::iequals(w, "all")) c.ipv4 = c.ipv6 = true;
        if (util::iequals(w, "ipv4")) c.ipv4 = true;
        if (util::iequals(w, "ipv6")) c.ipv6 = true;
    }

    std::string pref;
    if (Status st = config::read_param(cfg, name("address_preference"), &pref); !st) return st.error();
    c.address_preference = util::iequals(pref, "ipv6")   ? AddressPreference::kIPv6
                           : util::iequals(pref, "ipv4") ? AddressPreference::kIPv4
                                                         : AddressPreference::kAny;

    if (Status st = config::read_param(cfg, name("mx_address_limit"), &c.mx_address_limit); !st) return st.error();
    if (Status st = config::read_param(cfg, name("mx_session_limit"), &c.mx_session_limit); !st) return st.error();
    struct Flag {
        std::string param;
        bool* field;
    };
    for (const Flag& f : {Flag{name("randomize_addresses"), &c.randomize_addresses},
                          Flag{name("balance_inet_protocols"), &c.balance_inet_protocols},
                          Flag{name("defer_if_no_mx_address_found"), &c.defer_if_no_mx_address_found},
                          Flag{"ignore_mx_lookup_error", &c.ignore_mx_lookup_error}}) {
        if (Status st = config::read_param(cfg, f.param, f.field); !st) return st.error();
    }

    std::string text;
    if (Status st = config::read_param(cfg, name("tcp_port"), &text); !st) return st.error();
    auto port = parse_port(text);
    if (!port) return port.error().prefixed(name("tcp_port") + ": ");
    c.default_port = *port;

    if (Status st = config::read_param(cfg, name("fallback_relay"), &text); !st) return st.error();
    auto fallback = parse_nexthop_list(text, lmtp, c.default_port);
    if (!fallback) return fallback.error().prefixed(name("fallback_relay") + ": ");
    c.fallback_relays = std::move(*fallback);
    if (!lmtp) {
        if (Status st = config::read_param(cfg, "relayhost", &text); !st) return st.error();
        auto relay = parse_nexthop_list(text, false, c.default_port);
        if (!relay) return relay.error().prefixed("relayhost: ");
        c.relayhosts = std::move(*relay);
    }

    if (Status st = config::read_param(cfg, "myhostname", &c.myhostname); !st) return st.error();
    c.myhostname = util::lowercase(c.myhostname);
    auto own = address::ResolveOptions::from_config(cfg);
    if (!own) return own.error();
    c.own_addresses = std::move(own->own_addresses);

    if (Status st = config::read_param(cfg, "dns_servers", &words); !st) return st.error();
    c.dns.servers = util::join(words, ",");
    return c;
}

}  // namespace mailroom::smtp_route
