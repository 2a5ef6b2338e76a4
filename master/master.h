// master.h - the supervisor: services, children, reload and shutdown.
//
// Summary
//   Master owns the listeners of every master.cf service and starts child
//   processes on demand: when a listener has work and the service has no
//   idle child, up to maxproc. Children report busy/idle on the shared
//   status pipe (lib/server/master_proto.h). A child that dies abnormally
//   is logged; one that dies before serving anything throttles its service
//   (Backoff). SIGHUP reloads main.cf and master.cf; SIGTERM stops
//   everything and returns once every child has exited.
//
//   master validates the configuration (lib/config/validate.h) at start
//   and at each reload, and hands every child the last one it accepted on
//   kConfigFd (lib/config/config_snapshot.h): a reload refused for a bad
//   value leaves the running system, and every process master starts
//   later, on the configuration it had.
//
// Description
//   run() is the whole life of the daemon after start-up checks. The
//   caller (main.cc) parses the command line, takes the instance lock and
//   calls start(), which opens every listener; only then is the daemon
//   "ready". A Master is not copyable; there is one per process.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "lib/config/config.h"
#include "lib/event/event_loop.h"
#include "lib/util/result.h"
#include "lib/util/unique_fd.h"
#include "master/master_backoff.h"

namespace mailroom::master {

struct Service;

struct Child {
    pid_t pid = 0;
    std::shared_ptr<Service> service;
    bool available = true;  // master assumes a new child is idle
    unsigned served = 0;
    bool killed = false;    // master sent SIGTERM/SIGKILL: exit is expected
    std::chrono::steady_clock::time_point started;
};

struct Service {
    config::MasterService def;
    std::string path;        // the program to run
    std::string signature;   // everything that, when changed, restarts the service
    std::string listen_signature;  // what, when unchanged, lets a restart keep the listeners
    int maxproc = 0;         // 0 = no limit
    std::vector<util::UniqueFd> listeners;
    std::vector<event::FdWatcher> watchers;
    event::Timer wakeup_timer;
    event::Timer throttle_timer;
    Backoff backoff;
    bool throttled = false;
    bool used = false;       // a child has been started at least once
    bool removed = false;
    int total = 0;
    int avail = 0;
};

class Master {
public:
    Master(std::string config_dir, bool verbose);
    Master(const Master&) = delete;
    Master& operator=(const Master&) = delete;

    // Reads main.cf and master.cf and opens every listener.
    Status start();
    // Runs the loop until SIGTERM and every child has exited. Returns the exit code.
    int run();

    const config::Config& config() const { return cfg_; }

private:
    Result<config::Config> read_config();
    Result<std::shared_ptr<Service>> describe_service(const config::Config& cfg, const config::MasterService& def);
    Status open_service(const config::Config& cfg, Service& svc);
    void activate(const std::shared_ptr<Service>& svc);
    void deactivate(Service& svc);
    void update_listening(Service& svc);
    void on_listener_ready(const std::shared_ptr<Service>& svc);
    void spawn(const std::shared_ptr<Service>& svc);
    void read_status();
    void reap();
    void throttle(const std::shared_ptr<Service>& svc, const char* why);
    void wakeup(const std::shared_ptr<Service>& svc);
    void reload();
    void begin_shutdown(int signo);
    void kill_child(Child& c, int signo);
    void maybe_finish_shutdown();

    std::string config_dir_;
    bool verbose_;
    config::Config cfg_;
    event::Loop loop_;
    util::UniqueFd status_read_;
    util::UniqueFd status_write_;
    event::FdWatcher status_watcher_;
    std::vector<event::SignalWatcher> signals_;
    event::Timer shutdown_timer_;
    std::map<std::string, std::shared_ptr<Service>> services_;  // by MasterService::key()
    std::map<pid_t, Child> children_;
    bool shutting_down_ = false;
    long long throttle_time_ = 60;
    std::vector<std::string> child_env_;  // from import_environment
    // The accepted configuration every child reads (config_snapshot.h);
    // replaced only by a reload that passes validation.
    util::UniqueFd snapshot_fd_;
};

// Reads and validates main.cf and master.cf of `config_dir`. Each problem
// is logged as an error ("FILE, line N: ..."); the result is then an error
// that counts them.
Result<config::Config> read_valid_config(const std::string& config_dir);

// The environment of a child: the import_environment entries ("NAME" copies
// NAME from master's environment when set, "NAME=VALUE" sets it), plus
// MAIL_CONFIG naming the configuration directory. Pure.
std::vector<std::string> child_environment(const std::vector<std::string>& import_environment,
                                           const std::vector<std::string>& current, const std::string& config_dir);

// The master.cf command resolved against daemon_directory.
std::string service_program(const std::string& daemon_directory, const std::string& command);

}  // namespace mailroom::master
