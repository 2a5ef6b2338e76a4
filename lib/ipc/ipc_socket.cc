// ipc_socket.cc - see ipc_socket.h.
#include "lib/ipc/ipc_socket.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "lib/ipc/protocol.h"
#include "lib/util/strings.h"

namespace mailroom::ipc {

namespace {

std::int64_t now_ms() {
    struct timespec ts;
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<std::int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

int remaining_ms(std::int64_t deadline) {
    std::int64_t left = deadline - now_ms();
    return left < 0 ? 0 : static_cast<int>(left);
}

Status set_nonblocking(int fd) {
    int flags = ::fcntl(fd, F_GETFL);
    if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
        return make_error(util::format("fcntl O_NONBLOCK: %s", std::strerror(errno)));
    }
    return ok_status();
}

// Waits for `events` on fd until the deadline: ok, or a temporary error.
Status wait_fd(int fd, short events, std::int64_t deadline, const char* what) {
    for (;;) {
        struct pollfd p = {fd, events, 0};
        int n = ::poll(&p, 1, remaining_ms(deadline));
        if (n > 0) return ok_status();
        if (n == 0) return make_temp_error(util::format("timeout while %s", what));
        if (errno != EINTR) return make_temp_error(util::format("poll while %s: %s", what, std::strerror(errno)));
    }
}

Result<sockaddr_un> make_addr(const std::string& path) {
    sockaddr_un addr;
    std::memset(&addr, 0, sizeof(addr));
    addr.sun_family = AF_UNIX;
    if (path.empty() || path.size() >= sizeof(addr.sun_path)) {
        return make_error(util::format("socket path too long or empty (%zu bytes, limit %zu): %s", path.size(),
                                       sizeof(addr.sun_path) - 1, path.c_str()));
    }
    std::memcpy(addr.sun_path, path.data(), path.size());
    return addr;
}

}  // namespace

std::string service_socket_path(std::string_view queue_directory, ServiceClass cls, std::string_view name) {
    std::string out(queue_directory);
    if (out.empty() || out.back() != '/') out.push_back('/');
    out.append(cls == ServiceClass::kPrivate ? "private/" : "public/");
    out.append(name);
    return out;
}

Result<util::UniqueFd> connect_unix(const std::string& path, int timeout_ms) {
    auto addr = make_addr(path);
    if (!addr) return addr.error();
    std::int64_t deadline = now_ms() + timeout_ms;
    for (;;) {
        util::UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
        if (!fd.valid()) return make_temp_error(util::format("socket: %s", std::strerror(errno)));
        if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&*addr), sizeof(sockaddr_un)) == 0) return fd;
        int err = errno;
        if (err == EINPROGRESS) {
            if (Status st = wait_fd(fd.get(), POLLOUT, deadline, "connecting"); !st) {
                return make_temp_error(util::format("connect to %s: %s", path.c_str(), st.error().message.c_str()));
            }
            int soerr = 0;
            socklen_t len = sizeof(soerr);
            ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &soerr, &len);
            if (soerr == 0) return fd;
            err = soerr;
        }
        // A full backlog on a UNIX socket shows as EAGAIN: retry until the deadline.
        if (err == EAGAIN && remaining_ms(deadline) > 0) {
            struct timespec nap = {0, 10 * 1000 * 1000};
            ::nanosleep(&nap, nullptr);
            continue;
        }
        if (err == EINTR) continue;
        return make_temp_error(util::format("connect to %s: %s", path.c_str(), std::strerror(err)));
    }
}

SendStep send_pending(int fd, std::string& out, std::string* error) {
    while (!out.empty()) {
        ssize_t n = ::send(fd, out.data(), out.size(), MSG_NOSIGNAL);
        if (n > 0) {
            out.erase(0, static_cast<size_t>(n));
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return SendStep::kWouldBlock;
        if (error) *error = n < 0 ? std::strerror(errno) : "nothing written";
        return SendStep::kError;
    }
    return SendStep::kDone;
}

Result<util::UniqueFd> connect_service(std::string_view queue_directory, ServiceClass cls, std::string_view name,
                                       int timeout_ms) {
    return connect_unix(service_socket_path(queue_directory, cls, name), timeout_ms);
}

Result<util::UniqueFd> listen_unix(const std::string& path, int backlog) {
    auto addr = make_addr(path);
    if (!addr) return addr.error();
    util::UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd.valid()) return make_temp_error(util::format("socket: %s", std::strerror(errno)));
    struct stat st;
    if (::lstat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode)) ::unlink(path.c_str());
    if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&*addr), sizeof(sockaddr_un)) < 0) {
        return make_error(util::format("bind %s: %s", path.c_str(), std::strerror(errno)));
    }
    if (::listen(fd.get(), backlog) < 0) {
        return make_error(util::format("listen %s: %s", path.c_str(), std::strerror(errno)));
    }
    return fd;
}

Result<util::UniqueFd> accept_unix(int listen_fd, int timeout_ms) {
    std::int64_t deadline = now_ms() + timeout_ms;
    for (;;) {
        if (Status st = wait_fd(listen_fd, POLLIN, deadline, "accepting"); !st) return st.error();
        int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
        if (fd >= 0) return util::UniqueFd(fd);
        if (errno == EINTR || errno == EAGAIN || errno == ECONNABORTED) continue;
        return make_temp_error(util::format("accept: %s", std::strerror(errno)));
    }
}

IpcStream::IpcStream(util::UniqueFd fd, int timeout_ms) : fd_(std::move(fd)), timeout_ms_(timeout_ms) {
    if (fd_.valid()) (void)set_nonblocking(fd_.get());
}

Status IpcStream::send(const AttrList& record) {
    auto bytes = encode_record(record);
    if (!bytes) return bytes.error();
    std::int64_t deadline = now_ms() + timeout_ms_;
    std::string_view rest = *bytes;
    while (!rest.empty()) {
        ssize_t n = ::send(fd_.get(), rest.data(), rest.size(), MSG_NOSIGNAL);
        if (n > 0) {
            rest.remove_prefix(static_cast<std::size_t>(n));
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (Status st = wait_fd(fd_.get(), POLLOUT, deadline, "sending attribute record"); !st) return st;
            continue;
        }
        return make_temp_error(util::format("send attribute record: %s", std::strerror(errno)));
    }
    return ok_status();
}

Result<AttrList> IpcStream::receive() {
    std::int64_t deadline = now_ms() + timeout_ms_;
    char buf[16384];
    for (;;) {
        if (!pending_.empty()) {
            std::size_t used = 0;
            AttrDecoder::Step step = decoder_.feed(pending_, &used);
            pending_.erase(0, used);
            if (step == AttrDecoder::Step::kRecord) return decoder_.take();
            if (step == AttrDecoder::Step::kError) {
                Error err = decoder_.error();
                decoder_.reset();
                pending_.clear();
                return err;
            }
        }
        ssize_t n = ::recv(fd_.get(), buf, sizeof(buf), 0);
        if (n > 0) {
            pending_.append(buf, static_cast<std::size_t>(n));
            continue;
        }
        if (n == 0) {
            if (decoder_.pending_bytes() > 0) {
                return make_temp_error(util::format("peer closed the connection in the middle of a record (%zu bytes)",
                                                    decoder_.pending_bytes()));
            }
            return make_temp_error("peer closed the connection");
        }
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            if (Status st = wait_fd(fd_.get(), POLLIN, deadline, "receiving attribute record"); !st) return st.error();
            continue;
        }
        return make_temp_error(util::format("receive attribute record: %s", std::strerror(errno)));
    }
}

Status IpcStream::announce(std::string_view protocol, std::int64_t version) {
    return send(make_announcement(protocol, version));
}

Status IpcStream::expect_announcement(std::string_view protocol, std::int64_t version) {
    auto record = receive();
    if (!record) {
        Error err = record.error();
        err.message = util::format("reading %.*s announcement: %s", static_cast<int>(protocol.size()), protocol.data(),
                                   err.message.c_str());
        return err;
    }
    return check_announcement(*record, protocol, version);
}

}  // namespace mailroom::ipc
