// mail_process.cc - see mail_process.h.
#include "lib/access/mail_process.h"

#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <charconv>
#include <cstring>
#include <set>

#include "lib/log/log.h"
#include "lib/util/strings.h"

namespace mailroom::access {
namespace {

// Messages: "H" + encode_handoff() with the client's descriptor (login
// process -> broker -> mail process); "D<id>" a session ended (back).
std::string done_message(std::uint64_t id) { return "D" + std::to_string(id); }

bool parse_done(const std::string& msg, std::uint64_t* id) {
    if (msg.size() < 2 || msg[0] != 'D') return false;
    auto [p, ec] = std::from_chars(msg.data() + 1, msg.data() + msg.size(), *id);
    return ec == std::errc() && p == msg.data() + msg.size();
}

[[noreturn]] void mail_process_main(int sock, const MailSessionStarter& starter) {
    event::Loop loop;
    int sessions = 0;
    bool eof = false;
    event::FdWatcher watcher;
    watcher = event::FdWatcher(loop, sock, event::Interest::kRead, [&] {
        std::string msg;
        util::UniqueFd fd;
        auto got = recv_message(sock, &msg, &fd);
        if (!got || !*got) {
            eof = true;
            watcher.disable();
            if (sessions == 0) loop.stop();
            return;
        }
        if (msg.empty() || msg[0] != 'H' || !fd.valid()) return;
        auto h = decode_handoff(std::string_view(msg).substr(1));
        if (!h) {
            log::warn("mail process: %s", h.error().message.c_str());
            return;
        }
        ++sessions;
        const std::uint64_t id = h->id;
        auto reported = std::make_shared<bool>(false);
        starter(loop, std::move(*h), std::move(fd), [&, id, reported] {
            if (*reported) return;
            *reported = true;
            (void)send_message(sock, done_message(id));
            if (--sessions == 0 && eof) loop.stop();
        });
    });
    watcher.enable();
    loop.run();
    ::_exit(0);
}

struct Child {
    pid_t pid = -1;
    uid_t uid = 0;
    gid_t gid = 0;
    util::UniqueFd sock;
    std::set<std::uint64_t> ids;
};

// Forks a mail process for uid/gid (changed to when privileged).
std::unique_ptr<Child> spawn(uid_t uid, gid_t gid, bool privileged, const MailSessionStarter& starter,
                             int login_sock, const std::vector<std::unique_ptr<Child>>& others) {
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
        log::warn("mail broker: socketpair: %s", std::strerror(errno));
        return nullptr;
    }
    const pid_t pid = ::fork();
    if (pid < 0) {
        log::warn("mail broker: fork: %s", std::strerror(errno));
        ::close(sv[0]);
        ::close(sv[1]);
        return nullptr;
    }
    if (pid == 0) {
        ::close(sv[0]);
        ::close(login_sock);
        for (const auto& o : others) ::close(o->sock.get());
        if (privileged) {
            if (::setgroups(1, &gid) < 0 || ::setgid(gid) < 0 || ::setuid(uid) < 0) {
                log::error("mail process: set uid %ld gid %ld: %s", static_cast<long>(uid), static_cast<long>(gid),
                           std::strerror(errno));
                ::_exit(1);
            }
            if (::setuid(0) == 0) ::_exit(1);
            ::prctl(PR_SET_DUMPABLE, 0);
        }
        // Dies with the broker (the uid change cleared the setting), so
        // with its login process: "mailroom stop" ends the sessions too.
        ::signal(SIGTERM, SIG_DFL);
        ::prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (::getppid() == 1) ::_exit(0);
        mail_process_main(sv[1], starter);
    }
    ::close(sv[1]);
    auto c = std::make_unique<Child>();
    c->pid = pid;
    c->uid = uid;
    c->gid = gid;
    c->sock.reset(sv[0]);
    return c;
}

[[noreturn]] void broker_main(int login_sock, const MailProcessOptions& options, bool privileged,
                              const MailSessionStarter& starter) {
    std::vector<std::unique_ptr<Child>> children;
    auto report = [&](std::uint64_t id) { (void)send_message(login_sock, done_message(id)); };
    for (;;) {
        while (::waitpid(-1, nullptr, WNOHANG) > 0) {
        }
        std::vector<pollfd> pfds;
        pfds.push_back({login_sock, POLLIN, 0});
        for (const auto& c : children) pfds.push_back({c->sock.get(), POLLIN, 0});
        const int n = ::poll(pfds.data(), pfds.size(), 1000);
        if (n < 0 && errno != EINTR) ::_exit(1);
        if (n <= 0) continue;
        // Mail processes first: their reports free room for new sessions.
        for (std::size_t i = children.size(); i-- > 0;) {
            if (pfds[i + 1].revents == 0) continue;
            Child& c = *children[i];
            std::string msg;
            util::UniqueFd ignored;
            auto got = recv_message(c.sock.get(), &msg, &ignored);
            std::uint64_t id = 0;
            if (got && *got) {
                if (parse_done(msg, &id) && c.ids.erase(id) > 0) report(id);
                if (!c.ids.empty()) continue;
            } else {
                for (auto left : c.ids) report(left);  // the process died with them
            }
            children.erase(children.begin() + static_cast<std::ptrdiff_t>(i));  // EOF tells it to exit
        }
        if (pfds[0].revents == 0) continue;
        std::string msg;
        util::UniqueFd fd;
        auto got = recv_message(login_sock, &msg, &fd);
        if (!got || !*got) ::_exit(0);  // the login process is gone; mail processes finish their sessions
        if (msg.empty() || msg[0] != 'H' || !fd.valid()) continue;
        auto h = decode_handoff(std::string_view(msg).substr(1));
        if (!h) {
            log::warn("mail broker: %s", h.error().message.c_str());
            continue;
        }
        std::string why;
        if (privileged && !MailProcesses::runnable_uid(h->user, &why)) {
            log::error("%s(%s): %s", h->protocol.c_str(), log::log_printable(h->login_name).c_str(), why.c_str());
            report(h->id);
            continue;
        }
        const uid_t uid = h->user.uid.value_or(::getuid());
        const gid_t gid = h->user.gid.value_or(::getgid());
        Child* target = nullptr;
        for (auto& c : children) {
            if (c->uid == uid && c->gid == gid &&
                static_cast<int>(c->ids.size()) < options.sessions_per_process) {
                target = c.get();
                break;
            }
        }
        if (!target) {
            auto c = spawn(uid, gid, privileged, starter, login_sock, children);
            if (!c) {
                report(h->id);
                continue;
            }
            target = c.get();
            children.push_back(std::move(c));
        }
        if (auto st = send_message(target->sock.get(), msg, fd.get()); !st) {
            log::warn("mail broker: %s", st.error().message.c_str());
            report(h->id);
            continue;
        }
        target->ids.insert(h->id);
    }
}

}  // namespace

MailProcesses::~MailProcesses() {
    watcher_ = event::FdWatcher();
    sock_.reset();  // the broker exits at EOF
    if (broker_ > 0) ::waitpid(broker_, nullptr, WNOHANG);
}

bool MailProcesses::runnable_uid(const auth::AuthUser& user, std::string* why) {
    if (!user.uid || !user.gid) {
        *why = "authd gave no UID/GID for the user: can not run a mail process";
        return false;
    }
    if (*user.uid == 0 || *user.gid == 0) {
        *why = util::format("refusing to run a mail process as uid %ld gid %ld", static_cast<long>(*user.uid),
                            static_cast<long>(*user.gid));
        return false;
    }
    return true;
}

Result<std::unique_ptr<MailProcesses>> MailProcesses::start(MailProcessOptions options, MailSessionStarter starter) {
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
        return make_error(util::format("socketpair: %s", std::strerror(errno)));
    const bool privileged = ::geteuid() == 0;
    const pid_t parent = ::getpid();
    const pid_t pid = ::fork();
    if (pid < 0) {
        ::close(sv[0]);
        ::close(sv[1]);
        return make_error(util::format("fork mail broker: %s", std::strerror(errno)));
    }
    if (pid == 0) {
        ::close(sv[0]);
        for (int fd : options.close_fds) ::close(fd);
        ::signal(SIGCHLD, SIG_DFL);
        ::signal(SIGTERM, SIG_DFL);
        ::prctl(PR_SET_PDEATHSIG, SIGTERM);  // with its login process
        if (::getppid() != parent) ::_exit(0);
        broker_main(sv[1], options, privileged, starter);
    }
    ::close(sv[1]);
    std::unique_ptr<MailProcesses> m(new MailProcesses());
    m->sock_.reset(sv[0]);
    m->broker_ = pid;
    m->privileged_ = privileged;
    return m;
}

void MailProcesses::attach(event::Loop& loop, std::function<void(std::uint64_t id)> on_done,
                           std::function<void()> on_gone) {
    on_done_ = std::move(on_done);
    on_gone_ = std::move(on_gone);
    ::fcntl(sock_.get(), F_SETFL, ::fcntl(sock_.get(), F_GETFL) | O_NONBLOCK);
    watcher_ = event::FdWatcher(loop, sock_.get(), event::Interest::kRead, [this] { on_readable(); });
    watcher_.enable();
}

void MailProcesses::on_readable() {
    for (;;) {
        std::string msg;
        util::UniqueFd ignored;
        auto got = recv_message(sock_.get(), &msg, &ignored);
        if (!got) return;  // EAGAIN
        if (!*got) {
            log::warn("mail broker exited");
            watcher_.disable();
            if (auto gone = std::move(on_gone_)) gone();
            return;
        }
        std::uint64_t id = 0;
        if (parse_done(msg, &id) && on_done_) on_done_(id);
    }
}

Status MailProcesses::handoff(const Handoff& handoff, int fd) {
    std::string msg = "H" + encode_handoff(handoff);
    if (msg.size() > kMaxHandoffMessage) return make_error("hand-off message too long");
    return send_message(sock_.get(), msg, fd);
}

// TlsProxy

namespace {
constexpr std::size_t kMaxProxyQueue = 256 * 1024;
}

TlsProxy::TlsProxy(event::Channel::Ptr tls, util::UniqueFd clear, event::Loop& loop, std::function<void()> done)
    : tls_(std::move(tls)), done_(std::move(done)) {
    clear_ = event::Channel::create(loop, std::move(clear), {.max_line = 2048, .max_input = 64 * 1024});
    if (!clear_) {
        loop.defer([this] { closed(true); });
        return;
    }
    tls_->set_timeouts(std::chrono::milliseconds(0), std::chrono::milliseconds(0));
    tls_->on_input([this] { pump(*tls_, *clear_); });
    clear_->on_input([this] { pump(*clear_, *tls_); });
    tls_->on_event([this](event::Channel::Event, const std::string&) { closed(true); });
    clear_->on_event([this](event::Channel::Event, const std::string&) { closed(false); });
    tls_->resume_reading();
    clear_->resume_reading();
}

TlsProxy::~TlsProxy() = default;

void TlsProxy::pump(event::Channel& from, event::Channel& to) {
    if (finishing_) return;
    const std::size_t n = from.input_size();
    if (n > 0) to.write(from.read(n));
    if (to.output_size() > kMaxProxyQueue) {
        from.pause_reading();
        to.on_drained([&from, &to] {
            to.on_drained(nullptr);
            from.resume_reading();
        });
    }
}

void TlsProxy::closed(bool client_side) {
    if (finishing_) return;
    finishing_ = true;
    if (!client_side && clear_ && tls_ && clear_->input_size() > 0) tls_->write(clear_->read(clear_->input_size()));
    if (client_side || !tls_ || tls_->output_size() == 0) {
        if (done_) done_();
        return;
    }
    // The mail process ended the session: what it said last reaches the
    // client before the close.
    tls_->pause_reading();
    tls_->on_drained([this] {
        if (done_) done_();
    });
}

}  // namespace mailroom::access
