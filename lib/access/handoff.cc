// handoff.cc - see handoff.h.
#include "lib/access/handoff.h"

#include <sys/socket.h>
#include <sys/uio.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <vector>

#include "lib/util/strings.h"

namespace mailroom::access {
namespace {

void field(std::string* out, std::string_view name, std::string_view value) {
    *out += std::to_string(name.size() + 1 + value.size());
    *out += ':';
    *out += name;
    *out += '=';
    *out += value;
    *out += ',';
}

template <class T>
bool number(std::string_view s, T* out) {
    if (s.empty()) return false;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
    return ec == std::errc() && p == s.data() + s.size();
}

}  // namespace

std::string encode_handoff(const Handoff& h) {
    std::string out;
    field(&out, "id", std::to_string(h.id));
    field(&out, "proto", h.protocol);
    field(&out, "user", h.login_name);
    field(&out, "method", h.method);
    field(&out, "rip", h.rip);
    field(&out, "lip", h.lip);
    field(&out, "tls", h.tls ? "1" : "0");
    field(&out, "username", h.user.username);
    field(&out, "address", h.user.address);
    field(&out, "name", h.user.name);
    field(&out, "home", h.user.home);
    field(&out, "maildir", h.user.maildir);
    field(&out, "quota", h.user.quota);
    field(&out, "options", h.user.options);
    if (h.user.uid) field(&out, "uid", std::to_string(*h.user.uid));
    if (h.user.gid) field(&out, "gid", std::to_string(*h.user.gid));
    field(&out, "state", h.state);
    return out;
}

Result<Handoff> decode_handoff(std::string_view in) {
    if (in.size() > kMaxHandoffMessage) return make_error("hand-off message too long");
    Handoff h;
    bool have_proto = false, have_user = false;
    while (!in.empty()) {
        const auto colon = in.find(':');
        std::size_t len = 0;
        if (colon == std::string_view::npos || colon > 7 || !number(in.substr(0, colon), &len) ||
            len > in.size() - colon - 1 || in.size() - colon - 1 - len < 1 || in[colon + 1 + len] != ',')
            return make_error("malformed hand-off field");
        const std::string_view f = in.substr(colon + 1, len);
        in.remove_prefix(colon + 2 + len);
        const auto eq = f.find('=');
        if (eq == std::string_view::npos) return make_error("malformed hand-off field");
        const std::string_view name = f.substr(0, eq), value = f.substr(eq + 1);
        auto str = [&](std::string* out) { out->assign(value); };
        if (name == "id") {
            if (!number(value, &h.id)) return make_error("bad hand-off id");
        } else if (name == "proto") {
            str(&h.protocol);
            have_proto = !value.empty();
        } else if (name == "user") {
            str(&h.login_name);
            have_user = !value.empty();
        } else if (name == "method") str(&h.method);
        else if (name == "rip") str(&h.rip);
        else if (name == "lip") str(&h.lip);
        else if (name == "tls") h.tls = value == "1";
        else if (name == "username") str(&h.user.username);
        else if (name == "address") str(&h.user.address);
        else if (name == "name") str(&h.user.name);
        else if (name == "home") str(&h.user.home);
        else if (name == "maildir") str(&h.user.maildir);
        else if (name == "quota") str(&h.user.quota);
        else if (name == "options") str(&h.user.options);
        else if (name == "state") str(&h.state);
        else if (name == "uid" || name == "gid") {
            std::uint32_t v = 0;
            if (!number(value, &v) || v == UINT32_MAX) return make_error(util::format("bad hand-off %.*s",
                                                                  static_cast<int>(name.size()), name.data()));
            if (name == "uid") h.user.uid = static_cast<uid_t>(v);
            else h.user.gid = static_cast<gid_t>(v);
        }
    }
    if (!have_proto || !have_user) return make_error("hand-off without protocol or user");
    return h;
}

Status send_message(int sock, std::string_view data, int fd) {
    iovec iov{const_cast<char*>(data.data()), data.size()};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))];
    if (fd >= 0) {
        std::memset(control, 0, sizeof(control));
        msg.msg_control = control;
        msg.msg_controllen = sizeof(control);
        cmsghdr* c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        std::memcpy(CMSG_DATA(c), &fd, sizeof(int));
    }
    ssize_t n;
    do {
        n = ::sendmsg(sock, &msg, MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    if (n < 0) return make_error(util::format("send to mail process: %s", std::strerror(errno)));
    if (static_cast<std::size_t>(n) != data.size()) return make_error("send to mail process: short write");
    return ok_status();
}

Result<bool> recv_message(int sock, std::string* data, util::UniqueFd* fd) {
    std::vector<char> buf(kMaxHandoffMessage + 1);
    iovec iov{buf.data(), buf.size()};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * 4)];
    msg.msg_control = control;
    msg.msg_controllen = sizeof(control);
    ssize_t n;
    do {
        n = ::recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
    } while (n < 0 && errno == EINTR);
    if (n < 0) return make_error(util::format("receive from socket: %s", std::strerror(errno)));
    fd->reset();
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
        const std::size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (std::size_t i = 0; i < count; ++i) {
            int got;
            std::memcpy(&got, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
            if (!fd->valid()) fd->reset(got);
            else ::close(got);
        }
    }
    if (n == 0 && !fd->valid()) return false;
    if ((msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) != 0) {
        fd->reset();
        return make_error("message from socket truncated");
    }
    data->assign(buf.data(), static_cast<std::size_t>(n));
    return true;
}

}  // namespace mailroom::access
