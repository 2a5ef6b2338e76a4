// offload.h - run blocking work off an event loop and post the result back.
//
// Summary
//   Offload owns a small pool of worker threads bound to one libevent
//   event_base. submit(work, done) runs `work` on a worker thread and then
//   `done` on the loop thread (from the event_base's dispatch), so a blocking
//   call (a mysql: lookup) never stalls the other sessions of the loop.
//   Results travel from worker to loop through a queue; an eventfd wakes
//   the loop.
//
// Description
//   `threads` is the most the pool runs: one starts with it, and another
//   only when work is queued while every running one is busy, so a
//   process that never needs more than one pays for one. A worker started
//   by submit() gets the credentials of the thread that submits (Linux
//   keeps them per thread): do not submit from inside a per-thread
//   identity switch (lib/agent/agent_identity.h).
//   Work items start in submission order; with more than one thread they
//   may finish in any order. `done` callbacks run one at a time on the loop
//   thread, in completion order. An exception escaping `work` is a bug and
//   terminates the process (no exceptions cross this boundary).
//   Destroying the Offload stops accepting work, lets running items finish,
//   drops queued ones, joins the threads, and never calls the `done` of
//   items that had not been delivered yet. Destroy it on the loop thread,
//   before the event_base, and not from inside a `done` callback.
//
// Thread safety
//   submit() may be called from any thread; `done` runs on the thread that
//   runs event_base_dispatch()/event_base_loop().
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "lib/util/result.h"
#include "lib/util/unique_fd.h"

struct event_base;
struct event;

namespace mailroom::event {

class Offload {
public:
    // Creates the pool (up to `threads` workers) and registers its wakeup
    // with `base`. threads >= 1.
    static Result<std::unique_ptr<Offload>> create(event_base* base, size_t threads);
    struct Private {};
    explicit Offload(Private) {}
    ~Offload();
    Offload(const Offload&) = delete;
    Offload& operator=(const Offload&) = delete;

    // Queues `work` for a worker; `done` then runs on the loop thread.
    void submit(std::function<void()> work, std::function<void()> done);

    // Typed form: `done` receives what `work` returned.
    template <class T>
    void submit_value(std::function<T()> work, std::function<void(T)> done) {
        auto slot = std::make_shared<std::optional<T>>();
        submit([slot, w = std::move(work)]() { slot->emplace(w()); },
               [slot, d = std::move(done)]() { d(std::move(**slot)); });
    }

    // Items queued or running whose `done` has not run yet.
    size_t pending() const;

private:
    struct Item {
        std::function<void()> work;
        std::function<void()> done;
    };
    struct EventFree {
        void operator()(::event* ev) const;
    };

    void worker_loop();
    void start_worker();  // under mu_
    void on_wakeup();
    static void wakeup_cb(int fd, short what, void* arg);

    mutable std::mutex mu_;
    std::condition_variable cv_;
    std::deque<Item> queue_;
    std::deque<std::function<void()>> completed_;
    size_t outstanding_ = 0;
    size_t busy_ = 0;         // workers running an item
    size_t max_threads_ = 1;
    bool stopping_ = false;
    std::vector<std::thread> threads_;
    util::UniqueFd wake_fd_;
    std::unique_ptr<::event, EventFree> wake_event_;
};

}  // namespace mailroom::event
