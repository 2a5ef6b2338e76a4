// event_loop.cc - see event_loop.h.
#include "lib/event/event_loop.h"

#include <event2/event.h>

#include <cstdlib>
#include <vector>

namespace mailroom::event {

void Loop::BaseFree::operator()(event_base* b) const {
    if (b) event_base_free(b);
}

// The work defer() queued, run by one zero-timeout event per batch.
struct Loop::Deferred {
    ::event* ev = nullptr;
    std::vector<std::function<void()>> queue;

    static void run(evutil_socket_t, short, void* arg) {
        auto* d = static_cast<Deferred*>(arg);
        // Work queued by the work itself waits for the next turn.
        std::vector<std::function<void()>> batch = std::move(d->queue);
        d->queue.clear();
        for (auto& fn : batch) {
            fn();
            fn = nullptr;  // destroys what the function held, in order
        }
    }
};

void Loop::DeferredFree::operator()(Deferred* d) const {
    if (!d) return;
    // Objects released later are destroyed now, while the base exists;
    // their destructors may queue more.
    while (!d->queue.empty()) {
        auto batch = std::move(d->queue);
        d->queue.clear();
        batch.clear();
    }
    if (d->ev) event_free(d->ev);
    delete d;
}

namespace {

// libevent reads its EVENT_* environment variables unless told not to, and
// before each one asks whether the process is set-id (four system calls
// per variable): a base made without them starts with four calls in all.
event_base* new_base() {
    event_config* cfg = event_config_new();
    if (!cfg) return nullptr;
    event_config_set_flag(cfg, EVENT_BASE_FLAG_IGNORE_ENV);
    event_base* base = event_base_new_with_config(cfg);
    event_config_free(cfg);
    return base;
}

}  // namespace

Loop::Loop() : base_(new_base()), deferred_(new Deferred) {
    if (!base_) std::abort();
    deferred_->ev = event_new(base_.get(), -1, 0, &Deferred::run, deferred_.get());
    if (!deferred_->ev) std::abort();
}

Loop::~Loop() { deferred_.reset(); }

void Loop::defer(std::function<void()> fn) {
    deferred_->queue.push_back(std::move(fn));
    if (!event_pending(deferred_->ev, EV_TIMEOUT, nullptr)) {
        timeval zero{0, 0};
        event_add(deferred_->ev, &zero);
    }
}

int Loop::run() { return event_base_dispatch(base_.get()); }
int Loop::run_once() { return event_base_loop(base_.get(), EVLOOP_ONCE); }
void Loop::stop() { event_base_loopbreak(base_.get()); }

// One shared shape for every watcher: the libevent event plus the callback.
// The State lives on the heap so the pointer handed to libevent stays valid
// when the owner moves.
namespace {

struct EventState {
    ::event* ev = nullptr;
    std::function<void()> callback;
    int fd = -1;
    bool enabled = false;

    ~EventState() {
        if (ev) {
            event_del(ev);
            event_free(ev);
        }
    }
};

void dispatch(evutil_socket_t, short, void* arg) {
    auto* st = static_cast<EventState*>(arg);
    // Copy: the callback may destroy the watcher that owns `st`.
    auto cb = st->callback;
    if (cb) cb();
}

void dispatch_once(evutil_socket_t, short, void* arg) {
    auto* st = static_cast<EventState*>(arg);
    st->enabled = false;
    auto cb = st->callback;
    if (cb) cb();
}

}  // namespace

struct FdWatcher::State : EventState {};
struct Timer::State : EventState {};
struct SignalWatcher::State : EventState {};

// FdWatcher

FdWatcher::FdWatcher(Loop& loop, int fd, Interest what, std::function<void()> callback)
    : state_(std::make_unique<State>()) {
    state_->callback = std::move(callback);
    state_->fd = fd;
    short flags = static_cast<short>((what == Interest::kRead ? EV_READ : EV_WRITE) | EV_PERSIST);
    state_->ev = event_new(loop.base(), fd, flags, &dispatch, static_cast<EventState*>(state_.get()));
    if (!state_->ev) std::abort();
}
FdWatcher::FdWatcher() = default;
FdWatcher::~FdWatcher() = default;
FdWatcher::FdWatcher(FdWatcher&&) noexcept = default;
FdWatcher& FdWatcher::operator=(FdWatcher&&) noexcept = default;

void FdWatcher::enable() {
    if (!state_ || state_->enabled) return;
    event_add(state_->ev, nullptr);
    state_->enabled = true;
}
void FdWatcher::disable() {
    if (!state_ || !state_->enabled) return;
    event_del(state_->ev);
    state_->enabled = false;
}
bool FdWatcher::enabled() const { return state_ && state_->enabled; }
int FdWatcher::fd() const { return state_ ? state_->fd : -1; }

// Timer

Timer::Timer(Loop& loop, std::function<void()> callback) : state_(std::make_unique<State>()) {
    state_->callback = std::move(callback);
    state_->ev = evtimer_new(loop.base(), &dispatch_once, static_cast<EventState*>(state_.get()));
    if (!state_->ev) std::abort();
}
Timer::Timer() = default;
Timer::~Timer() = default;
Timer::Timer(Timer&&) noexcept = default;
Timer& Timer::operator=(Timer&&) noexcept = default;

void Timer::start(std::chrono::milliseconds delay) {
    if (!state_) return;
    if (delay.count() < 0) delay = std::chrono::milliseconds(0);
    timeval tv{};
    tv.tv_sec = static_cast<time_t>(delay.count() / 1000);
    tv.tv_usec = static_cast<suseconds_t>((delay.count() % 1000) * 1000);
    evtimer_add(state_->ev, &tv);
    state_->enabled = true;
}
void Timer::cancel() {
    if (!state_) return;
    evtimer_del(state_->ev);
    state_->enabled = false;
}
bool Timer::pending() const { return state_ && evtimer_pending(state_->ev, nullptr); }

// SignalWatcher

SignalWatcher::SignalWatcher(Loop& loop, int signo, std::function<void()> callback)
    : state_(std::make_unique<State>()) {
    state_->callback = std::move(callback);
    state_->ev = evsignal_new(loop.base(), signo, &dispatch, static_cast<EventState*>(state_.get()));
    if (!state_->ev) std::abort();
    evsignal_add(state_->ev, nullptr);
    state_->enabled = true;
}
SignalWatcher::SignalWatcher() = default;
SignalWatcher::~SignalWatcher() = default;
SignalWatcher::SignalWatcher(SignalWatcher&&) noexcept = default;
SignalWatcher& SignalWatcher::operator=(SignalWatcher&&) noexcept = default;

}  // namespace mailroom::event
