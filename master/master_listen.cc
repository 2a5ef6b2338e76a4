// master_listen.cc - see master_listen.h.
#include "master/master_listen.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cctype>
#include <cstring>
#include <memory>

#include "lib/log/log.h"
#include "lib/util/strings.h"

namespace mailroom::master {

using util::format;

Result<InetEndpoint> parse_inet_endpoint(std::string_view name) {
    InetEndpoint ep;
    if (name.empty()) return make_error("empty inet service name");
    if (name.front() == '[') {
        auto close = name.find(']');
        if (close == std::string_view::npos) return make_error(format("missing ']' in %.*s", (int)name.size(), name.data()));
        ep.host = std::string(name.substr(1, close - 1));
        auto rest = name.substr(close + 1);
        if (rest.size() < 2 || rest.front() != ':')
            return make_error(format("missing port after ']' in %.*s", (int)name.size(), name.data()));
        ep.port = std::string(rest.substr(1));
    } else {
        auto colon = name.rfind(':');
        if (colon == std::string_view::npos) {
            ep.port = std::string(name);
        } else {
            if (name.substr(0, colon).find(':') != std::string_view::npos)
                return make_error(format("IPv6 address must be in brackets: %.*s", (int)name.size(), name.data()));
            ep.host = std::string(name.substr(0, colon));
            ep.port = std::string(name.substr(colon + 1));
        }
    }
    if (ep.host == "*") ep.host.clear();
    if (ep.port.empty()) return make_error(format("missing port in inet service %.*s", (int)name.size(), name.data()));
    for (char c : ep.port) {
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_'))
            return make_error(format("bad port in inet service %.*s", (int)name.size(), name.data()));
    }
    return ep;
}

Result<Families> parse_inet_protocols(const std::vector<std::string>& values) {
    Families f{false, false};
    for (const auto& v : values) {
        std::string l = util::lowercase(v);
        if (l == "all") {
            f.ipv4 = f.ipv6 = true;
        } else if (l == "ipv4") {
            f.ipv4 = true;
        } else if (l == "ipv6") {
            f.ipv6 = true;
        } else {
            return make_error("bad inet_protocols value: " + v);
        }
    }
    if (!f.ipv4 && !f.ipv6) return make_error("inet_protocols selects no address family");
    return f;
}

std::string local_listener_path(const config::Config& cfg, const config::MasterService& svc) {
    std::string queue = cfg.get("queue_directory").ok() ? *cfg.get("queue_directory") : ".";
    if (!svc.name.empty() && svc.name.front() == '/') return svc.name;
    return queue + (svc.is_private() ? "/private/" : "/public/") + svc.name;
}

namespace {

Result<util::UniqueFd> bind_inet(const addrinfo* ai, const std::string& label) {
    // A missing address family is reported as a temporary error so that the
    // caller can skip it for wildcard listeners.
    auto failed = [&](const char* what) {
        int err = errno;
        std::string text = format("%s %s: %s", what, label.c_str(), std::strerror(err));
        return err == EAFNOSUPPORT || err == EADDRNOTAVAIL ? make_temp_error(text) : make_error(text);
    };
    util::UniqueFd fd(::socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd.valid()) return failed("socket");
    int on = 1;
    ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
    if (ai->ai_family == AF_INET6) ::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
    if (::bind(fd.get(), ai->ai_addr, ai->ai_addrlen) < 0) return failed("bind");
    if (::listen(fd.get(), 100) < 0) return make_error(format("listen %s: %s", label.c_str(), std::strerror(errno)));
    return fd;
}

Result<std::vector<util::UniqueFd>> open_inet(const config::Config& cfg, const config::MasterService& svc) {
    auto ep = parse_inet_endpoint(svc.name);
    if (!ep) return ep.error();
    auto protos = cfg.get_list("inet_protocols");
    if (!protos) return protos.error();
    auto fam = parse_inet_protocols(*protos);
    if (!fam) return fam.error();

    std::vector<std::string> hosts;  // "" = wildcard
    if (!ep->host.empty()) {
        hosts.push_back(ep->host);
    } else {
        auto ifaces = cfg.get_list("inet_interfaces");
        if (!ifaces) return ifaces.error();
        for (const auto& i : *ifaces) {
            std::string l = util::lowercase(i);
            if (l == "all") {
                hosts = {""};
                break;
            }
            if (l == "loopback-only") {
                if (fam->ipv4) hosts.push_back("127.0.0.1");
                if (fam->ipv6) hosts.push_back("::1");
                continue;
            }
            hosts.push_back(i);
        }
    }

    std::vector<util::UniqueFd> out;
    for (const auto& host : hosts) {
        addrinfo hints{};
        hints.ai_socktype = SOCK_STREAM;
        hints.ai_flags = AI_PASSIVE;
        hints.ai_family = fam->ipv4 && fam->ipv6 ? AF_UNSPEC : fam->ipv4 ? AF_INET : AF_INET6;
        addrinfo* res = nullptr;
        int rc = ::getaddrinfo(host.empty() ? nullptr : host.c_str(), ep->port.c_str(), &hints, &res);
        if (rc != 0)
            return make_error(format("inet service %s: host/port lookup: %s", svc.name.c_str(), ::gai_strerror(rc)));
        std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> guard(res, &::freeaddrinfo);
        int opened_here = 0;
        std::string last_error;
        for (const addrinfo* ai = res; ai; ai = ai->ai_next) {
            char hbuf[NI_MAXHOST], sbuf[NI_MAXSERV];
            ::getnameinfo(ai->ai_addr, ai->ai_addrlen, hbuf, sizeof(hbuf), sbuf, sizeof(sbuf),
                          NI_NUMERICHOST | NI_NUMERICSERV);
            std::string label = ai->ai_family == AF_INET6 ? format("[%s]:%s", hbuf, sbuf) : format("%s:%s", hbuf, sbuf);
            auto fd = bind_inet(ai, label);
            if (!fd) {
                // A wildcard IPv6 socket on a host without IPv6 is not fatal.
                if (host.empty() && ai->ai_family == AF_INET6 && fd.error().temporary()) {
                    log::warn("%s", fd.error().message.c_str());
                    continue;
                }
                return fd.error();
            }
            out.push_back(std::move(*fd));
            ++opened_here;
        }
        if (opened_here == 0) return make_error(format("inet service %s: no usable address", svc.name.c_str()));
    }
    return out;
}

Result<util::UniqueFd> open_unix(const std::string& path, int type) {
    sockaddr_un sun{};
    sun.sun_family = AF_UNIX;
    if (path.size() >= sizeof(sun.sun_path)) return make_error("socket path too long: " + path);
    std::memcpy(sun.sun_path, path.c_str(), path.size() + 1);
    util::UniqueFd fd(::socket(AF_UNIX, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd.valid()) return make_error(format("socket %s: %s", path.c_str(), std::strerror(errno)));
    struct stat st {};
    if (::lstat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode)) ::unlink(path.c_str());
    if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&sun), sizeof(sun)) < 0)
        return make_error(format("bind %s: %s", path.c_str(), std::strerror(errno)));
    ::chmod(path.c_str(), 0666);
    if (type == SOCK_STREAM && ::listen(fd.get(), 100) < 0)
        return make_error(format("listen %s: %s", path.c_str(), std::strerror(errno)));
    return fd;
}

Result<util::UniqueFd> open_fifo(const std::string& path) {
    struct stat st {};
    if (::lstat(path.c_str(), &st) == 0 && !S_ISFIFO(st.st_mode))
        return make_error("not a fifo: " + path);
    if (::mkfifo(path.c_str(), 0622) < 0 && errno != EEXIST)
        return make_error(format("mkfifo %s: %s", path.c_str(), std::strerror(errno)));
    ::chmod(path.c_str(), 0622);
    // Read-write, so the fifo never reports end-of-file to the children.
    util::UniqueFd fd(::open(path.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC));
    if (!fd.valid()) return make_error(format("open fifo %s: %s", path.c_str(), std::strerror(errno)));
    return fd;
}

}  // namespace

Result<std::vector<util::UniqueFd>> open_listeners(const config::Config& cfg, const config::MasterService& svc) {
    if (svc.type == "inet") return open_inet(cfg, svc);
    std::vector<util::UniqueFd> out;
    std::string path = local_listener_path(cfg, svc);
    Result<util::UniqueFd> fd = make_error("unsupported service type: " + svc.type);
    if (svc.type == "unix") fd = open_unix(path, SOCK_STREAM);
    else if (svc.type == "unix-dgram") fd = open_unix(path, SOCK_DGRAM);
    else if (svc.type == "fifo") fd = open_fifo(path);
    if (!fd) return fd.error();
    out.push_back(std::move(*fd));
    return out;
}

}  // namespace mailroom::master
