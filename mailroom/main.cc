// main.cc - the mailroom command: start, stop and inspect an instance.
//
// Summary
//   mailroom [-c DIR] [-v] start | start-fg | stop | reload | abort | flush
//                         | check | status | set-permissions
//
// Description
//   start      checks the instance (creating missing directories), removes
//              stale temporary queue files (postsuper -p), then runs
//              master -w, which returns once every listener is open. On
//              failure prints "fatal: mail system startup failed".
//   start-fg   the same checks, then becomes master in the foreground.
//   stop       SIGTERM to master; returns once master and its children exit.
//   abort      SIGINT to master: children are killed at once.
//   reload     SIGHUP to master (re-read main.cf and master.cf), after the
//              same validation as check: an invalid value is reported
//              with its file and line, exit 1, and master is not signalled.
//   status     exit 0 when an instance runs, 1 when not.
//   pw [-s SCHEME] [-p PASSWORD] [-t HASH]
//              make or test a password hash, as doveadm pw (mailroom_pw.h);
//              reads no configuration, and takes no -c before it.
//   check      reports every parameter value that is invalid for its type
//              (lib/config/validate.h), every missing directory, wrong
//              owner/group/mode and missing daemon program; exit 1 when
//              anything is wrong. start and start-fg refuse to start with
//              an invalid value.
//   set-permissions  creates and repairs the directories; as root also
//              creates mail_owner and setgid_group when missing.
//   flush      postqueue -f: the queue manager retries deferred mail now
//              (exit 1 when the instance is down or postqueue is missing).
//   auth test USER [PASSWORD], auth lookup USER
//              ask authd (mailroom_auth.h).
//
// Security
//   Not set-uid. Programs are run with execv() and argv arrays, never
//   through a shell.
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "lib/config/common_params.h"
#include "lib/config/config.h"
#include "lib/config/validate.h"
#include "lib/log/log.h"
#include "lib/server/instance_lock.h"
#include "lib/table/table_check.h"
#include "lib/util/strings.h"
#include "mailroom/mailroom_auth.h"
#include "mailroom/mailroom_ctl.h"
#include "mailroom/mailroom_perms.h"
#include "mailroom/mailroom_pw.h"

using namespace mailroom;

namespace {

[[noreturn]] void usage() {
    std::fprintf(stderr,
                 "usage: mailroom [-c config_dir] [-v] start | start-fg | stop | reload | abort | flush | check | "
                 "status | set-permissions | auth ...\n");
    std::exit(2);
}

std::string get_or_fatal(const config::Config& cfg, const char* name) {
    auto v = cfg.get(name);
    if (!v) log::fatal("%s", v.error().message.c_str());
    return *v;
}

// Logs every invalid value ("FILE, line N: ...") at `level`; returns how
// many there were.
int report_invalid_values(const config::Config& cfg, log::Level level) {
    return static_cast<int>(table::log_invalid_values(cfg, level).size());
}

// Reports problems as warnings; returns how many there were.
int report_problems(const config::Config& cfg) {
    int count = report_invalid_values(cfg, log::Level::kWarning);
    auto in = ctl::layout_for(cfg);
    if (!in) {
        log::warn("%s", in.error().message.c_str());
        return 1;
    }
    for (const auto& p : ctl::check_layout(ctl::expected_layout(*in))) {
        log::warn("%s", p.message.c_str());
        ++count;
    }
    std::string ddir = get_or_fatal(cfg, "daemon_directory");
    for (const auto& svc : cfg.services()) {
        std::string path = svc.command.front() == '/' ? svc.command : ddir + "/" + svc.command;
        if (::access(path.c_str(), X_OK) != 0) {
            log::warn("%s, line %d: service %s: missing or not executable: %s", (cfg.config_dir() + "/master.cf").c_str(),
                      svc.line, svc.name.c_str(), path.c_str());
            ++count;
        }
    }
    std::string master = ddir + "/master";
    if (::access(master.c_str(), X_OK) != 0) {
        log::warn("missing or not executable: %s", master.c_str());
        ++count;
    }
    return count;
}

// Creates what is missing, as Postfix's start does, and warns about the rest.
void prepare_start(const config::Config& cfg) {
    auto in = ctl::layout_for(cfg);
    if (!in) {
        log::error("%s (mailroom set-permissions creates missing accounts)", in.error().message.c_str());
        log::fatal("mail system startup failed");
    }
    auto layout = ctl::expected_layout(*in);
    if (auto st = ctl::repair_layout(layout, false); !st) {
        log::error("%s", st.error().message.c_str());
        log::fatal("mail system startup failed");
    }
    for (const auto& p : ctl::check_layout(layout)) log::warn("%s", p.message.c_str());
    // Temporary files a killed cleanup or postdrop left behind, as Postfix's
    // start runs postsuper -p.
    std::string postsuper = get_or_fatal(cfg, "command_directory") + "/postsuper";
    auto rc = ctl::run_program({postsuper, "-c", cfg.config_dir(), "-p"});
    if (!rc || *rc != 0) log::warn("%s -p failed; stale temporary files may remain in the queue", postsuper.c_str());
}

std::string pid_directory_or_fatal(const config::Config& cfg) {
    auto dir = server::pid_directory(cfg);
    if (!dir) log::fatal("%s", dir.error().message.c_str());
    return *dir;
}

pid_t running_pid(const config::Config& cfg) {
    return server::probe_instance_lock(pid_directory_or_fatal(cfg));
}

int signal_master(const config::Config& cfg, int signo, const char* what) {
    pid_t pid = running_pid(cfg);
    if (pid == 0) log::fatal("the mail system is not running");
    if (what) log::info("%s", what);
    if (::kill(pid, signo) < 0) log::fatal("kill %ld: %s", static_cast<long>(pid), std::strerror(errno));
    return 0;
}

int stop_and_wait(const config::Config& cfg, int signo, const char* what) {
    signal_master(cfg, signo, what);
    if (!ctl::wait_for_exit(pid_directory_or_fatal(cfg), std::chrono::seconds(60)))
        log::fatal("the mail system did not stop within 60 seconds");
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    log::init("mailroom", true);
    if (argc >= 2 && std::strcmp(argv[1], "pw") == 0) return ctl::pw_command(argc - 1, argv + 1);
    std::string dash_c;
    bool verbose = false;
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; ++i) {
        std::string a = argv[i];
        if (a == "-c" && i + 1 < argc) {
            dash_c = argv[++i];
        } else if (a == "-v") {
            verbose = true;
            log::set_verbose(1);
        } else {
            usage();
        }
    }
    // mailroom auth ...: its own arguments (mailroom_auth.h).
    if (i < argc && std::strcmp(argv[i], "auth") == 0) {
        auto acfg = config::Config::load(config::resolve_config_directory(dash_c));
        if (!acfg) log::fatal("%s", acfg.error().message.c_str());
        return ctl::auth_command(*acfg, argc - i, argv + i);
    }
    if (i + 1 != argc) usage();
    std::string cmd = argv[i];

    std::string config_dir = config::resolve_config_directory(dash_c);
    auto cfg = config::Config::load(config_dir);
    if (!cfg) log::fatal("%s", cfg.error().message.c_str());
    // stop, abort and status work even when master.cf has become unreadable.
    bool needs_master_cf = cmd == "check" || cmd == "start" || cmd == "start-fg" || cmd == "reload";
    if (needs_master_cf) {
        if (auto st = cfg->load_master_cf(); !st) log::fatal("%s", st.error().message.c_str());
    }
    // Lines also go to the mail log, like postfix-script's.
    config::configure_logging(*cfg, true);

    std::string master = get_or_fatal(*cfg, "daemon_directory") + "/master";

    if (cmd == "status") {
        pid_t pid = running_pid(*cfg);
        if (pid == 0) {
            log::info("the mail system is not running");
            return 1;
        }
        log::info("the mail system is running: PID: %ld", static_cast<long>(pid));
        return 0;
    }
    if (cmd == "check") return report_problems(*cfg) == 0 ? 0 : 1;
    if (cmd == "set-permissions") {
        if (auto st = ctl::ensure_accounts(get_or_fatal(*cfg, "mail_owner"), get_or_fatal(*cfg, "setgid_group"),
                                           get_or_fatal(*cfg, "queue_directory"));
            !st)
            log::fatal("%s", st.error().message.c_str());
        auto in = ctl::layout_for(*cfg);
        if (!in) log::fatal("%s", in.error().message.c_str());
        if (auto st = ctl::repair_layout(ctl::expected_layout(*in), true); !st)
            log::fatal("%s", st.error().message.c_str());
        return 0;
    }
    if (cmd == "start" || cmd == "start-fg") {
        if (running_pid(*cfg) != 0) log::fatal("the mail system is already running");
        if (report_invalid_values(*cfg, log::Level::kError) > 0) log::fatal("mail system startup failed");
        prepare_start(*cfg);
        std::vector<std::string> args = {master, "-c", cfg->config_dir()};
        if (verbose) args.push_back("-v");
        if (cmd == "start-fg") {
            log::info("starting the mail system in the foreground");
            std::vector<char*> av;
            for (auto& a : args) av.push_back(a.data());
            av.push_back(nullptr);
            ::execv(av[0], av.data());
            log::error("execv %s: %s", master.c_str(), std::strerror(errno));
            log::fatal("mail system startup failed");
        }
        log::info("starting the mail system");
        args.push_back("-w");
        auto rc = ctl::run_program(args);
        if (!rc) log::error("%s", rc.error().message.c_str());
        if (!rc || *rc != 0) {
            if (rc && *rc == 127) log::error("cannot execute %s", master.c_str());
            log::fatal("mail system startup failed");
        }
        return 0;
    }
    if (cmd == "stop") return stop_and_wait(*cfg, SIGTERM, "stopping the mail system");
    if (cmd == "abort") return stop_and_wait(*cfg, SIGINT, "aborting the mail system");
    if (cmd == "reload") {
        if (report_invalid_values(*cfg, log::Level::kError) > 0)
            log::fatal("the configuration was not reloaded: the running system keeps its configuration");
        return signal_master(*cfg, SIGHUP, "refreshing the mail system");
    }
    if (cmd == "flush") {
        // Like Postfix: flush is postqueue -f (qmgr retries the deferred queue now).
        std::string postqueue = get_or_fatal(*cfg, "command_directory") + "/postqueue";
        if (::access(postqueue.c_str(), X_OK) != 0)
            log::fatal("flush is not available: %s is not installed", postqueue.c_str());
        if (running_pid(*cfg) == 0) log::fatal("the mail system is not running");
        auto rc = ctl::run_program({postqueue, "-c", cfg->config_dir(), "-f"});
        if (!rc) log::fatal("%s", rc.error().message.c_str());
        return *rc;
    }
    usage();
}
