// mailroom_auth.cc - see mailroom_auth.h.
#include "mailroom/mailroom_auth.h"

#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <string>

#include "lib/auth/authd_proto.h"
#include "lib/util/strings.h"
#include "lib/util/unique_fd.h"

namespace mailroom::ctl {

namespace {

constexpr int kExitTempFail = 75;
constexpr int kTimeoutSeconds = 20;

// One request on a new connection; authd closes after its reply.
Result<auth::Reply> ask_authd(const std::string& path, const auth::Request& request) {
    auto bytes = auth::encode_request(request);
    if (!bytes) return bytes.error();
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    if (path.size() >= sizeof(sa.sun_path)) return make_error("socket path too long: " + path);
    std::memcpy(sa.sun_path, path.c_str(), path.size() + 1);
    util::UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd.valid()) return make_temp_error(std::string("socket: ") + std::strerror(errno));
    timeval tv{kTimeoutSeconds, 0};
    ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    ::setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0)
        return make_temp_error("connect to " + path + ": " + std::strerror(errno));
    std::string_view out = *bytes;
    while (!out.empty()) {
        ssize_t n = ::write(fd.get(), out.data(), out.size());
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return make_temp_error("write to " + path + ": " + std::strerror(errno));
        out.remove_prefix(static_cast<std::size_t>(n));
    }
    std::string in;
    char buf[4096];
    for (;;) {
        ssize_t n = ::read(fd.get(), buf, sizeof(buf));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return make_temp_error("read from " + path + ": " + std::strerror(errno));
        if (n == 0) break;
        in.append(buf, static_cast<std::size_t>(n));
        if (in.size() > auth::kMaxEnumerate) return make_error("reply too long");
    }
    return auth::decode_reply(request.type, in);
}

void print_user(const auth::AuthUser& u) {
    auto field = [](const char* name, const std::string& v) {
        std::printf("  %-8s %s\n", name, v.empty() ? "(none)" : v.c_str());
    };
    field("address:", u.address);
    if (!u.username.empty()) field("sysuser:", u.username);
    field("uid:", u.uid ? std::to_string(*u.uid) : std::string());
    field("gid:", u.gid ? std::to_string(*u.gid) : std::string());
    field("home:", u.home);
    field("maildir:", u.maildir);
    field("quota:", u.quota);
    field("name:", u.name);
    field("options:", u.options);
}

// The authd_modules element that knows the user, or "".
std::string answering_module(const config::Config& cfg, const std::string& path, const std::string& service,
                             const std::string& user) {
    auto modules = cfg.get_list("authd_modules");
    if (!modules) return {};
    for (const auto& m : *modules) {
        if (m.find_first_of(" \t\n") != std::string::npos) continue;
        auth::Request req = auth::make_pre_request(service, user);
        req.module = m;
        auto reply = ask_authd(path, req);
        if (reply && reply->kind == auth::Reply::Kind::kUser) return m;
    }
    return {};
}

int usage() {
    std::fprintf(stderr,
                 "usage: mailroom auth [-a socket] [-s service] test USER [PASSWORD]\n"
                 "       mailroom auth [-a socket] [-s service] lookup USER\n");
    return 2;
}

}  // namespace

int auth_command(const config::Config& cfg, int argc, char** argv) {
    std::string path, service = "login";
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; ++i) {
        std::string a = argv[i];
        if (a == "-a" && i + 1 < argc) {
            path = argv[++i];
        } else if (a == "-s" && i + 1 < argc) {
            service = argv[++i];
        } else {
            return usage();
        }
    }
    if (i >= argc) return usage();
    std::string cmd = argv[i++];
    if (path.empty()) {
        auto q = cfg.get("queue_directory");
        if (!q) {
            std::fprintf(stderr, "mailroom: %s\n", q.error().message.c_str());
            return 2;
        }
        path = *q + "/private/authd";
    }
    if ((cmd != "test" && cmd != "lookup") || i >= argc) return usage();
    std::string user = argv[i++];
    auth::Request request;
    if (cmd == "test") {
        std::string password;
        if (i < argc) {
            password = argv[i++];
        } else if (!std::getline(std::cin, password)) {
            return usage();
        }
        if (i != argc) return usage();
        request = auth::make_login_request(service, user, password);
    } else {
        if (i != argc) return usage();
        request = auth::make_pre_request(service, user);
    }
    auto reply = ask_authd(path, request);
    if (!reply) {
        std::printf("%s: temporary failure: %s\n", cmd == "test" ? "auth" : "lookup", reply.error().message.c_str());
        return kExitTempFail;
    }
    if (reply->kind == auth::Reply::Kind::kTempFail) {
        std::printf("%s: temporary failure: authd closed the connection without an answer (see its log)\n",
                    cmd == "test" ? "auth" : "lookup");
        return kExitTempFail;
    }
    if (reply->kind != auth::Reply::Kind::kUser) {
        if (cmd == "test") {
            std::printf("auth failed: user=<%s>\n", user.c_str());
        } else {
            std::printf("lookup: user <%s> not found\n", user.c_str());
        }
        return 1;
    }
    std::printf("%s succeeded: user=<%s>\n", cmd == "test" ? "auth" : "lookup", user.c_str());
    std::string module = answering_module(cfg, path, service, user);
    std::printf("  %-8s %s\n", "module:", module.empty() ? "(unknown)" : module.c_str());
    print_user(reply->user);
    return 0;
}

}  // namespace mailroom::ctl
