// log.h - Postfix-format logging for every mailroom program.
//
// Summary
//   One process-wide logger with Postfix's five levels. A line is
//     "Nov 24 05:00:00 host mailroom/smtpd[8499]: warning: text"
//   in a file (maillog_file) and the same without the time and host through
//   syslog (facility mail). Commands also write "postconf: warning: text" to
//   standard error, as Postfix's commands do.
//
// Description
//   init() names the program (the part after syslog_name/). configure() picks
//   the sinks from the configuration: maillog_file (when non-empty) or
//   syslog, and whether to echo to stderr. reopen() is called on SIGHUP
//   (request_reopen() is the async-signal-safe form) so a rotated file is
//   picked up. fatal() exits with status 1 after logging; panic() aborts.
//   error() counts, and the 13th error ends the program like Postfix's
//   msg_error. Queue-ID lines are ordinary info() lines whose text starts
//   with "QUEUEID: " (the caller formats them; see queue_line()).
//
// Security
//   A text is logged as given; callers quote untrusted data (log_printable()).
#pragma once

#include <functional>
#include <string>
#include <string_view>

namespace mailroom::log {

enum class Level { kInfo, kWarning, kError, kFatal, kPanic };

struct Sinks {
    std::string syslog_name = "mailroom";  // prefix before "/program"
    std::string maillog_file;              // "" = syslog; "/dev/stdout" works too
    std::string syslog_facility = "mail";
    bool to_stderr = false;                // "program: warning: text" on fd 2
    bool to_syslog_or_file = true;
};

// Sets the program name (e.g. "smtpd", "postconf") and default sinks:
// stderr only until configure() is called. Idempotent.
void init(std::string_view program_name, bool to_stderr);
void configure(const Sinks& sinks);
const Sinks& current_sinks();
void reopen();
void request_reopen();  // async-signal-safe; honoured before the next line
void set_verbose(int level);
int verbose();

// Formatted output. printf-style; the text must not end in a newline.
void info(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
void warn(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
void error(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
[[noreturn]] void fatal(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
[[noreturn]] void panic(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
void debug(const char* fmt, ...) __attribute__((format(printf, 1, 2)));  // only when verbose()
void emit(Level level, std::string_view text);

// This process's id. glibc asks the kernel on every getpid(); the logger
// asks once and again in the child after fork() (pthread_atfork), so a log
// line costs no system call besides its write. Others that put the pid in
// every record (master status reports) use it too.
long process_id();

// Pure formatting, exposed for tests.
std::string level_prefix(Level level);  // "", "warning: ", "error: ", "fatal: ", "panic: "
std::string format_file_line(long epoch_seconds, std::string_view host, std::string_view tag, long pid,
                             Level level, std::string_view text);
// Replaces control characters and non-ASCII bytes with '?' (Postfix's printable()).
std::string log_printable(std::string_view s);

// Tests capture lines instead of writing them; pass nullptr to stop.
using CaptureFn = std::function<void(Level, const std::string&)>;
void set_capture(CaptureFn fn);

}  // namespace mailroom::log
