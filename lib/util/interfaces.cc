// interfaces.cc - see interfaces.h.
#include "lib/util/interfaces.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>

#include "lib/util/strings.h"

namespace mailroom::util {

namespace {

// The canonical text of an IPv4 or IPv6 address, or "" when `text` is not one.
std::string canonical(std::string_view text) {
    std::string s(text);
    in6_addr a6{};
    in_addr a4{};
    char buf[INET6_ADDRSTRLEN];
    if (inet_pton(AF_INET, s.c_str(), &a4) == 1) return inet_ntop(AF_INET, &a4, buf, sizeof(buf)) ? buf : "";
    if (inet_pton(AF_INET6, s.c_str(), &a6) == 1) return inet_ntop(AF_INET6, &a6, buf, sizeof(buf)) ? buf : "";
    return "";
}

void add(std::vector<std::string>* out, std::string addr) {
    if (!addr.empty() && std::find(out->begin(), out->end(), addr) == out->end()) out->push_back(std::move(addr));
}

}  // namespace

std::vector<std::string> interface_addresses(const std::vector<std::string>& inet_interfaces) {
    std::vector<std::string> out;
    for (const auto& raw : inet_interfaces) {
        std::string name = lowercase(raw);
        if (name == "all") {
            struct ifaddrs* ifa = nullptr;
            if (::getifaddrs(&ifa) != 0) continue;
            for (struct ifaddrs* p = ifa; p; p = p->ifa_next) {
                if (!p->ifa_addr) continue;
                char buf[INET6_ADDRSTRLEN];
                if (p->ifa_addr->sa_family == AF_INET) {
                    auto* a = &reinterpret_cast<sockaddr_in*>(p->ifa_addr)->sin_addr;
                    if (inet_ntop(AF_INET, a, buf, sizeof(buf))) add(&out, buf);
                } else if (p->ifa_addr->sa_family == AF_INET6) {
                    auto* a = &reinterpret_cast<sockaddr_in6*>(p->ifa_addr)->sin6_addr;
                    if (inet_ntop(AF_INET6, a, buf, sizeof(buf))) add(&out, buf);
                }
            }
            ::freeifaddrs(ifa);
        } else if (name == "loopback-only") {
            add(&out, "127.0.0.1");
            add(&out, "::1");
        } else if (std::string c = canonical(name); !c.empty()) {
            add(&out, c);
        } else {
            addrinfo hints{};
            hints.ai_socktype = SOCK_STREAM;
            addrinfo* res = nullptr;
            if (::getaddrinfo(name.c_str(), nullptr, &hints, &res) != 0) continue;
            for (addrinfo* p = res; p; p = p->ai_next) {
                char buf[INET6_ADDRSTRLEN];
                if (::getnameinfo(p->ai_addr, p->ai_addrlen, buf, sizeof(buf), nullptr, 0, NI_NUMERICHOST) == 0)
                    add(&out, canonical(buf));
            }
            ::freeaddrinfo(res);
        }
    }
    return out;
}

bool is_own_address_literal(std::string_view domain, const std::vector<std::string>& own) {
    if (domain.size() < 3 || domain.front() != '[' || domain.back() != ']') return false;
    std::string_view inner = domain.substr(1, domain.size() - 2);
    if (inner.size() > 5 && iequals(inner.substr(0, 5), "ipv6:")) inner.remove_prefix(5);
    std::string c = canonical(inner);
    return !c.empty() && std::find(own.begin(), own.end(), c) != own.end();
}

}  // namespace mailroom::util
