// server.h - the skeletons every mailroom daemon runs on.
//
// Summary
//   A daemon's main() builds a ServiceSpec (its name and hooks) and returns
//   run_multi_server(), run_single_server() or run_trigger_server(). The
//   skeleton does everything a daemon has in common: the generic options
//   (server_options.h), the effective configuration (main.cf plus -o
//   overrides), log setup, chroot and privilege drop, the descriptors
//   inherited from master (master_proto.h), busy/idle reports on the status
//   pipe, max_idle and max_use, the daemon_timeout watchdog, and signals.
//
// Description
//   The configuration is the one master accepted and handed down on
//   kConfigFd (lib/config/config_snapshot.h), or main.cf when there is
//   none. Order of events: options, configuration, logging; pre_jail_init (still
//   root when master runs as root: open privileged files here); chroot to
//   queue_directory when master.cf says so (-Z) and drop to mail_owner
//   (-u), both only when running as root; post_jail_init; then the loop. No
//   untrusted input is read before the privilege drop.
//
//   run_multi_server: many sessions per process on one libevent loop.
//     on_connection receives a Connection; the session lasts as long as the
//     Connection object lives (keep it in the session state, drop it to end
//     the session). Stays available to master while it has fewer than
//     sessions_per_process sessions (Postfix's multi_server is taken only
//     while it serves a request), so master starts another process only
//     when none can take a client. At max_use, or when told to exit, it
//     reports busy, stops taking clients and exits when its last session
//     ends.
//   Multi and single servers take their clients on a thread of their own
//   (accept_thread.h) that waits on the listeners with EPOLLEXCLUSIVE, so
//   that the kernel wakes one waiting process of the service per client
//   instead of all of them; the process grants it as many clients as it can
//   take. A multi server at sessions_per_process sessions without
//   accept_only_below_cap stops waiting for clients and looks every 100 ms
//   for one that no other process took.
//   run_single_server: one connection at a time; on_connection normally
//     handles the whole conversation before returning. The listeners are
//     not watched while a Connection is alive.
//   run_trigger_server: woken through a fifo, a UNIX stream or datagram
//     socket (master's `wakeup` timer or a client). on_trigger receives the
//     bytes read (at most 1024; the wakeup byte is proto::kTriggerWakeup).
//
//   A process exits after max_idle seconds without work and after max_use
//   connections or triggers (both ignored when long_lived is set), on
//   master's drain signal (after a reload) once no session remains, or at
//   once when exit_on_drain is set, on
//   SIGTERM, or when request_exit() was called and no session remains.
//   Each of these only stops taking work and breaks the loop; on_exit
//   runs after the loop has returned, outside every callback, so it may
//   destroy the service's sessions (the process then exits 0). A session
//   that ends inside its own callback is freed with
//   event::Loop::release_later(), never on the spot. A hook that returns an error
//   from init makes the process log "fatal: ..." and exit 1, which master
//   counts as a failed start and throttles.
//
// Example (a thin main; tests/support/mr_testd.cc is a complete one)
//     int main(int argc, char** argv) {
//         mailroom::server::ServiceSpec spec;
//         spec.program = "smtpd";
//         spec.post_jail_init = [](ServerContext& ctx) { return load_tables(ctx.config()); };
//         spec.on_connection = [](ServerContext& ctx, Connection conn) {
//             start_session(ctx.loop(), std::move(conn));  // keeps conn until QUIT
//         };
//         return mailroom::server::run_multi_server(argc, argv, std::move(spec));
//     }
//
// Diagnostics
//   Fatal errors (bad options, unreadable main.cf, unknown mail_owner) go to
//   the log and exit with status 1. The watchdog kills a process whose loop
//   has not turned for daemon_timeout seconds.
#pragma once

#include <sys/socket.h>

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "lib/config/config.h"
#include "lib/event/event_loop.h"
#include "lib/server/server_options.h"
#include "lib/util/result.h"
#include "lib/util/unique_fd.h"

namespace mailroom::server {

class ServerCore;

// One client connection handed to a service. Move-only; destroying it (or
// calling close()) closes the socket and ends the session for the
// skeleton's busy/idle and max_use accounting.
class Connection {
public:
    Connection() = default;
    Connection(util::UniqueFd fd, ServerCore* core, bool nonblocking = false);
    // With the client's address as accept4() gave it (no getpeername()).
    Connection(util::UniqueFd fd, ServerCore* core, bool nonblocking, const sockaddr* peer, socklen_t peer_len);
    ~Connection();
    Connection(Connection&& other) noexcept;
    Connection& operator=(Connection&& other) noexcept;
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    int fd() const { return fd_.get(); }
    bool valid() const { return fd_.valid(); }
    // The socket is O_NONBLOCK already (a multi server's clients), so a
    // channel on it need not ask (event::ChannelOptions::nonblocking).
    bool nonblocking() const { return nonblocking_; }
    // The client's address, when the skeleton knows it from accept4();
    // nullptr otherwise (ask getpeername()).
    const sockaddr* peer() const {
        return peer_len_ > 0 ? reinterpret_cast<const sockaddr*>(&peer_) : nullptr;
    }
    socklen_t peer_len() const { return peer_len_; }
    void close();

private:
    util::UniqueFd fd_;
    ServerCore* core_ = nullptr;
    bool nonblocking_ = false;
    sockaddr_storage peer_{};
    socklen_t peer_len_ = 0;
};

// What a hook can see and do.
class ServerContext {
public:
    explicit ServerContext(ServerCore& core) : core_(core) {}
    const config::Config& config() const;
    const ServerOptions& options() const;
    const std::string& service_name() const;  // -n, or the program name
    // ipc_timeout, read once by the skeleton (config/common_params.h).
    int ipc_timeout_ms() const;
    event::Loop& loop();
    // Exit once the current sessions are over (and stop taking new ones).
    void request_exit();

private:
    ServerCore& core_;
};

struct ServiceSpec {
    std::string program;  // log name ("smtpd"); "" = basename of argv[0]
    std::function<Status(ServerContext&)> pre_jail_init;
    std::function<Status(ServerContext&)> post_jail_init;
    std::function<void(ServerContext&, Connection)> on_connection;
    std::function<void(ServerContext&, std::string_view)> on_trigger;
    std::function<void(ServerContext&)> on_idle;  // when the process becomes idle
    std::function<void(ServerContext&)> on_exit;
    bool long_lived = false;  // ignore max_idle and max_use (qmgr)
    // On master's drain signal exit at once instead of after the last
    // session: for a service whose clients keep their connection for
    // long and reconnect by themselves (anvil), so that the new process
    // master starts after a reload is not kept waiting.
    bool exit_on_drain = false;
    // A multi server with this many sessions tells master it is busy, so
    // that master starts another process for more clients (0 = no limit:
    // one process takes every client). The sessions of a process share
    // one loop, so work that blocks it waits behind every other session's
    // (cleanup's fsyncs run on threads for that reason); a service whose
    // sessions block the loop sets a small number.
    int sessions_per_process = 10;
    // A multi server at sessions_per_process sessions also stops accepting
    // (the listeners are unwatched until one ends), instead of taking the
    // clients other processes of the service leave to it: for a service
    // whose sessions block the loop, so that one never waits behind another.
    bool accept_only_below_cap = false;
    // The main.cf parameters the service reads, besides the skeleton's own
    // (max_idle, max_use, daemon_timeout, ipc_timeout, the log sinks,
    // mail_owner, queue_directory): its parameter table, as a Postfix
    // daemon's main() has one. The skeleton checks every value by its type
    // before any hook runs (lib/config/validate.h), so that a bad value
    // stops the process with the file and line instead of a bare
    // "bad numerical configuration" at its first use. Under master the
    // handed configuration has passed the same checks already.
    std::vector<std::string_view> parameters;
};

// The program name of argv[0]: its last path component ("daemon" for
// none). The skeleton's default for ServiceSpec::program.
std::string basename_of(const char* path);

int run_multi_server(int argc, char** argv, ServiceSpec spec);
int run_single_server(int argc, char** argv, ServiceSpec spec);
int run_trigger_server(int argc, char** argv, ServiceSpec spec);

}  // namespace mailroom::server
