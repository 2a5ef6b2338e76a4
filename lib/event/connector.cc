// connector.cc - non-blocking connect from the loop; see connector.h.
#include "lib/event/connector.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cerrno>
#include <cstring>

namespace mailroom::event {

namespace {

bool parse_port(std::string_view text, std::uint16_t* port) {
    if (text.empty() || text.size() > 5) return false;
    unsigned value = 0;
    for (char c : text) {
        if (c < '0' || c > '9') return false;
        value = value * 10 + static_cast<unsigned>(c - '0');
    }
    if (value == 0 || value > 65535) return false;
    *port = static_cast<std::uint16_t>(value);
    return true;
}

}  // namespace

std::string StreamAddress::text() const {
    if (!path.empty()) return "unix:" + path;
    if (address.find(':') != std::string::npos) return "inet:[" + address + "]:" + std::to_string(port);
    return "inet:" + address + ":" + std::to_string(port);
}

Result<StreamAddress> parse_stream_address(std::string_view spec, bool bare_inet) {
    StreamAddress a;
    std::string_view s = spec;
    if (s.starts_with("unix:")) s.remove_prefix(5);
    if (!s.empty() && s.front() == '/') {
        if (s.size() >= sizeof(sockaddr_un::sun_path)) return make_error("socket path too long: " + std::string(spec));
        a.path = std::string(s);
        return a;
    }
    if (s.starts_with("inet:")) s.remove_prefix(5);
    else if (!bare_inet) return make_error("expected unix:PATH or inet:HOST:PORT: " + std::string(spec));
    std::string_view host;
    std::string_view port;
    if (!s.empty() && s.front() == '[') {
        auto close = s.find(']');
        if (close == std::string_view::npos || close + 1 >= s.size() || s[close + 1] != ':')
            return make_error("bad address: " + std::string(spec));
        host = s.substr(1, close - 1);
        port = s.substr(close + 2);
    } else {
        auto colon = s.rfind(':');
        if (colon == std::string_view::npos) return make_error("address without a port: " + std::string(spec));
        host = s.substr(0, colon);
        port = s.substr(colon + 1);
    }
    if (!parse_port(port, &a.port)) return make_error("bad port: " + std::string(spec));
    if (host == "localhost") host = "127.0.0.1";
    unsigned char buf[sizeof(in6_addr)];
    std::string h(host);
    if (inet_pton(AF_INET, h.c_str(), buf) != 1 && inet_pton(AF_INET6, h.c_str(), buf) != 1)
        return make_error("host must be a numeric address or localhost: " + std::string(spec));
    a.address = h;
    return a;
}

std::unique_ptr<Connector> Connector::start(Loop& loop, const StreamAddress& to, std::chrono::milliseconds timeout,
                                            Done done) {
    std::unique_ptr<Connector> c(new Connector(loop));
    c->done_ = std::move(done);
    sockaddr_storage ss{};
    socklen_t len = 0;
    int family = AF_UNIX;
    if (!to.path.empty()) {
        auto* sun = reinterpret_cast<sockaddr_un*>(&ss);
        sun->sun_family = AF_UNIX;
        if (to.path.size() >= sizeof(sun->sun_path)) {
            c->finish(make_error("File name too long"));
            return c;
        }
        std::memcpy(sun->sun_path, to.path.c_str(), to.path.size() + 1);
        len = sizeof(sockaddr_un);
    } else if (to.address.find(':') != std::string::npos) {
        family = AF_INET6;
        auto* s6 = reinterpret_cast<sockaddr_in6*>(&ss);
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons(to.port);
        inet_pton(AF_INET6, to.address.c_str(), &s6->sin6_addr);
        len = sizeof(sockaddr_in6);
    } else {
        family = AF_INET;
        auto* s4 = reinterpret_cast<sockaddr_in*>(&ss);
        s4->sin_family = AF_INET;
        s4->sin_port = htons(to.port);
        inet_pton(AF_INET, to.address.c_str(), &s4->sin_addr);
        len = sizeof(sockaddr_in);
    }
    int fd = ::socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        c->finish(make_error(std::strerror(errno)));
        return c;
    }
    c->fd_ = util::UniqueFd(fd);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&ss), len) == 0) {
        c->finish(std::move(c->fd_));
        return c;
    }
    if (errno != EINPROGRESS) {
        c->finish(make_error(std::strerror(errno)));
        return c;
    }
    Connector* raw = c.get();
    c->watch_ = FdWatcher(loop, fd, Interest::kWrite, [raw] {
        int err = 0;
        socklen_t l = sizeof err;
        if (::getsockopt(raw->fd_.get(), SOL_SOCKET, SO_ERROR, &err, &l) < 0) err = errno;
        if (err != 0) raw->finish(make_error(std::strerror(err)));
        else raw->finish(std::move(raw->fd_));
    });
    c->watch_.enable();
    if (timeout.count() > 0) {
        c->timer_ = Timer(loop, [raw] { raw->finish(make_error("Connection timed out")); });
        c->timer_.start(timeout);
    }
    return c;
}

void Connector::finish(Result<util::UniqueFd> result) {
    if (!done_) return;
    watch_.disable();
    timer_.cancel();
    std::weak_ptr<int> alive = alive_;
    // The descriptor is move-only; deferred work must be copyable.
    auto box = std::make_shared<Result<util::UniqueFd>>(std::move(result));
    loop_.defer([alive, done = std::move(done_), box] {
        if (alive.expired()) return;
        done(std::move(*box));
    });
    done_ = nullptr;
}

}  // namespace mailroom::event
