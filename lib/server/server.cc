// server.cc - the daemon skeletons; see server.h.
//
// Description
//   ServerCore holds everything one daemon process shares between its
//   listeners and sessions. The three run_* entry points differ only in the
//   mode (how a readable listener is served) and the concurrency limit.
#include "lib/server/server.h"

#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

#include "lib/config/common_params.h"
#include "lib/config/config_snapshot.h"
#include "lib/config/validate.h"
#include "lib/log/log.h"
#include "lib/server/accept_thread.h"
#include "lib/server/master_proto.h"
#include "lib/util/shared_library.h"
#include "lib/util/strings.h"

namespace mailroom::server {

enum class Mode { kMulti, kSingle, kTrigger };

namespace {

struct Listener {
    int fd = -1;
    int sock_type = 0;  // SOCK_STREAM, SOCK_DGRAM, or 0 for a fifo
    event::FdWatcher watcher;
};

// The loop has not turned for daemon_timeout seconds. Like Postfix's
// watchdog this logs from the signal handler: the process is stuck and about
// to die, so the rare risk of interrupting the logger is accepted.
void watchdog_fired(int) {
    ::signal(SIGALRM, SIG_DFL);
    ::alarm(5);  // should logging itself hang, the default action ends us
    log::emit(log::Level::kFatal, "watchdog timeout");
    ::_exit(1);
}

// The configuration master handed down on kConfigFd (config_snapshot.h),
// so that a main.cf broken after the last accepted reload never reaches a
// new process; the files when started otherwise.
Result<config::Config> load_configuration(const std::string& config_dir) {
    if (::fcntl(proto::kConfigFd, F_GETFD) >= 0) {
        auto bytes = config::read_snapshot_fd(proto::kConfigFd);
        if (bytes && bytes->rfind("mailroom-config ", 0) == 0) {
            ::close(proto::kConfigFd);
            return config::Config::from_snapshot(*bytes, config_dir);
        }
    }
    return config::Config::load(config_dir);
}

}  // namespace

std::string basename_of(const char* path) {
    std::string p = path ? path : "daemon";
    auto slash = p.rfind('/');
    return slash == std::string::npos ? p : p.substr(slash + 1);
}

class ServerCore {
public:
    ServerCore(Mode mode, ServiceSpec spec) : mode_(mode), spec_(std::move(spec)), ctx_(*this) {}

    int run(int argc, char** argv);
    void session_ended();
    void exit_when_idle() {
        if (exit_requested_) return;
        exit_requested_ = true;
        if (sessions_ == 0) {
            finish();
            return;
        }
        if (mode_ == Mode::kMulti) tell_master();
        update_watching();
    }
    // Leaves the process: on_exit, then _exit(0). Only called once the loop
    // has returned, so no object is destroyed inside its own callback.
    [[noreturn]] void exit_now();

    int ipc_timeout_ms() const { return ipc_timeout_ms_; }

    config::Config config_;
    ServerOptions options_;
    std::string service_name_;
    std::unique_ptr<event::Loop> loop_;
    bool exit_requested_ = false;

private:
    Status setup(int argc, char** argv);
    Status drop_privileges();
    void on_readable(Listener& l);
    void take_accepted();
    void accept_over_cap();
    void serve_client(int fd);
    void serve_trigger(Listener& l);
    void report(proto::ChildState state);
    void tell_master();
    bool use_limit_reached() const;
    void went_idle();
    void update_watching();
    void finish();

    Mode mode_;
    ServiceSpec spec_;
    ServerContext ctx_;
    std::vector<std::unique_ptr<Listener>> listeners_;
    event::Timer idle_timer_;
    // Multi and single servers take their clients through an AcceptThread
    // (one process woken per client); the listeners' own watchers are used
    // by trigger servers, and where the thread cannot run.
    std::unique_ptr<AcceptThread> accepter_;
    int in_hand_ = 0;  // taken from the thread, not yet served
    // At sessions_per_process sessions (without accept_only_below_cap) a
    // process still takes clients nobody else takes: it looks for them
    // every 100 ms rather than competing with the processes below the cap.
    event::Timer over_cap_timer_;
    event::Timer watchdog_timer_;
    std::vector<event::SignalWatcher> signals_;
    long long max_idle_ = 100;
    long long max_use_ = 100;
    long long daemon_timeout_ = 18000;
    int ipc_timeout_ms_ = 3600 * 1000;
    int sessions_ = 0;
    unsigned served_ = 0;
    bool exiting_ = false;  // finish() was called: the loop unwinds, then exit_now()
    // A multi server: what master was told last (tell_master()).
    bool told_busy_ = false;
    bool told_served_ = false;
};

// Connection

Connection::Connection(util::UniqueFd fd, ServerCore* core) : fd_(std::move(fd)), core_(core) {}
Connection::~Connection() { close(); }
Connection::Connection(Connection&& other) noexcept
    : fd_(std::move(other.fd_)), core_(std::exchange(other.core_, nullptr)) {}
Connection& Connection::operator=(Connection&& other) noexcept {
    if (this != &other) {
        close();
        fd_ = std::move(other.fd_);
        core_ = std::exchange(other.core_, nullptr);
    }
    return *this;
}
void Connection::close() {
    fd_.reset();
    if (auto* core = std::exchange(core_, nullptr)) core->session_ended();
}

// ServerContext

const config::Config& ServerContext::config() const { return core_.config_; }
const ServerOptions& ServerContext::options() const { return core_.options_; }
const std::string& ServerContext::service_name() const { return core_.service_name_; }
int ServerContext::ipc_timeout_ms() const { return core_.ipc_timeout_ms(); }
event::Loop& ServerContext::loop() { return *core_.loop_; }
void ServerContext::request_exit() {
    core_.exit_when_idle();
}

// ServerCore

Status ServerCore::setup(int argc, char** argv) {
    std::vector<std::string> args;
    for (int i = 1; i < argc; ++i) args.emplace_back(argv[i]);
    auto opts = parse_server_options(args);
    if (!opts) return opts.error();
    options_ = std::move(*opts);
    if (!options_.under_master())
        return make_error("this program is started by the master daemon (missing -s)");
    service_name_ = options_.service_name.empty() ? spec_.program : options_.service_name;

    auto cfg = load_configuration(config::resolve_config_directory(options_.config_dir));
    if (!cfg) return cfg.error();
    config_ = std::move(*cfg);
    for (const auto& [n, v] : options_.overrides) config_.set_override(n, v);

    config::configure_logging(config_, options_.debug);
    log::set_verbose(options_.verbose);
    static const std::vector<std::string_view> kSkeletonParameters = {
        "max_idle",    "max_use",         "daemon_timeout", "ipc_timeout",    "syslog_name",
        "maillog_file", "syslog_facility", "mail_owner",     "queue_directory"};
    if (auto st = config::validate_params(config_, kSkeletonParameters); !st) return st;
    if (auto st = config::validate_params(config_, spec_.parameters); !st) return st;

    auto get_time = [&](const char* name, long long& out) -> Status {
        auto v = config_.get_time(name);
        if (!v) return v.error();
        out = *v;
        return ok_status();
    };
    if (auto st = get_time("max_idle", max_idle_); !st) return st;
    if (auto st = get_time("daemon_timeout", daemon_timeout_); !st) return st;
    auto ipc = config::ipc_timeout_ms(config_);
    if (!ipc) return ipc.error();
    ipc_timeout_ms_ = *ipc;
    auto use = config_.get_int("max_use");
    if (!use) return use.error();
    max_use_ = *use;

    // The inherited listeners. A bad descriptor means master and child
    // disagree about the protocol: fatal.
    for (int i = 0; i < options_.listen_count; ++i) {
        int fd = proto::kListenFdStart + i;
        struct stat st {};
        if (::fstat(fd, &st) < 0)
            return make_error(util::format("listener descriptor %d: %s", fd, std::strerror(errno)));
        auto l = std::make_unique<Listener>();
        l->fd = fd;
        if (S_ISSOCK(st.st_mode)) {
            int type = 0;
            socklen_t len = sizeof(type);
            ::getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len);
            l->sock_type = type;
        }
        ::fcntl(fd, F_SETFD, FD_CLOEXEC);
        ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
        listeners_.push_back(std::move(l));
    }
    ::fcntl(proto::kStatusFd, F_SETFD, FD_CLOEXEC);
    return ok_status();
}

Status ServerCore::drop_privileges() {
    if (::geteuid() != 0) return ok_status();  // unprivileged instance: nothing to change
    struct passwd* pw = nullptr;
    std::string owner;
    if (options_.unpriv) {
        auto o = config_.get("mail_owner");
        if (!o) return o.error();
        owner = *o;
        pw = ::getpwnam(owner.c_str());
        if (!pw) return make_error("unknown mail_owner user: " + owner);
        if (pw->pw_uid == 0) return make_error("mail_owner must not be the super-user: " + owner);
    }
    uid_t uid = pw ? pw->pw_uid : 0;
    gid_t gid = pw ? pw->pw_gid : 0;
    if (options_.chroot) {
        auto q = config_.get("queue_directory");
        if (!q) return q.error();
        // Tables open after the chroot: the libraries they load at run time
        // (lib/util/shared_library.h) are loaded now, while in reach.
        util::preload_before_jail(config_.snapshot());
        if (::chroot(q->c_str()) < 0 || ::chdir("/") < 0)
            return make_error(util::format("chroot %s: %s", q->c_str(), std::strerror(errno)));
    }
    if (pw) {
        if (::setgroups(1, &gid) < 0 || ::setgid(gid) < 0 || ::setuid(uid) < 0)
            return make_error(util::format("drop privileges to %s: %s", owner.c_str(), std::strerror(errno)));
        if (::setuid(0) == 0) return make_error("privileges were not dropped: setuid(0) succeeded");
    }
    return ok_status();
}

void ServerCore::report(proto::ChildState state) {
    proto::StatusMessage msg{static_cast<std::int32_t>(::getpid()), state, served_};
    auto bytes = encode_status(msg);
    ssize_t n;
    do {
        n = ::write(proto::kStatusFd, bytes.data(), bytes.size());
    } while (n < 0 && errno == EINTR);
    if (n < 0 && errno == EPIPE) {
        // master is gone: nobody will send us work or collect our status.
        finish();
    }
}

bool ServerCore::use_limit_reached() const {
    return !spec_.long_lived && max_use_ > 0 && served_ >= static_cast<unsigned>(max_use_);
}

void ServerCore::update_watching() {
    constexpr int kMany = 1 << 20;
    const int cap = spec_.sessions_per_process;
    int room = 0;  // clients the process takes now
    bool over_cap = false;
    if (!exiting_ && !exit_requested_ && !use_limit_reached()) {
        if (mode_ != Mode::kMulti)
            room = sessions_ == 0 ? 1 : 0;
        else if (cap <= 0)
            room = kMany;
        else if (sessions_ < cap)
            room = cap - sessions_;
        else
            over_cap = !spec_.accept_only_below_cap;
        if (!spec_.long_lived && max_use_ > 0)
            room = static_cast<int>(std::min<long long>(room, max_use_ - static_cast<long long>(served_)));
    }
    if (accepter_) {
        accepter_->set_credits(room - in_hand_);
        if (!over_cap)
            over_cap_timer_.cancel();
        else if (!over_cap_timer_.pending())
            over_cap_timer_.start(std::chrono::milliseconds(100));
        return;
    }
    bool watch = room > 0 || over_cap;
    for (auto& l : listeners_) {
        if (watch)
            l->watcher.enable();
        else
            l->watcher.disable();
    }
}

void ServerCore::went_idle() {
    if (exiting_) return;
    if (exit_requested_ || use_limit_reached()) {
        finish();
        return;
    }
    if (mode_ == Mode::kMulti)
        tell_master();
    else
        report(proto::ChildState::kAvailable);
    if (!spec_.long_lived && max_idle_ > 0) idle_timer_.start(std::chrono::seconds(max_idle_));
    if (spec_.on_idle) spec_.on_idle(ctx_);
    update_watching();
}

void ServerCore::session_ended() {
    if (sessions_ > 0) --sessions_;
    if (sessions_ == 0) {
        went_idle();
        return;
    }
    if (mode_ == Mode::kMulti) tell_master();
    update_watching();
}

// A multi server is available to master while it takes clients and has
// fewer than sessions_per_process of them (see the accept path); master
// learns of each change, and of the first client served.
void ServerCore::tell_master() {
    if (exiting_) return;
    int cap = spec_.sessions_per_process;
    bool busy = exit_requested_ || use_limit_reached() || (cap > 0 && sessions_ >= cap);
    bool served = served_ > 0;
    if (busy == told_busy_ && served == told_served_) return;
    told_busy_ = busy;
    told_served_ = served;
    report(busy ? proto::ChildState::kBusy : proto::ChildState::kAvailable);
}

// The process is done. finish() is called from inside callbacks (the last
// session's Connection going away, a signal, a timer), where the service's
// objects may still be on the stack: destroying them there (on_exit) would
// free a session, or its bufferevent, inside its own callback. So finish()
// only stops taking work and breaks the loop; run() calls exit_now() after
// the loop has returned.
void ServerCore::finish() {
    if (!loop_) exit_now();  // before the loop exists: nothing is on the stack
    if (exiting_) return;
    exiting_ = true;
    idle_timer_.cancel();
    update_watching();
    loop_->stop();
}

void ServerCore::exit_now() {
    exiting_ = true;
    if (spec_.on_exit) spec_.on_exit(ctx_);
    std::fflush(nullptr);
    ::_exit(0);
}

void ServerCore::on_readable(Listener& l) {
    if (exiting_) return;
    if (mode_ == Mode::kTrigger) {
        serve_trigger(l);
        return;
    }
    int fd = ::accept4(l.fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
        // Another process took the connection, or it went away: not an error.
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != ECONNABORTED && errno != EINTR)
            log::warn("accept: %s", std::strerror(errno));
        return;
    }
    serve_client(fd);
}

void ServerCore::take_accepted() {
    auto clients = accepter_->take();
    in_hand_ = static_cast<int>(clients.size());
    for (const auto& c : clients) {
        --in_hand_;
        if (c.fd < 0)
            log::warn("accept: %s", std::strerror(c.error));
        else
            serve_client(c.fd);
    }
    in_hand_ = 0;
}

void ServerCore::accept_over_cap() {
    for (auto& l : listeners_) {
        for (int i = 0; i < 16 && !exiting_; ++i) {
            int fd = ::accept4(l->fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
            if (fd < 0) {
                if (errno != EAGAIN && errno != EWOULDBLOCK && errno != ECONNABORTED && errno != EINTR)
                    log::warn("accept: %s", std::strerror(errno));
                break;
            }
            serve_client(fd);
        }
    }
    update_watching();
}

void ServerCore::serve_client(int fd) {
    // A client the thread took while the process was being told to stop.
    if (exiting_) {
        ::close(fd);
        return;
    }
    idle_timer_.cancel();
    ++served_;
    // A single server is busy for its one conversation. A multi server
    // stays available to master while it has sessions (as Postfix's
    // multi_server, which is taken only while it serves a request), up to
    // sessions_per_process of them: master starts another process only
    // when none can take a client, not whenever every process has one. At
    // max_use it stops taking clients and says so, so that master starts
    // its successor while it finishes its sessions.
    ++sessions_;
    if (mode_ == Mode::kSingle)
        report(proto::ChildState::kBusy);
    else
        tell_master();
    update_watching();
    if (mode_ == Mode::kSingle) {
        // One conversation at a time: the service reads with blocking calls.
        ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    }
    spec_.on_connection(ctx_, Connection(util::UniqueFd(fd), this));
}

void ServerCore::serve_trigger(Listener& l) {
    idle_timer_.cancel();
    ++sessions_;
    report(proto::ChildState::kBusy);
    char buf[1024];
    ssize_t n = -1;
    if (l.sock_type == SOCK_STREAM) {
        util::UniqueFd conn(::accept4(l.fd, nullptr, nullptr, SOCK_CLOEXEC));
        if (conn.valid()) {
            // Read what the client sends until it closes, bounded by ipc_timeout.
            size_t got = 0;
            while (got < sizeof(buf)) {
                pollfd p{conn.get(), POLLIN, 0};
                int r = ::poll(&p, 1, std::min(ipc_timeout_ms_, 3600 * 1000));
                if (r <= 0) break;
                ssize_t k = ::read(conn.get(), buf + got, sizeof(buf) - got);
                if (k <= 0) break;
                got += static_cast<size_t>(k);
            }
            n = static_cast<ssize_t>(got);
        }
    } else {
        // A fifo (master holds it open for writing, so no EOF) or a datagram.
        n = ::read(l.fd, buf, sizeof(buf));
    }
    if (n > 0) {
        ++served_;
        spec_.on_trigger(ctx_, std::string_view(buf, static_cast<size_t>(n)));
    }
    session_ended();
}

int ServerCore::run(int argc, char** argv) {
    ::signal(SIGPIPE, SIG_IGN);
    if (spec_.program.empty()) spec_.program = basename_of(argc > 0 ? argv[0] : nullptr);
    log::init(spec_.program, true);
    if (auto st = setup(argc, argv); !st) log::fatal("%s", st.error().message.c_str());

    if (spec_.pre_jail_init) {
        if (auto st = spec_.pre_jail_init(ctx_); !st) log::fatal("%s", st.error().message.c_str());
    }
    if (auto st = drop_privileges(); !st) log::fatal("%s", st.error().message.c_str());
    // Die with master (the setting is cleared by the uid change, so set it here).
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() == 1) log::fatal("master is gone");
    // The loop exists before post_jail_init, so a service can set up its
    // timers and watchers there (ServerContext::loop()).
    loop_ = std::make_unique<event::Loop>();
    if (spec_.post_jail_init) {
        if (auto st = spec_.post_jail_init(ctx_); !st) log::fatal("%s", st.error().message.c_str());
    }

    if (mode_ != Mode::kTrigger && !listeners_.empty() &&
        std::all_of(listeners_.begin(), listeners_.end(), [](const auto& l) { return l->sock_type == SOCK_STREAM; })) {
        std::vector<int> fds;
        for (auto& l : listeners_) fds.push_back(l->fd);
        accepter_ = std::make_unique<AcceptThread>();
        if (auto st = accepter_->start(*loop_, fds, [this] { take_accepted(); }); !st) {
            log::warn("%s: every process of the service wakes for each client", st.error().message.c_str());
            accepter_.reset();
        }
        over_cap_timer_ = event::Timer(*loop_, [this] { accept_over_cap(); });
    }
    if (!accepter_) {
        for (auto& l : listeners_) {
            Listener* raw = l.get();
            l->watcher = event::FdWatcher(*loop_, l->fd, event::Interest::kRead, [this, raw] { on_readable(*raw); });
        }
    }
    idle_timer_ = event::Timer(*loop_, [this] {
        if (sessions_ == 0) finish();
    });
    if (daemon_timeout_ > 0) {
        ::signal(SIGALRM, watchdog_fired);
        ::alarm(static_cast<unsigned>(daemon_timeout_));
        // The loop re-arms the alarm while it keeps turning.
        long long period = std::max<long long>(1, daemon_timeout_ / 4);
        watchdog_timer_ = event::Timer(*loop_, [this, period] {
            ::alarm(static_cast<unsigned>(daemon_timeout_));
            watchdog_timer_.start(std::chrono::seconds(period));
        });
        watchdog_timer_.start(std::chrono::seconds(period));
    }
    signals_.emplace_back(*loop_, SIGTERM, [this] { finish(); });
    signals_.emplace_back(*loop_, SIGHUP, [] { log::reopen(); });
    // master reloaded: stop taking work, exit once the current work is done.
    signals_.emplace_back(*loop_, proto::kDrainSignal, [this] {
        if (spec_.exit_on_drain) finish();
        exit_when_idle();
    });

    if (!spec_.long_lived && max_idle_ > 0) idle_timer_.start(std::chrono::seconds(max_idle_));
    update_watching();
    loop_->run();
    exit_now();
}

int run_multi_server(int argc, char** argv, ServiceSpec spec) {
    auto core = std::make_unique<ServerCore>(Mode::kMulti, std::move(spec));
    return core->run(argc, argv);
}

int run_single_server(int argc, char** argv, ServiceSpec spec) {
    auto core = std::make_unique<ServerCore>(Mode::kSingle, std::move(spec));
    return core->run(argc, argv);
}

int run_trigger_server(int argc, char** argv, ServiceSpec spec) {
    auto core = std::make_unique<ServerCore>(Mode::kTrigger, std::move(spec));
    return core->run(argc, argv);
}

}  // namespace mailroom::server
