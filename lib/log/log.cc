// log.cc - see log.h.
#include "lib/log/log.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdarg>
#include <cstdlib>
#include <cstring>
#include <ctime>

#include "lib/util/strings.h"

namespace mailroom::log {
namespace {

struct State {
    std::string program = "mailroom";
    Sinks sinks;
    bool configured = false;
    int file_fd = -1;
    bool syslog_open = false;
    std::string host;
    int error_count = 0;
    int verbose = 0;
    CaptureFn capture;
    std::string tag;  // syslog_name/program
    // syslog's ident, "tag[pid]": glibc's LOG_PID would ask getpid() per
    // line. Opened again when a forked child logs (syslog_pid differs).
    std::string syslog_ident;
    long syslog_pid = 0;
};

State& state() {
    static State s;
    return s;
}

volatile std::sig_atomic_t g_reopen_requested = 0;

// 0 until asked; a fork()ed child starts over with 0.
std::atomic<long> g_pid{0};

void forget_pid() { g_pid.store(0, std::memory_order_relaxed); }
constexpr int kMaxErrors = 13;

std::string short_hostname() {
    char buf[256] = {0};
    if (::gethostname(buf, sizeof(buf) - 1) != 0) return "localhost";
    std::string h(buf);
    size_t dot = h.find('.');
    if (dot != std::string::npos) h.resize(dot);
    return h.empty() ? "localhost" : h;
}

int facility_code(const std::string& name) {
    static const struct {
        const char* name;
        int code;
    } kFacilities[] = {{"mail", LOG_MAIL},     {"daemon", LOG_DAEMON}, {"user", LOG_USER},
                       {"local0", LOG_LOCAL0}, {"local1", LOG_LOCAL1}, {"local2", LOG_LOCAL2},
                       {"local3", LOG_LOCAL3}, {"local4", LOG_LOCAL4}, {"local5", LOG_LOCAL5},
                       {"local6", LOG_LOCAL6}, {"local7", LOG_LOCAL7}};
    for (const auto& f : kFacilities) {
        if (util::iequals(name, f.name)) return f.code;
    }
    return LOG_MAIL;
}

void close_sinks() {
    State& s = state();
    if (s.file_fd >= 0) {
        ::close(s.file_fd);
        s.file_fd = -1;
    }
    if (s.syslog_open) {
        ::closelog();
        s.syslog_open = false;
    }
}

void open_sinks() {
    State& s = state();
    s.tag = s.sinks.syslog_name + "/" + s.program;
    if (!s.sinks.to_syslog_or_file) return;
    if (!s.sinks.maillog_file.empty()) {
        s.file_fd = ::open(s.sinks.maillog_file.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
        if (s.file_fd < 0) {
            std::string msg = util::format("%s: warning: open maillog_file %s: %s\n", s.program.c_str(),
                                           s.sinks.maillog_file.c_str(), std::strerror(errno));
            (void)!::write(2, msg.data(), msg.size());
        }
    } else {
        // closelog() first: glibc keeps the ident pointer until then.
        if (s.syslog_open) ::closelog();
        s.syslog_pid = process_id();
        s.syslog_ident = util::format("%s[%ld]", s.tag.c_str(), s.syslog_pid);
        ::openlog(s.syslog_ident.c_str(), LOG_NDELAY, facility_code(s.sinks.syslog_facility));
        s.syslog_open = true;
    }
}

void write_all(int fd, const std::string& line) {
    size_t off = 0;
    while (off < line.size()) {
        ssize_t n = ::write(fd, line.data() + off, line.size() - off);
        if (n < 0) {
            if (errno == EINTR) continue;
            return;
        }
        off += static_cast<size_t>(n);
    }
}

int syslog_priority(Level level) {
    switch (level) {
        case Level::kInfo:
            return LOG_INFO;
        case Level::kWarning:
            return LOG_WARNING;
        case Level::kError:
            return LOG_ERR;
        case Level::kFatal:
            return LOG_CRIT;
        case Level::kPanic:
            return LOG_CRIT;
    }
    return LOG_INFO;
}

void vemit(Level level, const char* fmt, va_list ap) { emit(level, util::vformat(fmt, ap)); }

}  // namespace

long process_id() {
    long pid = g_pid.load(std::memory_order_relaxed);
    if (pid != 0) return pid;
    static const bool registered = [] { return ::pthread_atfork(nullptr, nullptr, &forget_pid) == 0; }();
    pid = static_cast<long>(::getpid());
    // Without the fork hook the id cannot be kept safely: asked each time.
    if (registered) g_pid.store(pid, std::memory_order_relaxed);
    return pid;
}

void init(std::string_view program_name, bool to_stderr) {
    State& s = state();
    s.program = std::string(program_name);
    if (!s.configured) {
        s.sinks.to_stderr = to_stderr;
        s.sinks.to_syslog_or_file = false;
    }
    s.tag = s.sinks.syslog_name + "/" + s.program;
    if (s.host.empty()) s.host = short_hostname();
}

void configure(const Sinks& sinks) {
    State& s = state();
    close_sinks();
    s.sinks = sinks;
    s.configured = true;
    if (s.host.empty()) s.host = short_hostname();
    open_sinks();
}

const Sinks& current_sinks() { return state().sinks; }

void reopen() {
    g_reopen_requested = 0;
    close_sinks();
    open_sinks();
}

void request_reopen() { g_reopen_requested = 1; }

void set_verbose(int level) { state().verbose = level; }
int verbose() { return state().verbose; }

std::string level_prefix(Level level) {
    switch (level) {
        case Level::kInfo:
            return "";
        case Level::kWarning:
            return "warning: ";
        case Level::kError:
            return "error: ";
        case Level::kFatal:
            return "fatal: ";
        case Level::kPanic:
            return "panic: ";
    }
    return "";
}

std::string format_file_line(long epoch_seconds, std::string_view host, std::string_view tag, long pid,
                             Level level, std::string_view text) {
    std::time_t t = static_cast<std::time_t>(epoch_seconds);
    struct tm tm;
    ::localtime_r(&t, &tm);
    char stamp[32];
    // "May  5 12:59:05": the day is padded with a space, as syslog does.
    std::strftime(stamp, sizeof(stamp), "%b %e %H:%M:%S", &tm);
    std::string line;
    line.reserve(text.size() + 64);
    line.append(stamp).append(" ").append(host).append(" ").append(tag);
    line.append(util::format("[%ld]: ", pid));
    line.append(level_prefix(level)).append(text).append("\n");
    return line;
}

std::string log_printable(std::string_view s) {
    std::string out(s);
    for (char& c : out) {
        unsigned char u = static_cast<unsigned char>(c);
        if (u < 0x20 || u >= 0x7f) c = '?';
    }
    return out;
}

void set_capture(CaptureFn fn) { state().capture = std::move(fn); }

void emit(Level level, std::string_view text) {
    State& s = state();
    if (g_reopen_requested) reopen();
    if (s.capture) {
        s.capture(level, std::string(text));
        return;
    }
    int saved_errno = errno;
    if (s.sinks.to_stderr) {
        std::string line = s.program + ": " + level_prefix(level) + std::string(text) + "\n";
        write_all(2, line);
    }
    if (s.sinks.to_syslog_or_file) {
        if (s.file_fd >= 0) {
            write_all(s.file_fd, format_file_line(static_cast<long>(std::time(nullptr)), s.host, s.tag,
                                                  process_id(), level, text));
        } else if (s.syslog_open) {
            if (s.syslog_pid != process_id()) open_sinks();
            std::string body = level_prefix(level) + std::string(text);
            ::syslog(syslog_priority(level), "%s", body.c_str());
        }
    }
    errno = saved_errno;
}

void info(const char* fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vemit(Level::kInfo, fmt, ap);
    va_end(ap);
}

void debug(const char* fmt, ...) {
    if (state().verbose <= 0) return;
    va_list ap;
    va_start(ap, fmt);
    vemit(Level::kInfo, fmt, ap);
    va_end(ap);
}

void warn(const char* fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vemit(Level::kWarning, fmt, ap);
    va_end(ap);
}

void error(const char* fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vemit(Level::kError, fmt, ap);
    va_end(ap);
    if (++state().error_count >= kMaxErrors) fatal("too many errors - program terminated");
}

void fatal(const char* fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vemit(Level::kFatal, fmt, ap);
    va_end(ap);
    std::exit(1);
}

void panic(const char* fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vemit(Level::kPanic, fmt, ap);
    va_end(ap);
    std::abort();
}

}  // namespace mailroom::log
