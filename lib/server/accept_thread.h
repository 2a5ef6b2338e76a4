// accept_thread.h - takes a service's clients from its shared listeners, one
// waiting process woken per client.
//
// Summary
//   Every process of a service inherits the same listening sockets from
//   master. Watched by each process's event loop, a new client wakes every
//   process that waits for one, and all but one find nothing to accept (the
//   thundering herd: 5 to 9 accept4 calls per message under load). An
//   AcceptThread waits on its own thread, in an epoll set of its own where
//   the listeners are registered with EPOLLEXCLUSIVE, so the kernel wakes one
//   waiting process per client. (Registered through the event loop's epoll
//   set the flag has no effect: the nested set is not a waiter itself, so the
//   kernel goes on to wake the next one.) The thread accepts the client and
//   hands the descriptor to the loop through an eventfd.
//
// Description
//   The loop grants the thread credits (set_credits()): how many more
//   clients the process can take. The thread waits on a condition variable,
//   not on the listeners, while it has none, so a process that cannot take a
//   client never receives the one wake-up the kernel gives for it; each
//   accept uses one credit. When the credits are taken away while the
//   thread sleeps in epoll_wait (the process drains or exits), a client it
//   is then woken for stays in the backlog, where the process master starts
//   next finds it. Accepted clients wait in a
//   queue for take(); an accept error other than a client gone is queued too
//   (Accepted::error) and followed by a pause of 100 ms, so that a full
//   descriptor table does not make the thread spin.
//
//   The thread blocks every signal (they stay with the loop's thread),
//   touches no logging or configuration, and lives until the process exits
//   (_exit), never joined. It keeps the credentials the process started it
//   with: a delivery agent switches the ids of its loop's thread alone
//   (lib/agent/agent_identity.h), and this thread only accepts.
#pragma once

#include <sys/socket.h>

#include <functional>
#include <memory>
#include <vector>

#include "lib/event/event_loop.h"
#include "lib/util/result.h"

namespace mailroom::server {

class AcceptThread {
public:
    struct Accepted {
        int fd = -1;    // the client, non-blocking and close-on-exec; -1 with error
        int error = 0;  // errno of a failed accept
        sockaddr_storage peer{};  // the client's address, as accept4() gave it
        socklen_t peer_len = 0;
    };

    AcceptThread() = default;
    ~AcceptThread();
    AcceptThread(const AcceptThread&) = delete;
    AcceptThread& operator=(const AcceptThread&) = delete;

    // Registers `listeners` (stream sockets) and starts the thread with no
    // credits. `on_ready` runs in `loop` when take() has something. An error
    // (no EPOLLEXCLUSIVE on this kernel, no thread) leaves nothing running.
    Status start(event::Loop& loop, const std::vector<int>& listeners, std::function<void()> on_ready);

    // The process can take `n` more clients, besides those accepted and not
    // yet taken (they count against `n`).
    void set_credits(int n);

    // The clients (and accept errors) accepted since the last call; the
    // credits they used go with them.
    std::vector<Accepted> take();

    struct Shared;

private:
    std::shared_ptr<Shared> shared_;
    event::FdWatcher ready_watcher_;
};

}  // namespace mailroom::server
