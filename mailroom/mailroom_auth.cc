// mailroom_auth.cc - see mailroom_auth.h.
#include "mailroom/mailroom_auth.h"

#include <chrono>
#include <cstdio>
#include <iostream>
#include <string>

#include "lib/auth/auth_client.h"
#include "lib/auth/authd_proto.h"

namespace mailroom::ctl {

namespace {

constexpr int kExitTempFail = 75;
constexpr std::chrono::seconds kTimeout{20};

auth::AuthResult ask_authd(const std::string& path, const auth::Request& request) {
    auth::AuthClientOptions options;
    options.socket_path = path;
    options.service = path;
    options.timeout = kTimeout;
    return auth::authd_call(options, request);
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
        auto result = ask_authd(path, req);
        if (result.kind == auth::AuthResult::Kind::kOk && result.reply.kind == auth::Reply::Kind::kUser) return m;
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
    auto result = ask_authd(path, request);
    if (result.kind == auth::AuthResult::Kind::kTempFail) {
        std::printf("%s: temporary failure: %s\n", cmd == "test" ? "auth" : "lookup", result.reason.c_str());
        return kExitTempFail;
    }
    if (result.kind != auth::AuthResult::Kind::kOk || result.reply.kind != auth::Reply::Kind::kUser) {
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
    print_user(result.reply.user);
    return 0;
}

}  // namespace mailroom::ctl
