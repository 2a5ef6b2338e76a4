// event_loop.h - RAII wrappers over libevent: the loop, fd watchers, timers,
// signal watchers.
//
// Summary
//   Loop owns one event_base. FdWatcher calls its callback whenever a
//   descriptor is readable (or writable); Timer calls its callback once after
//   a delay; SignalWatcher calls its callback (from the loop, not from the
//   signal handler) when a signal arrives. Each owner frees its event in the
//   destructor and is move-only; a moved-from owner is empty.
//
// Description
//   Callbacks run on the loop thread. A callback may destroy its own watcher
//   (the state is freed only after libevent no longer references it: the
//   event is deleted first). Watchers must not outlive their Loop.
//
//   Deferred work and deferred delete: defer(fn) runs fn on the loop after
//   the current callback has returned (on the next turn), and
//   release_later(ptr) destroys an object there. An owner that learns
//   inside one of an object's own callbacks that the object is done (a
//   session whose client said QUIT) hands it to release_later() instead of
//   destroying it under its own feet. When the Loop is destroyed, work
//   that has not run yet is discarded without running (the objects it
//   would touch may be gone), but what it holds is destroyed first, while
//   the event_base exists: objects handed to release_later() are
//   destroyed, never leaked.
//   Only one Loop per process may own SignalWatchers (libevent limitation).
#pragma once

#include <chrono>
#include <functional>
#include <memory>

struct event_base;
struct event;

namespace mailroom::event {

class Loop {
public:
    Loop();  // aborts when libevent cannot allocate a base (out of memory)
    ~Loop();
    Loop(Loop&&) noexcept = default;
    Loop& operator=(Loop&&) noexcept = default;
    Loop(const Loop&) = delete;
    Loop& operator=(const Loop&) = delete;

    // Runs until stop() or until no events remain. Returns 0, or -1 on a
    // libevent error.
    int run();
    // Runs one iteration (blocking until at least one event is active).
    int run_once();
    // Makes run() return after the current callbacks.
    void stop();
    event_base* base() const { return base_.get(); }

    // Runs fn on the loop after the current callback (next turn).
    void defer(std::function<void()> fn);
    // Destroys obj on the loop after the current callback.
    template <class T, class D>
    void release_later(std::unique_ptr<T, D> obj) {
        if (!obj) return;
        defer([holder = std::shared_ptr<T>(std::move(obj))]() mutable { holder.reset(); });
    }

    struct Deferred;

private:
    struct BaseFree {
        void operator()(event_base* b) const;
    };
    struct DeferredFree {
        void operator()(Deferred* d) const;
    };
    // Declared after base_: destroyed (and its pending work dropped) first.
    std::unique_ptr<event_base, BaseFree> base_;
    std::unique_ptr<Deferred, DeferredFree> deferred_;
};

enum class Interest { kRead, kWrite };

class FdWatcher {
public:
    FdWatcher();
    // Persistent watcher on `fd` (not owned). Starts disabled.
    FdWatcher(Loop& loop, int fd, Interest what, std::function<void()> callback);
    ~FdWatcher();
    FdWatcher(FdWatcher&&) noexcept;
    FdWatcher& operator=(FdWatcher&&) noexcept;

    void enable();
    void disable();
    bool enabled() const;
    bool empty() const { return !state_; }
    int fd() const;

    struct State;

private:
    std::unique_ptr<State> state_;
};

class Timer {
public:
    Timer();
    Timer(Loop& loop, std::function<void()> callback);
    ~Timer();
    Timer(Timer&&) noexcept;
    Timer& operator=(Timer&&) noexcept;

    // (Re)arms the timer; a pending expiry is replaced.
    void start(std::chrono::milliseconds delay);
    void cancel();
    bool pending() const;
    bool empty() const { return !state_; }

    struct State;

private:
    std::unique_ptr<State> state_;
};

class SignalWatcher {
public:
    SignalWatcher();
    SignalWatcher(Loop& loop, int signo, std::function<void()> callback);  // active at once
    ~SignalWatcher();
    SignalWatcher(SignalWatcher&&) noexcept;
    SignalWatcher& operator=(SignalWatcher&&) noexcept;

    struct State;

private:
    std::unique_ptr<State> state_;
};

}  // namespace mailroom::event
