// main.cc - sendmail (and mailq): the Sendmail-compatible front end.
//
// Summary
//   sendmail [options] [recipient ...] < message
//   Runs postdrop from $command_directory, reads the queue ID it prints,
//   and writes the message to it as a record stream (sendmail_message.h)
//   that starts with Postfix's "Received: by $myhostname ($mail_name,
//   from userid N) id QUEUEID; date" header; the exit status is postdrop's:
//   0 once the message is safely in maildrop/. -bp (or the name mailq)
//   runs "postqueue -p", -q runs "postqueue -f", -bi runs newaliases.
//   Options: sendmail_opts.h.
//
// Security
//   Runs with the user's privileges; postdrop is the only set-gid part.
//   Programs are started with execv (no shell).
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "lib/config/common_params.h"
#include "lib/config/config.h"
#include "lib/log/log.h"
#include "lib/queue/record.h"
#include "lib/util/strings.h"
#include "sendmail/sendmail_message.h"
#include "sendmail/sendmail_opts.h"
#include "sendmail/sendmail_smtp.h"

using namespace mailroom;

namespace {

constexpr int kExUsage = 64;
constexpr int kExTempFail = 75;

[[noreturn]] void exec_program(const std::string& path, std::vector<std::string> args) {
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(path.c_str(), argv.data());
    log::fatal("execute %s: %s", path.c_str(), std::strerror(errno));
}

// Writes everything or fails (postdrop went away).
bool write_all(int fd, std::string_view data) {
    while (!data.empty()) {
        ssize_t n = ::write(fd, data.data(), data.size());
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        data.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
}

std::string login_name() {
    struct passwd* pw = ::getpwuid(::getuid());
    if (!pw) log::fatal("no login name found for user ID %lu", static_cast<unsigned long>(::getuid()));
    return pw->pw_name;
}

// One postdrop child: the record stream goes to its standard input, the
// maildrop file's queue ID comes back on its standard output.
class Postdrop final : public sendmail::MessageSubmitter {
public:
    Postdrop(const sendmail::SendmailOptions& opts, const config::Config& cfg, std::string command_dir)
        : opts_(opts), cfg_(cfg), command_dir_(std::move(command_dir)) {}
    ~Postdrop() override { abort(); }

    Result<std::string> open() override {
        abort();
        int fds[2];
        int id_fds[2];
        if (::pipe2(fds, O_CLOEXEC) < 0) return make_temp_error(util::format("pipe: %s", std::strerror(errno)));
        if (::pipe2(id_fds, O_CLOEXEC) < 0) {
            ::close(fds[0]);
            ::close(fds[1]);
            return make_temp_error(util::format("pipe: %s", std::strerror(errno)));
        }
        pid_ = ::fork();
        if (pid_ < 0) log::fatal("fork: %s", std::strerror(errno));
        if (pid_ == 0) {
            ::dup2(fds[0], STDIN_FILENO);
            ::dup2(id_fds[1], STDOUT_FILENO);
            std::vector<std::string> args = {"postdrop", "-r"};
            if (!opts_.config_dir.empty()) {
                args.push_back("-c");
                args.push_back(cfg_.config_dir());
            }
            exec_program(command_dir_ + "/postdrop", args);
        }
        ::close(fds[0]);
        ::close(id_fds[1]);
        out_ = fds[1];
        // postdrop first says which queue ID the maildrop file has.
        std::string queue_id;
        for (char c; queue_id.size() < 64;) {
            ssize_t n = ::read(id_fds[0], &c, 1);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0 || c == '\n') break;
            queue_id.push_back(c);
        }
        ::close(id_fds[0]);
        if (queue_id.empty()) {
            abort();
            return make_temp_error("message not queued: postdrop failed");
        }
        return queue_id;
    }

    Status write(queue::RecordType type, std::string_view payload) override {
        if (broken_) return make_temp_error("postdrop exited early");
        if (auto st = queue::append_record(&buffer_, type, payload); !st) return st;
        if (buffer_.size() >= 64 * 1024) return flush();
        return ok_status();
    }

    Status commit() override {
        Status st = flush();
        ::close(out_);
        out_ = -1;
        int status = wait();
        if (!st) return st;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return make_temp_error("message not queued: postdrop failed");
        return ok_status();
    }

    // Closing the pipe before the end marker makes postdrop keep nothing.
    void abort() override {
        buffer_.clear();
        broken_ = false;
        if (out_ >= 0) ::close(out_);
        out_ = -1;
        if (pid_ > 0) (void)wait();
    }

private:
    Status flush() {
        if (!broken_ && !write_all(out_, buffer_)) broken_ = true;
        buffer_.clear();
        return broken_ ? make_temp_error("postdrop exited early") : ok_status();
    }
    int wait() {
        int status = 0;
        while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
        }
        pid_ = -1;
        return status;
    }

    const sendmail::SendmailOptions& opts_;
    const config::Config& cfg_;
    std::string command_dir_;
    pid_t pid_ = -1;
    int out_ = -1;
    std::string buffer_;
    bool broken_ = false;
};

std::string param(const config::Config& cfg, const char* name, const char* fallback) {
    auto v = cfg.get(name);
    return v ? *v : std::string(fallback);
}

// sendmail -bs: the SMTP dialogue on standard input and output.
int smtp_mode(const sendmail::SendmailOptions& opts, const config::Config& cfg, const std::string& command_dir) {
    sendmail::SmtpOptions so;
    so.myhostname = param(cfg, "myhostname", "localhost");
    so.mail_name = param(cfg, "mail_name", "mailroom");
    so.banner = param(cfg, "smtpd_banner", "");
    if (so.banner.empty()) so.banner = so.myhostname + " ESMTP " + so.mail_name;
    if (auto v = cfg.get_size("message_size_limit"); v) so.message_size_limit = static_cast<std::uint64_t>(*v);
    if (auto v = smtp::parse_options_from_config(cfg); v) so.parse = *v;
    if (auto v = cfg.get_bool("disable_vrfy_command"); v) so.disable_vrfy_command = *v;
    if (auto v = cfg.get_int("smtpd_recipient_limit"); v && *v > 0) so.recipient_limit = static_cast<std::size_t>(*v);
    if (auto v = cfg.get_int("smtpd_hard_error_limit"); v && *v > 0) so.hard_error_limit = static_cast<int>(*v);
    so.uid = static_cast<long>(::getuid());
    Postdrop postdrop(opts, cfg, command_dir);
    sendmail::SmtpDialogue dialogue(so, &postdrop);
    if (!write_all(STDOUT_FILENO, dialogue.greeting())) return 0;
    char chunk[4096];
    while (!dialogue.done()) {
        ssize_t n = ::read(STDIN_FILENO, chunk, sizeof(chunk));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            dialogue.end_of_input();
            break;
        }
        // Replies to everything complete, then wait for more (pipelining).
        std::string out = dialogue.feed(std::string_view(chunk, static_cast<std::size_t>(n)));
        if (!out.empty() && !write_all(STDOUT_FILENO, out)) break;
    }
    return 0;
}

int deliver(const sendmail::SendmailOptions& opts, const config::Config& cfg, const std::string& command_dir) {
    std::string sender = opts.sender_given ? opts.sender : login_name();
    if (!opts.extract_recipients && opts.recipients.empty())
        log::fatal("Recipient addresses must be specified on the command line or via the -t option");

    Postdrop postdrop(opts, cfg, command_dir);
    auto opened = postdrop.open();
    if (!opened) {
        log::error("%s", opened.error().message.c_str());
        return kExTempFail;
    }
    const std::string& queue_id = *opened;
    std::string hostname = param(cfg, "myhostname", "localhost");
    std::string mail_name = param(cfg, "mail_name", "mailroom");

    auto sink = [&](queue::RecordType type, std::string_view payload) { return postdrop.write(type, payload); };
    sendmail::MessageWriter writer(opts, sender, sink);
    struct timeval tv {};
    ::gettimeofday(&tv, nullptr);
    Status st = writer.begin(tv.tv_sec, static_cast<std::int32_t>(tv.tv_usec),
                             sendmail::received_header(hostname, mail_name, static_cast<long>(::getuid()), queue_id,
                                                       tv.tv_sec));
    // Read standard input in pieces of at most one record.
    char chunk[4096];
    std::size_t have = 0;
    bool done = false;
    while (st && !done) {
        ssize_t n = ::read(STDIN_FILENO, chunk + have, sizeof(chunk) - have);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            st = make_error(util::format("read standard input: %s", std::strerror(errno)));
            break;
        }
        if (n == 0) {
            if (have > 0) {
                auto r = writer.feed(std::string_view(chunk, have), true);
                if (!r) st = r.error();
            }
            break;
        }
        have += static_cast<std::size_t>(n);
        std::size_t start = 0;
        for (;;) {
            const char* nl = static_cast<const char*>(std::memchr(chunk + start, '\n', have - start));
            if (!nl) break;
            auto r = writer.feed(std::string_view(chunk + start, static_cast<std::size_t>(nl - (chunk + start))), true);
            start = static_cast<std::size_t>(nl - chunk) + 1;
            if (!r) {
                st = r.error();
                break;
            }
            if (*r) {
                done = true;
                break;
            }
        }
        if (!st || done) break;
        std::memmove(chunk, chunk + start, have - start);
        have -= start;
        if (have == sizeof(chunk)) {
            // A long line: pass this piece on and keep reading the line.
            auto r = writer.feed(std::string_view(chunk, have), false);
            if (!r) st = r.error();
            have = 0;
        }
    }
    if (st) st = writer.finish();
    if (!st) {
        postdrop.abort();
        log::error("%s", st.error().message.c_str());
        return st.error().temporary() ? kExTempFail : kExUsage;
    }
    if (auto c = postdrop.commit(); !c) {
        log::error("%s", c.error().message.c_str());
        return kExTempFail;
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    ::signal(SIGPIPE, SIG_IGN);
    std::vector<std::string> args(argv, argv + argc);
    auto opts = sendmail::parse_sendmail_args(args);
    std::string prog = args.empty() ? "sendmail" : args[0].substr(args[0].rfind('/') + 1);
    log::init(prog == "mailq" ? "mailq" : "sendmail", true);
    if (!opts) {
        log::error("%s", opts.error().message.c_str());
        return kExUsage;
    }
    log::set_verbose(opts->verbose);
    auto cfg = config::Config::load(config::resolve_config_directory(opts->config_dir));
    if (!cfg) log::fatal("%s", cfg.error().message.c_str());
    config::configure_logging(*cfg, true);
    auto command_dir = cfg->get("command_directory");
    if (!command_dir) log::fatal("%s", command_dir.error().message.c_str());
    std::vector<std::string> conf_args;
    if (!opts->config_dir.empty()) conf_args = {"-c", cfg->config_dir()};
    switch (opts->mode) {
        case sendmail::Mode::kMailq: {
            std::vector<std::string> a = {"postqueue"};
            a.insert(a.end(), conf_args.begin(), conf_args.end());
            a.push_back("-p");
            exec_program(*command_dir + "/postqueue", a);
        }
        case sendmail::Mode::kFlush: {
            std::vector<std::string> a = {"postqueue"};
            a.insert(a.end(), conf_args.begin(), conf_args.end());
            a.push_back("-f");
            exec_program(*command_dir + "/postqueue", a);
        }
        case sendmail::Mode::kNewaliases: {
            std::vector<std::string> a = {"newaliases"};
            a.insert(a.end(), conf_args.begin(), conf_args.end());
            exec_program(*command_dir + "/newaliases", a);
        }
        case sendmail::Mode::kSmtp: return smtp_mode(*opts, *cfg, *command_dir);
        case sendmail::Mode::kDeliver: break;
    }
    return deliver(*opts, *cfg, *command_dir);
}
