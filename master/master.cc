// master.cc - the supervisor; see master.h.
#include "master/master.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <unistd.h>
#include <cstring>

#include "lib/config/common_params.h"
#include "lib/config/config_snapshot.h"
#include "lib/config/validate.h"
#include "lib/log/log.h"
#include "lib/server/master_proto.h"
#include "lib/table/table_check.h"
#include "lib/server/server_options.h"
#include "lib/util/strings.h"
#include "mailroom/build_paths.h"
#include "master/master_listen.h"

namespace mailroom::master {

using util::format;

std::string service_program(const std::string& daemon_directory, const std::string& command) {
    if (!command.empty() && command.front() == '/') return command;
    return daemon_directory + "/" + command;
}

std::vector<std::string> child_environment(const std::vector<std::string>& import_environment,
                                           const std::vector<std::string>& current, const std::string& config_dir) {
    std::vector<std::string> out;
    auto set = [&](const std::string& name, const std::string& entry) {
        for (auto& e : out) {
            if (e.compare(0, name.size() + 1, name + "=") == 0) {
                e = entry;
                return;
            }
        }
        out.push_back(entry);
    };
    for (const auto& item : import_environment) {
        auto eq = item.find('=');
        if (eq != std::string::npos) {
            if (eq > 0) set(item.substr(0, eq), item);
            continue;
        }
        for (const auto& e : current) {
            if (e.size() > item.size() && e.compare(0, item.size(), item) == 0 && e[item.size()] == '=') {
                set(item, e);
                break;
            }
        }
    }
    set("MAIL_CONFIG", "MAIL_CONFIG=" + config_dir);
    return out;
}

namespace {

std::vector<std::string> current_environment() {
    std::vector<std::string> out;
    for (char** e = environ; e && *e; ++e) out.emplace_back(*e);
    return out;
}

Status load_child_environment(const config::Config& cfg, const std::string& config_dir,
                              std::vector<std::string>& out) {
    auto list = cfg.get_list("import_environment");
    if (!list) return list.error();
    out = child_environment(*list, current_environment(), config_dir);
    return ok_status();
}

std::string get_or_empty(const config::Config& cfg, std::string_view name) {
    auto v = cfg.get(name);
    return v ? *v : std::string();
}

// What decides whether existing listeners can be kept across a reload.
std::string listen_signature(const config::Config& cfg, const config::MasterService& def) {
    std::string s = def.key() + "|" + (def.is_private() ? "y" : "n");
    s += "|" + get_or_empty(cfg, "queue_directory");
    if (def.type == "inet")
        s += "|" + get_or_empty(cfg, "inet_interfaces") + "|" + get_or_empty(cfg, "inet_protocols");
    return s;
}

}  // namespace

Master::Master(std::string config_dir, bool verbose) : config_dir_(std::move(config_dir)), verbose_(verbose) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) < 0) log::fatal("pipe: %s", std::strerror(errno));
    status_read_.reset(fds[0]);
    status_write_.reset(fds[1]);
    ::fcntl(status_read_.get(), F_SETFL, O_NONBLOCK);
}

Result<config::Config> read_valid_config(const std::string& config_dir) {
    auto cfg = config::Config::load(config_dir);
    if (!cfg) return cfg.error();
    if (auto st = cfg->load_master_cf(); !st) return st.error();
    // Logged without counting towards log::error's "too many errors": a
    // refused reload must never end master, however often it happens.
    std::vector<std::string> problems = table::log_invalid_values(*cfg, log::Level::kError);
    if (!problems.empty())
        return make_error(format("%zu invalid parameter setting%s in %s", problems.size(),
                                 problems.size() == 1 ? "" : "s", config_dir.c_str()));
    return cfg;
}

Result<config::Config> Master::read_config() {
    auto cfg = read_valid_config(config_dir_);
    if (!cfg) return cfg.error();
    auto fd = config::make_snapshot_fd(cfg->snapshot());
    if (!fd) return fd.error();
    snapshot_fd_ = std::move(*fd);
    return cfg;
}

Result<std::shared_ptr<Service>> Master::describe_service(const config::Config& cfg,
                                                          const config::MasterService& def) {
    auto svc = std::make_shared<Service>();
    svc->def = def;
    auto ddir = cfg.get("daemon_directory");
    if (!ddir) return ddir.error();
    svc->path = service_program(*ddir, def.command);
    auto limit = cfg.get_int("default_process_limit");
    if (!limit) return limit.error();
    svc->maxproc = def.maxproc.value_or(static_cast<int>(*limit));
    svc->listen_signature = listen_signature(cfg, def);
    svc->signature = config::format_master_entry(def) + "|" + std::to_string(svc->maxproc) + "|" + svc->path +
                     "|" + svc->listen_signature;
    svc->backoff.set_base(std::chrono::seconds(throttle_time_));
    return svc;
}

Status Master::open_service(const config::Config& cfg, Service& svc) {
    auto fds = open_listeners(cfg, svc.def);
    if (!fds) return fds.error();
    svc.listeners = std::move(*fds);
    return ok_status();
}

Status Master::start() {
    auto cfg = read_config();
    if (!cfg) return cfg.error();
    cfg_ = std::move(*cfg);
    auto tt = cfg_.get_time("service_throttle_time");
    if (!tt) return tt.error();
    throttle_time_ = *tt;
    if (auto st = load_child_environment(cfg_, config_dir_, child_env_); !st) return st;

    std::vector<std::shared_ptr<Service>> opened;
    for (const auto& def : cfg_.services()) {
        if (def.type == "pass") {
            log::warn("%s: service type \"pass\" is not supported; service %s ignored", cfg_.config_dir().c_str(),
                      def.name.c_str());
            continue;
        }
        auto svc = describe_service(cfg_, def);
        Status st = svc ? open_service(cfg_, **svc) : Status(svc.error());
        if (!st) return make_error(format("service %s/%s: %s", def.name.c_str(), def.type.c_str(),
                                          st.error().message.c_str()));
        opened.push_back(std::move(*svc));
    }

    status_watcher_ = event::FdWatcher(loop_, status_read_.get(), event::Interest::kRead, [this] { read_status(); });
    status_watcher_.enable();
    signals_.emplace_back(loop_, SIGCHLD, [this] { reap(); });
    signals_.emplace_back(loop_, SIGHUP, [this] { reload(); });
    signals_.emplace_back(loop_, SIGTERM, [this] { begin_shutdown(SIGTERM); });
    signals_.emplace_back(loop_, SIGINT, [this] { begin_shutdown(SIGINT); });
    shutdown_timer_ = event::Timer(loop_, [this] {
        for (auto& [pid, c] : children_) kill_child(c, SIGKILL);
    });

    for (auto& svc : opened) {
        services_[svc->def.key()] = svc;
        activate(svc);
    }
    return ok_status();
}

int Master::run() {
    loop_.run();
    return 0;
}

void Master::activate(const std::shared_ptr<Service>& svc) {
    std::weak_ptr<Service> weak = svc;
    svc->watchers.clear();
    for (auto& fd : svc->listeners) {
        svc->watchers.emplace_back(loop_, fd.get(), event::Interest::kRead, [this, weak] {
            if (auto s = weak.lock()) on_listener_ready(s);
        });
    }
    svc->throttle_timer = event::Timer(loop_, [this, weak] {
        if (auto s = weak.lock()) {
            s->throttled = false;
            update_listening(*s);
        }
    });
    int wake = svc->def.wakeup_seconds();
    if (wake > 0) {
        if (svc->def.type == "inet") {
            log::warn("service %s: wakeup is not supported for inet services", svc->def.name.c_str());
        } else {
            svc->wakeup_timer = event::Timer(loop_, [this, weak] {
                if (auto s = weak.lock()) wakeup(s);
            });
            svc->wakeup_timer.start(std::chrono::seconds(wake));
        }
    }
    update_listening(*svc);
}

void Master::deactivate(Service& svc) {
    svc.watchers.clear();
    svc.wakeup_timer = event::Timer();
    svc.throttle_timer = event::Timer();
}

void Master::update_listening(Service& svc) {
    bool want = !svc.removed && !svc.throttled && !shutting_down_ && svc.avail == 0 &&
                (svc.maxproc == 0 || svc.total < svc.maxproc);
    for (auto& w : svc.watchers) {
        if (want)
            w.enable();
        else
            w.disable();
    }
}

void Master::on_listener_ready(const std::shared_ptr<Service>& svc) {
    if (svc->removed || svc->throttled || shutting_down_ || svc->avail > 0) return;
    if (svc->maxproc > 0 && svc->total >= svc->maxproc) return;
    spawn(svc);
}

void Master::spawn(const std::shared_ptr<Service>& svc) {
    // Everything the child needs is prepared before fork(): after it, the
    // child only moves descriptors and calls execv().
    server::ServerOptions opts;
    opts.config_dir = config_dir_;
    opts.verbose = verbose_ ? 1 : 0;
    opts.service_name = svc->def.name;
    opts.service_type = svc->def.type;
    opts.listen_count = static_cast<int>(svc->listeners.size());
    opts.unpriv = svc->def.is_unpriv();
    opts.chroot = svc->def.is_chroot();
    opts.overrides = svc->def.overrides;
    opts.args = svc->def.args;
    std::vector<std::string> args = server::format_server_options(opts);
    args.insert(args.begin(), svc->path);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    std::vector<std::string> env = child_env_;
    std::vector<char*> envp;
    for (auto& e : env) envp.push_back(e.data());
    envp.push_back(nullptr);
    std::vector<int> src;
    src.push_back(snapshot_fd_.get());
    src.push_back(status_write_.get());
    for (auto& fd : svc->listeners) src.push_back(fd.get());

    pid_t pid = ::fork();
    if (pid < 0) {
        log::warn("fork: %s", std::strerror(errno));
        throttle(svc, "fork failed");
        return;
    }
    if (pid == 0) {
        sigset_t none;
        sigemptyset(&none);
        ::sigprocmask(SIG_SETMASK, &none, nullptr);
        ::signal(SIGPIPE, SIG_DFL);
        // Move the descriptors out of the way, then into their protocol slots.
        const int high = 64 + static_cast<int>(src.size());
        std::vector<int> tmp;
        for (int fd : src) tmp.push_back(::fcntl(fd, F_DUPFD, high));
        ::dup2(tmp[0], server::proto::kConfigFd);
        ::dup2(tmp[1], server::proto::kStatusFd);
        for (size_t i = 2; i < tmp.size(); ++i)
            ::dup2(tmp[i], server::proto::kListenFdStart + static_cast<int>(i) - 2);
        ::close_range(3, server::proto::kConfigFd - 1, 0);
        ::close_range(server::proto::kListenFdStart + static_cast<unsigned>(tmp.size()) - 2, ~0U, 0);
        ::execve(argv[0], argv.data(), envp.data());
        log::warn("execv %s: %s", argv[0], std::strerror(errno));
        ::_exit(1);
    }
    Child c;
    c.pid = pid;
    c.service = svc;
    c.started = std::chrono::steady_clock::now();
    children_[pid] = std::move(c);
    svc->total++;
    svc->avail++;
    svc->used = true;
    if (verbose_) log::info("spawn %s pid %ld for service %s", svc->path.c_str(), (long)pid, svc->def.name.c_str());
    update_listening(*svc);
}

void Master::read_status() {
    std::uint8_t buf[server::proto::kStatusSize * 64];
    for (;;) {
        ssize_t n = ::read(status_read_.get(), buf, sizeof(buf));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return;
        for (ssize_t off = 0; off + static_cast<ssize_t>(server::proto::kStatusSize) <= n;
             off += server::proto::kStatusSize) {
            auto msg = server::proto::decode_status(
                std::span<const std::uint8_t>(buf + off, server::proto::kStatusSize));
            if (!msg) {
                log::warn("%s", msg.error().message.c_str());
                continue;
            }
            auto it = children_.find(msg->pid);
            if (it == children_.end()) continue;  // already reaped
            Child& c = it->second;
            Service& svc = *c.service;
            c.served = msg->served;
            if (c.served > 0) svc.backoff.success();
            bool available = msg->state == server::proto::ChildState::kAvailable;
            if (available && !c.available) {
                c.available = true;
                svc.avail++;
            } else if (!available && c.available) {
                c.available = false;
                svc.avail--;
            }
            update_listening(svc);
        }
    }
}

void Master::kill_child(Child& c, int signo) {
    c.killed = true;
    ::kill(c.pid, signo);
}

void Master::reap() {
    int status = 0;
    pid_t pid;
    while ((pid = ::waitpid(-1, &status, WNOHANG)) > 0) {
        auto it = children_.find(pid);
        if (it == children_.end()) continue;
        Child c = std::move(it->second);
        children_.erase(it);
        std::shared_ptr<Service> svc = c.service;
        svc->total--;
        if (c.available) svc->avail--;
        bool normal = WIFEXITED(status) && WEXITSTATUS(status) == 0;
        if (!c.killed && !normal) {
            if (WIFEXITED(status))
                log::warn("process %s pid %ld exit status %d", svc->path.c_str(), (long)pid, WEXITSTATUS(status));
            else if (WIFSIGNALED(status))
                log::warn("process %s pid %ld killed by signal %d", svc->path.c_str(), (long)pid, WTERMSIG(status));
        }
        if (!c.killed && !svc->removed && !shutting_down_ && c.served == 0) {
            auto lived = std::chrono::steady_clock::now() - c.started;
            // A process that dies before serving anything, or exits at once,
            // would otherwise be restarted in a tight loop.
            if (!normal)
                throttle(svc, "bad command startup");
            else if (lived < std::chrono::seconds(1))
                throttle(svc, "process exited without serving");
        }
        update_listening(*svc);
    }
    maybe_finish_shutdown();
}

void Master::throttle(const std::shared_ptr<Service>& svc, const char* why) {
    if (svc->throttled) return;
    auto delay = svc->backoff.failure();
    log::warn("%s: %s -- throttling for %llds", svc->path.c_str(), why, static_cast<long long>(delay.count()));
    svc->throttled = true;
    svc->throttle_timer.start(std::chrono::duration_cast<std::chrono::milliseconds>(delay));
    update_listening(*svc);
}

void Master::wakeup(const std::shared_ptr<Service>& svc) {
    if (svc->removed || shutting_down_) return;
    svc->wakeup_timer.start(std::chrono::seconds(svc->def.wakeup_seconds()));
    if (svc->def.wakeup_conditional && !svc->used) return;
    const char trigger = server::proto::kTriggerWakeup;
    if (svc->def.type == "fifo") {
        // master holds the fifo open read-write: write into it directly.
        if (!svc->listeners.empty() && ::write(svc->listeners[0].get(), &trigger, 1) < 0 && errno != EAGAIN)
            log::warn("wakeup %s: %s", svc->def.name.c_str(), std::strerror(errno));
        return;
    }
    std::string path = local_listener_path(cfg_, svc->def);
    sockaddr_un sun{};
    sun.sun_family = AF_UNIX;
    if (path.size() >= sizeof(sun.sun_path)) return;
    std::memcpy(sun.sun_path, path.c_str(), path.size() + 1);
    int type = svc->def.type == "unix-dgram" ? SOCK_DGRAM : SOCK_STREAM;
    util::UniqueFd fd(::socket(AF_UNIX, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd.valid()) return;
    if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&sun), sizeof(sun)) < 0 ||
        ::write(fd.get(), &trigger, 1) < 0) {
        if (errno != EAGAIN) log::warn("wakeup %s: %s", path.c_str(), std::strerror(errno));
    }
}

void Master::reload() {
    if (shutting_down_) return;
    auto cfg = read_config();
    if (!cfg) {
        log::emit(log::Level::kError, format("reload: %s -- configuration not changed", cfg.error().message.c_str()));
        return;
    }
    config::configure_logging(*cfg, log::current_sinks().to_stderr);
    if (auto tt = cfg->get_time("service_throttle_time"); tt) throttle_time_ = *tt;
    if (auto st = load_child_environment(*cfg, config_dir_, child_env_); !st) log::warn("%s", st.error().message.c_str());

    // Children of every old service finish their current work and exit, so
    // that all processes pick up the new main.cf. An available multi server
    // may still have sessions, so every child is drained (an idle one exits
    // at once), none terminated.
    for (auto& [pid, c] : children_) kill_child(c, server::proto::kDrainSignal);

    std::vector<const config::MasterService*> defs;
    std::map<std::string, bool> wanted;
    for (const auto& def : cfg->services()) {
        if (def.type == "pass") continue;
        defs.push_back(&def);
        wanted[def.key()] = true;
    }
    // Removed services first, so that their addresses are free for new ones.
    auto retire_service = [this](Service& svc) {
        svc.removed = true;
        deactivate(svc);
        svc.listeners.clear();
    };
    for (auto it = services_.begin(); it != services_.end();) {
        if (!wanted.count(it->first)) {
            retire_service(*it->second);
            it = services_.erase(it);
        } else {
            ++it;
        }
    }

    std::map<std::string, std::shared_ptr<Service>> next;
    for (const auto* def : defs) {
        std::string key = def->key();
        auto d = describe_service(*cfg, *def);
        if (!d) {
            log::error("service %s/%s: %s", def->name.c_str(), def->type.c_str(), d.error().message.c_str());
            continue;
        }
        std::shared_ptr<Service> svc = std::move(*d);
        auto old_it = services_.find(key);
        if (old_it != services_.end()) {
            std::shared_ptr<Service> old = old_it->second;
            services_.erase(old_it);
            if (old->signature == svc->signature) {
                next[key] = old;  // unchanged: listeners and timers stay
                continue;
            }
            if (old->listen_signature == svc->listen_signature) {
                deactivate(*old);
                svc->listeners = std::move(old->listeners);
                old->listeners.clear();
                old->removed = true;
            } else {
                retire_service(*old);
            }
        }
        if (svc->listeners.empty()) {
            if (auto st = open_service(*cfg, *svc); !st) {
                log::error("service %s/%s: %s", def->name.c_str(), def->type.c_str(), st.error().message.c_str());
                continue;
            }
        }
        next[key] = svc;
        activate(svc);
    }
    for (auto& [key, svc] : services_) retire_service(*svc);
    services_ = std::move(next);
    cfg_ = std::move(*cfg);
    log::info("reload -- version %s, configuration %s", MAILROOM_VERSION, cfg_.config_dir().c_str());
}

void Master::begin_shutdown(int signo) {
    if (!shutting_down_) log::info("terminating on signal %d", signo);
    shutting_down_ = true;
    for (auto& [key, svc] : services_) {
        svc->removed = true;
        deactivate(*svc);
        svc->listeners.clear();
    }
    services_.clear();
    // SIGINT (mailroom abort) kills at once; SIGTERM lets children exit cleanly.
    for (auto& [pid, c] : children_) kill_child(c, signo == SIGINT ? SIGKILL : SIGTERM);
    if (!shutdown_timer_.pending()) shutdown_timer_.start(std::chrono::seconds(10));
    maybe_finish_shutdown();
}

void Master::maybe_finish_shutdown() {
    if (shutting_down_ && children_.empty()) loop_.stop();
}

}  // namespace mailroom::master
