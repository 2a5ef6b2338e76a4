// main.cc - the master daemon: command line, start-up checks, the instance
// lock, and the hand-over to Master.
//
// Summary
//   master [-c DIR] [-d] [-v] [-w]
//   -c DIR  configuration directory (else $MAIL_CONFIG, else the default)
//   -d      stay attached to the terminal and also log to stderr
//   -v      verbose logging (also passed to the children)
//   -w      start in the background and wait: the foreground process exits
//           0 once every listener is open, or 1 when start-up failed (the
//           reason has been logged and written to stderr)
//
// Security
//   master never reads network input; children drop privileges themselves
//   (lib/server) before they do.
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

#include "lib/config/common_params.h"
#include "lib/config/config.h"
#include "lib/log/log.h"
#include "lib/server/instance_lock.h"
#include "lib/util/strings.h"
#include "mailroom/build_paths.h"
#include "master/master.h"

using namespace mailroom;

namespace {

int g_ready_fd = -1;

// Logs a start-up failure; the -w parent sees no "ok" and exits 1.
[[noreturn]] void startup_fatal(const std::string& why) { log::fatal("%s", why.c_str()); }

void usage() {
    std::fprintf(stderr, "usage: master [-c config_dir] [-d] [-v] [-w]\n");
    std::exit(2);
}

// Makes sure descriptors 0, 1 and 2 are open, so nothing else lands there.
void ensure_std_fds() {
    for (int fd = 0; fd < 3; ++fd) {
        if (::fcntl(fd, F_GETFD) < 0) {
            int n = ::open("/dev/null", O_RDWR);
            if (n >= 0 && n != fd) {
                ::dup2(n, fd);
                ::close(n);
            }
        }
    }
}

// -w: the foreground process waits until the daemon reports ready.
void wait_for_ready_daemon() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) < 0) log::fatal("pipe: %s", std::strerror(errno));
    pid_t pid = ::fork();
    if (pid < 0) log::fatal("fork: %s", std::strerror(errno));
    if (pid > 0) {
        ::close(fds[1]);
        char buf[16];
        ssize_t n;
        std::string got;
        while ((n = ::read(fds[0], buf, sizeof(buf))) > 0 || (n < 0 && errno == EINTR))
            if (n > 0) got.append(buf, static_cast<size_t>(n));
        std::exit(got.rfind("ok", 0) == 0 ? 0 : 1);
    }
    ::close(fds[0]);
    ::setsid();
    g_ready_fd = fds[1];
}

}  // namespace

int main(int argc, char** argv) {
    ensure_std_fds();
    ::signal(SIGPIPE, SIG_IGN);
    ::umask(022);
    log::init("master", true);

    std::string dash_c;
    bool debug = false, verbose = false, wait = false;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "-c" && i + 1 < argc) {
            dash_c = argv[++i];
        } else if (a == "-d") {
            debug = true;
        } else if (a == "-v") {
            verbose = true;
        } else if (a == "-w") {
            wait = true;
        } else {
            usage();
        }
    }
    if (verbose) log::set_verbose(1);
    std::string config_dir = config::resolve_config_directory(dash_c);

    auto cfg = config::Config::load(config_dir);
    if (!cfg) startup_fatal(cfg.error().message);
    // stderr until the daemon detaches (-w), or for ever (foreground).
    config::configure_logging(*cfg, true);

    auto queue = cfg->get("queue_directory");
    if (!queue) startup_fatal(queue.error().message);
    if (::geteuid() == 0) {
        auto owner = cfg->get("mail_owner");
        if (!owner || !::getpwnam(owner->c_str()))
            startup_fatal(util::format("file %s: parameter mail_owner: unknown user name value: %s",
                                       cfg->main_cf_path().c_str(), owner ? owner->c_str() : "?"));
    }
    if (::chdir(queue->c_str()) < 0)
        startup_fatal(util::format("chdir %s: %s", queue->c_str(), std::strerror(errno)));

    if (wait) wait_for_ready_daemon();

    auto pid_dir = server::pid_directory(*cfg);
    if (!pid_dir) startup_fatal(pid_dir.error().message);
    auto lock = server::acquire_instance_lock(*pid_dir);
    if (!lock) {
        if (lock.error().temporary()) startup_fatal("the mail system is already running");
        startup_fatal(lock.error().message);
    }

    master::Master m(config_dir, verbose);
    if (auto st = m.start(); !st) startup_fatal(st.error().message);
    if (g_ready_fd >= 0) {
        // Detached: from here on the log is the only output.
        config::configure_logging(m.config(), false);
    }
    log::info("daemon started -- version %s, configuration %s", MAILROOM_VERSION, config_dir.c_str());
    if (g_ready_fd >= 0) {
        ssize_t w = ::write(g_ready_fd, "ok\n", 3);
        (void)w;
        ::close(g_ready_fd);
        int null = ::open("/dev/null", O_RDWR);
        if (null >= 0) {
            for (int fd = 0; fd < 3; ++fd) ::dup2(null, fd);
            if (null > 2) ::close(null);
        }
    }
    (void)debug;  // -d: stay in the foreground with stderr logging (the default without -w)
    return m.run();
}
