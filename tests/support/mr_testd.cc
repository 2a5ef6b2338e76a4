// mr_testd.cc - a test daemon built on the server skeletons.
//
// Summary
//   Lets master and the skeletons be tested before the real daemons exist.
//   The first service argument (after the generic options) picks the mode:
//     echo      multi server; echoes each line; "PID" and "UID" answer with
//               the process id / real uid, "ENV NAME" with an environment
//               variable, "PARAM NAME" with a parameter's effective value;
//               "QUIT" ends the session
//     capped    echo with one session per process, not accepting at that
//               cap (ServiceSpec::accept_only_below_cap)
//     single    single server with the same commands
//     trigger   trigger server; logs "trigger: N bytes" for each wakeup
//     fail      exits with a fatal error at start-up (a broken service)
//     hang      single server that never returns from a connection (the
//               daemon_timeout watchdog must end it)
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <optional>
#include <map>
#include <memory>
#include <string>

#include "lib/event/event_loop.h"
#include "lib/log/log.h"
#include "lib/server/server.h"

using namespace mailroom;

namespace {

const config::Config* g_config = nullptr;

mailroom::Status log_start(server::ServerContext& ctx) {
    g_config = &ctx.config();
    log::info("started for service %s", ctx.service_name().c_str());
    return mailroom::ok_status();
}

// Returns the reply to one line, or nullopt to end the session.
std::optional<std::string> answer(const std::string& line) {
    if (line == "QUIT") return std::nullopt;
    if (line == "PID") return "pid " + std::to_string(::getpid()) + "\n";
    if (line == "UID") return "uid " + std::to_string(::getuid()) + "\n";
    if (line.rfind("PARAM ", 0) == 0 && g_config) {
        auto v = g_config->get(line.substr(6));
        return "param " + (v ? *v : "(error)") + "\n";
    }
    if (line.rfind("ENV ", 0) == 0) {
        const char* v = std::getenv(line.substr(4).c_str());
        return std::string("env ") + (v ? v : "(unset)") + "\n";
    }
    return line + "\n";
}

struct EchoSession {
    server::Connection conn;
    event::FdWatcher watcher;
    std::string buf;
};

std::map<int, std::unique_ptr<EchoSession>> g_sessions;

void on_echo_readable(int fd) {
    auto it = g_sessions.find(fd);
    if (it == g_sessions.end()) return;
    EchoSession& s = *it->second;
    char tmp[4096];
    ssize_t n = ::read(fd, tmp, sizeof(tmp));
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (n <= 0) {
        g_sessions.erase(it);
        return;
    }
    s.buf.append(tmp, static_cast<size_t>(n));
    size_t nl;
    while ((nl = s.buf.find('\n')) != std::string::npos) {
        std::string line = s.buf.substr(0, nl);
        if (!line.empty() && line.back() == '\r') line.pop_back();
        s.buf.erase(0, nl + 1);
        auto reply = answer(line);
        if (!reply) {
            g_sessions.erase(it);
            return;
        }
        // Small replies to a test client: a blocking-free write is enough.
        ssize_t w = ::write(fd, reply->data(), reply->size());
        (void)w;
    }
}

int run_echo(int argc, char** argv, bool capped = false) {
    server::ServiceSpec spec;
    spec.program = "testd";
    if (capped) {
        spec.sessions_per_process = 1;
        spec.accept_only_below_cap = true;
    }
    spec.post_jail_init = log_start;
    spec.on_connection = [](server::ServerContext& ctx, server::Connection conn) {
        int fd = conn.fd();
        auto s = std::make_unique<EchoSession>();
        s->conn = std::move(conn);
        s->watcher = event::FdWatcher(ctx.loop(), fd, event::Interest::kRead, [fd] { on_echo_readable(fd); });
        s->watcher.enable();
        g_sessions[fd] = std::move(s);
    };
    return server::run_multi_server(argc, argv, std::move(spec));
}

int run_single(int argc, char** argv) {
    server::ServiceSpec spec;
    spec.program = "testd";
    spec.post_jail_init = log_start;
    spec.on_connection = [](server::ServerContext&, server::Connection conn) {
        std::string buf;
        char tmp[4096];
        for (;;) {
            ssize_t n = ::read(conn.fd(), tmp, sizeof(tmp));
            if (n <= 0) return;
            buf.append(tmp, static_cast<size_t>(n));
            size_t nl;
            while ((nl = buf.find('\n')) != std::string::npos) {
                std::string line = buf.substr(0, nl);
                if (!line.empty() && line.back() == '\r') line.pop_back();
                buf.erase(0, nl + 1);
                auto reply = answer(line);
                if (!reply) return;
                ssize_t w = ::write(conn.fd(), reply->data(), reply->size());
                (void)w;
            }
        }
    };
    return server::run_single_server(argc, argv, std::move(spec));
}

int run_trigger(int argc, char** argv) {
    server::ServiceSpec spec;
    spec.program = "testd";
    spec.post_jail_init = log_start;
    spec.on_trigger = [](server::ServerContext& ctx, std::string_view data) {
        log::info("trigger: %zu bytes from service %s", data.size(), ctx.service_name().c_str());
    };
    return server::run_trigger_server(argc, argv, std::move(spec));
}

int run_hang(int argc, char** argv) {
    server::ServiceSpec spec;
    spec.program = "testd";
    spec.post_jail_init = log_start;
    spec.on_connection = [](server::ServerContext&, server::Connection conn) {
        ssize_t w = ::write(conn.fd(), "hanging\n", 8);
        (void)w;
        for (;;) ::pause();
    };
    return server::run_single_server(argc, argv, std::move(spec));
}

int run_fail(int argc, char** argv) {
    server::ServiceSpec spec;
    spec.program = "testd";
    spec.post_jail_init = [](server::ServerContext&) -> Status {
        return make_error("simulated start-up failure");
    };
    spec.on_connection = [](server::ServerContext&, server::Connection) {};
    return server::run_multi_server(argc, argv, std::move(spec));
}

}  // namespace

int main(int argc, char** argv) {
    // The mode is the first service argument: the word after "--".
    std::string mode = "echo";
    for (int i = 1; i + 1 < argc; ++i) {
        if (std::strcmp(argv[i], "--") == 0) {
            mode = argv[i + 1];
            break;
        }
    }
    if (mode == "single") return run_single(argc, argv);
    if (mode == "trigger") return run_trigger(argc, argv);
    if (mode == "fail") return run_fail(argc, argv);
    if (mode == "hang") return run_hang(argc, argv);
    if (mode == "capped") return run_echo(argc, argv, true);
    return run_echo(argc, argv);
}
