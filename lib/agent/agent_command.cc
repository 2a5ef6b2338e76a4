// agent_command.cc - see agent_command.h.
#include "lib/agent/agent_command.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "lib/util/strings.h"
#include "lib/util/unique_fd.h"

namespace mailroom::agent {

namespace {

long long now_ms() {
    struct timespec ts;
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<long long>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

[[noreturn]] void child_fail(const std::string& text, int code) {
    std::string line = text + "\n";
    ssize_t ignored = ::write(1, line.data(), line.size());
    (void)ignored;
    ::_exit(code);
}

void close_other_fds() {
    long max = ::sysconf(_SC_OPEN_MAX);
    if (max < 0 || max > 65536) max = 65536;
    for (int fd = 3; fd < max; ++fd) ::close(fd);
}

}  // namespace

Result<CommandResult> run_command(const CommandSpec& spec) {
    if (spec.argv.empty()) return make_error("empty command");
    int out[2];
    if (::pipe2(out, O_CLOEXEC) < 0) return make_temp_error(std::string("pipe: ") + std::strerror(errno));
    util::UniqueFd rd(out[0]), wr(out[1]);

    std::vector<char*> argv, envp;
    for (const auto& a : spec.argv) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    for (const auto& e : spec.env) envp.push_back(const_cast<char*>(e.c_str()));
    envp.push_back(nullptr);

    pid_t pid = ::fork();
    if (pid < 0) return make_temp_error(std::string("fork: ") + std::strerror(errno));
    if (pid == 0) {
        ::setsid();
        int in = spec.stdin_fd >= 0 ? spec.stdin_fd : ::open("/dev/null", O_RDONLY);
        if (in < 0 || ::dup2(in, 0) < 0 || ::dup2(wr.get(), 1) < 0 || ::dup2(wr.get(), 2) < 0) ::_exit(75);
        close_other_fds();
        ::signal(SIGPIPE, SIG_DFL);
        ::signal(SIGCHLD, SIG_DFL);
        sigset_t none;
        sigemptyset(&none);
        ::sigprocmask(SIG_SETMASK, &none, nullptr);
        if (spec.identity) {
            if (auto st = become(*spec.identity); !st) child_fail(st.error().message, 75);
        }
        const std::string& dir = spec.cwd.empty() ? std::string("/") : spec.cwd;
        if (::chdir(dir.c_str()) < 0 && ::chdir("/") < 0) child_fail("chdir: " + std::string(std::strerror(errno)), 75);
        ::execve(argv[0], argv.data(), envp.data());
        int err = errno;
        child_fail(util::format("execve %s: %s", argv[0], std::strerror(err)),
                   (err == ENOENT || err == ENOTDIR || err == EACCES || err == ENOEXEC) ? 69 : 75);
    }
    wr.reset();

    CommandResult result;
    long long deadline = now_ms() + spec.time_limit_seconds * 1000;
    bool timed_out = false;
    char buf[4096];
    for (;;) {
        long long left = deadline - now_ms();
        if (left <= 0) {
            timed_out = true;
            break;
        }
        struct pollfd p = {rd.get(), POLLIN, 0};
        int rc = ::poll(&p, 1, static_cast<int>(std::min<long long>(left, 60000)));
        if (rc < 0 && errno == EINTR) continue;
        if (rc < 0) break;
        if (rc == 0) continue;
        ssize_t n = ::read(rd.get(), buf, sizeof buf);
        if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
        if (n <= 0) break;  // every writer closed its end
        size_t room = spec.output_limit > result.output.size() ? spec.output_limit - result.output.size() : 0;
        result.output.append(buf, std::min(room, static_cast<size_t>(n)));
    }
    if (timed_out) {
        ::kill(-pid, SIGKILL);
        ::kill(pid, SIGKILL);
    }
    int status = 0;
    for (;;) {
        pid_t w = ::waitpid(pid, &status, 0);
        if (w >= 0 || errno != EINTR) break;
    }
    if (timed_out) {
        result.kind = CommandResult::Kind::kTimedOut;
    } else if (WIFSIGNALED(status)) {
        result.kind = CommandResult::Kind::kSignaled;
        result.code = WTERMSIG(status);
    } else {
        result.kind = CommandResult::Kind::kExited;
        result.code = WEXITSTATUS(status);
    }
    return result;
}

std::string clean_command_output(std::string_view output) {
    std::string out;
    bool space = false;
    for (char c : output) {
        unsigned char u = static_cast<unsigned char>(c);
        if (u < 0x20 || u == 0x7f || c == ' ') {
            space = !out.empty();
            continue;
        }
        if (space) out.push_back(' ');
        space = false;
        out.push_back(u >= 0x80 ? '?' : c);
    }
    return out;
}

Outcome command_outcome(const CommandResult& result, const std::string& what, const std::string& success_text) {
    std::string output = clean_command_output(result.output);
    std::string tail = output.empty() ? "" : ". Command output: " + output;
    std::string dsn;
    bool enhanced = leading_enhanced_status(output, &dsn);
    auto verdict = [&](std::string default_dsn, std::string text) {
        std::string code = enhanced ? dsn : default_dsn;
        return code[0] == '4' ? deferred(std::move(text), code) : bounced(std::move(text), code);
    };
    switch (result.kind) {
        case CommandResult::Kind::kTimedOut:
            return verdict("5.3.0", "Command time limit exceeded: \"" + what + "\"" + tail);
        case CommandResult::Kind::kSignaled:
            return deferred(util::format("Command died with signal %d: \"%s\"", result.code, what.c_str()) + tail,
                            "4.3.0");
        case CommandResult::Kind::kExited:
            break;
    }
    if (result.code == 0) return sent(success_text);
    if (auto row = sysexits_detail(result.code)) return verdict(row->dsn, std::string(row->text) + tail);
    return verdict("5.3.0", util::format("Command died with status %d: \"%s\"", result.code, what.c_str()) + tail);
}

}  // namespace mailroom::agent
