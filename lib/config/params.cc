// params.cc - see params.h. The table itself is param_table.inc.
#include "lib/config/params.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstring>

#include "lib/util/strings.h"
#include "mailroom/build_paths.h"

namespace mailroom::config {

using util::format;

namespace {

std::vector<ParamSpec> build_table() {
    std::vector<ParamSpec> t = {
#include "lib/config/param_table.inc"
    };
    std::sort(t.begin(), t.end(), [](const ParamSpec& a, const ParamSpec& b) { return std::strcmp(a.name, b.name) < 0; });
    return t;
}

std::string format_v4(const in_addr& a) {
    char buf[INET_ADDRSTRLEN];
    ::inet_ntop(AF_INET, &a, buf, sizeof(buf));
    return buf;
}

std::string format_v6(const in6_addr& a) {
    char buf[INET6_ADDRSTRLEN];
    ::inet_ntop(AF_INET6, &a, buf, sizeof(buf));
    return buf;
}

int prefix_len(const unsigned char* mask, size_t n) {
    int bits = 0;
    for (size_t i = 0; i < n; ++i) {
        unsigned char b = mask[i];
        while (b & 0x80) {
            ++bits;
            b = static_cast<unsigned char>(b << 1);
        }
        if (mask[i] != 0xff) break;
    }
    return bits;
}

void apply_mask(unsigned char* addr, size_t n, int bits) {
    for (size_t i = 0; i < n; ++i) {
        int keep = std::clamp(bits - static_cast<int>(i) * 8, 0, 8);
        addr[i] &= static_cast<unsigned char>(keep == 0 ? 0 : (0xff << (8 - keep)) & 0xff);
    }
}

}  // namespace

const std::vector<ParamSpec>& param_table() {
    static const std::vector<ParamSpec> table = build_table();
    return table;
}

const ParamSpec* find_param(std::string_view name) {
    const std::vector<ParamSpec>& t = param_table();
    auto it = std::lower_bound(t.begin(), t.end(), name,
                               [](const ParamSpec& p, std::string_view n) { return std::string_view(p.name) < n; });
    if (it != t.end() && std::string_view(it->name) == name) return &*it;
    return nullptr;
}

const char* unsupported_param_note(std::string_view name) {
    // Postfix throttles cleanup and pickup with a token pipe qmgr refills;
    // mailroom has no inflow throttle, so the setting has no effect.
    if (name == "in_flow_delay") return "not supported: mailroom does not throttle mail inflow; ignored";
    return nullptr;
}

std::string system_hostname_fqdn() {
    char buf[256] = {0};
    if (::gethostname(buf, sizeof(buf) - 1) != 0 || buf[0] == 0) return "localhost.localdomain";
    std::string h = util::lowercase(buf);
    // No DNS here: a name without a dot is completed with the default domain,
    // as Postfix does.
    if (h.find('.') == std::string::npos) h += ".localdomain";
    return h;
}

std::string domain_of_hostname(std::string_view host) {
    size_t dot = host.find('.');
    if (dot == std::string_view::npos || host.find('.', dot + 1) == std::string_view::npos) return "localdomain";
    return std::string(host.substr(dot + 1));
}

std::string mynetworks_for_style(std::string_view style) {
    std::vector<std::string> nets;
    struct ifaddrs* ifa = nullptr;
    if (::getifaddrs(&ifa) != 0) return "127.0.0.0/8 [::1]/128";
    for (struct ifaddrs* p = ifa; p; p = p->ifa_next) {
        if (!p->ifa_addr || !(p->ifa_flags & IFF_UP)) continue;
        std::string net;
        if (p->ifa_addr->sa_family == AF_INET) {
            in_addr a = reinterpret_cast<sockaddr_in*>(p->ifa_addr)->sin_addr;
            int bits = 32;
            if (style == "subnet" && p->ifa_netmask) {
                in_addr m = reinterpret_cast<sockaddr_in*>(p->ifa_netmask)->sin_addr;
                bits = prefix_len(reinterpret_cast<unsigned char*>(&m), 4);
            } else if (style == "class") {
                unsigned char first = reinterpret_cast<unsigned char*>(&a)[0];
                bits = first < 128 ? 8 : first < 192 ? 16 : first < 224 ? 24 : 32;
            }
            if (reinterpret_cast<unsigned char*>(&a)[0] == 127 && style != "host") bits = 8;
            apply_mask(reinterpret_cast<unsigned char*>(&a), 4, bits);
            net = format("%s/%d", format_v4(a).c_str(), bits);
        } else if (p->ifa_addr->sa_family == AF_INET6) {
            in6_addr a = reinterpret_cast<sockaddr_in6*>(p->ifa_addr)->sin6_addr;
            if (IN6_IS_ADDR_LINKLOCAL(&a)) continue;
            int bits = 128;
            if (style != "host" && p->ifa_netmask) {
                in6_addr m = reinterpret_cast<sockaddr_in6*>(p->ifa_netmask)->sin6_addr;
                bits = prefix_len(reinterpret_cast<unsigned char*>(&m), 16);
            }
            apply_mask(reinterpret_cast<unsigned char*>(&a), 16, bits);
            net = format("[%s]/%d", format_v6(a).c_str(), bits);
        } else {
            continue;
        }
        if (std::find(nets.begin(), nets.end(), net) == nets.end()) nets.push_back(net);
    }
    ::freeifaddrs(ifa);
    if (nets.empty()) return "127.0.0.0/8 [::1]/128";
    return util::join(nets, " ");
}

std::string default_value(const ParamSpec& spec, EffectiveLookup effective, const void* ctx) {
    if (spec.default_value) return spec.default_value;
    std::string_view name = spec.name;
    auto other = [&](std::string_view n) -> std::string {
        if (effective) return effective(ctx, n);
        const ParamSpec* p = find_param(n);
        return p ? default_value(*p) : std::string();
    };
    if (name == "myhostname") return system_hostname_fqdn();
    if (name == "mydomain") return domain_of_hostname(other("myhostname"));
    if (name == "mynetworks") return mynetworks_for_style(other("mynetworks_style"));
    if (name == "mail_version") return MAILROOM_VERSION;
    if (name == "config_directory") return MAILROOM_CONFIG_DIR;
    if (name == "queue_directory") return MAILROOM_QUEUE_DIR;
    if (name == "data_directory") return MAILROOM_DATA_DIR;
    if (name == "daemon_directory") return MAILROOM_DAEMON_DIR;
    if (name == "command_directory") return MAILROOM_COMMAND_DIR;
    return std::string();
}

Result<long long> parse_int_param(std::string_view name, std::string_view value, const ParamSpec* spec) {
    std::string v(util::trim(value));
    errno = 0;
    char* end = nullptr;
    long long n = std::strtoll(v.c_str(), &end, 10);
    if (v.empty() || *end != 0 || errno == ERANGE) {
        return make_error(format("bad numerical configuration: %.*s = %s", static_cast<int>(name.size()),
                                 name.data(), v.c_str()));
    }
    if (spec && n < spec->min) {
        return make_error(format("invalid %.*s parameter value %lld < %lld", static_cast<int>(name.size()),
                                 name.data(), n, spec->min));
    }
    if (spec && spec->max > 0 && n > spec->max) {
        return make_error(format("invalid %.*s parameter value %lld > %lld", static_cast<int>(name.size()),
                                 name.data(), n, spec->max));
    }
    return n;
}

Result<bool> parse_bool_param(std::string_view name, std::string_view value) {
    std::string_view v = util::trim(value);
    if (util::iequals(v, "yes")) return true;
    if (util::iequals(v, "no")) return false;
    return make_error(format("bad boolean configuration: %.*s = %.*s", static_cast<int>(name.size()), name.data(),
                             static_cast<int>(v.size()), v.data()));
}

Result<long long> parse_time_param(std::string_view name, std::string_view value, char unit, const ParamSpec* spec) {
    std::string v(util::trim(value));
    auto bad = [&]() {
        return make_error(format("parameter %.*s: bad time value or unit: %s", static_cast<int>(name.size()),
                                 name.data(), v.c_str()));
    };
    size_t i = 0;
    while (i < v.size() && v[i] >= '0' && v[i] <= '9') ++i;
    if (i == 0 || i > 12) return bad();
    long long n = std::stoll(v.substr(0, i));
    char u = unit;
    if (i < v.size()) {
        if (i + 1 != v.size()) return bad();
        u = v[i];
    }
    long long mult;
    switch (u) {
        case 's':
            mult = 1;
            break;
        case 'm':
            mult = 60;
            break;
        case 'h':
            mult = 3600;
            break;
        case 'd':
            mult = 86400;
            break;
        case 'w':
            mult = 7 * 86400;
            break;
        default:
            return bad();
    }
    if (n > LLONG_MAX / mult) return bad();
    long long secs = n * mult;
    if (spec && secs < spec->min) {
        return make_error(format("invalid %.*s parameter value %s < %llds", static_cast<int>(name.size()),
                                 name.data(), v.c_str(), spec->min));
    }
    if (spec && spec->max > 0 && secs > spec->max) {
        return make_error(format("invalid %.*s parameter value %s > %llds", static_cast<int>(name.size()),
                                 name.data(), v.c_str(), spec->max));
    }
    return secs;
}

std::vector<ServiceParam> service_parameters(const std::vector<MasterService>& services) {
    static constexpr std::pair<const char*, const char*> kAgentParams[] = {
        {"_destination_concurrency_limit", "default_destination_concurrency_limit"},
        {"_destination_recipient_limit", "default_destination_recipient_limit"},
        {"_destination_rate_delay", "default_destination_rate_delay"},
    };
    static constexpr const char* kAgents[] = {"local", "virtual", "pipe", "smtp", "lmtp", "error", "discard"};
    std::vector<ServiceParam> out;
    for (const MasterService& s : services) {
        if (std::find(std::begin(kAgents), std::end(kAgents), s.command) == std::end(kAgents)) continue;
        std::vector<std::pair<const char*, const char*>> params(std::begin(kAgentParams), std::end(kAgentParams));
        if (s.command == "pipe") params.emplace_back("_time_limit", "command_time_limit");
        for (auto [suffix, def] : params) {
            std::string name = s.name + suffix;
            if (find_param(name)) continue;  // a built-in row with its own default
            if (std::none_of(out.begin(), out.end(), [&](const ServiceParam& p) { return p.name == name; }))
                out.push_back({std::move(name), def});
        }
    }
    return out;
}

}  // namespace mailroom::config
