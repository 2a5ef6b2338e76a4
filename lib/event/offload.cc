// offload.cc - worker pool with an eventfd wakeup (see offload.h).
#include "lib/event/offload.h"

#include <event2/event.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>

#include "lib/util/strings.h"

namespace mailroom::event {

void Offload::EventFree::operator()(::event* ev) const {
    if (ev) event_free(ev);
}

Result<std::unique_ptr<Offload>> Offload::create(event_base* base, size_t threads) {
    if (base == nullptr || threads == 0) return make_error("offload: need an event base and at least one thread");
    auto o = std::make_unique<Offload>(Private{});
    int fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (fd < 0) return make_error(util::format("offload: eventfd: %s", std::strerror(errno)));
    o->wake_fd_.reset(fd);
    o->wake_event_.reset(::event_new(base, fd, EV_READ | EV_PERSIST, &Offload::wakeup_cb, o.get()));
    if (!o->wake_event_ || ::event_add(o->wake_event_.get(), nullptr) != 0) {
        return make_error("offload: cannot register the wakeup event");
    }
    o->max_threads_ = threads;
    {
        std::lock_guard<std::mutex> lock(o->mu_);
        o->start_worker();
    }
    return o;
}

void Offload::start_worker() { threads_.emplace_back([this] { worker_loop(); }); }

Offload::~Offload() {
    {
        std::lock_guard<std::mutex> lock(mu_);
        stopping_ = true;
        queue_.clear();
    }
    cv_.notify_all();
    for (std::thread& t : threads_) t.join();
    wake_event_.reset();
}

void Offload::submit(std::function<void()> work, std::function<void()> done) {
    {
        std::lock_guard<std::mutex> lock(mu_);
        if (stopping_) return;
        queue_.push_back(Item{std::move(work), std::move(done)});
        ++outstanding_;
        if (queue_.size() > threads_.size() - busy_ && threads_.size() < max_threads_) {
            // The running workers are busy: one more. Without it (no
            // thread to be had) they get to the item later.
            try {
                start_worker();
            } catch (const std::system_error&) {
            }
        }
    }
    cv_.notify_one();
}

size_t Offload::pending() const {
    std::lock_guard<std::mutex> lock(mu_);
    return outstanding_;
}

void Offload::worker_loop() {
    for (;;) {
        Item item;
        {
            std::unique_lock<std::mutex> lock(mu_);
            cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
            if (stopping_) return;
            item = std::move(queue_.front());
            queue_.pop_front();
            ++busy_;
        }
        item.work();
        bool was_empty;
        {
            std::lock_guard<std::mutex> lock(mu_);
            // Free again before the loop hears of the result, so work it
            // submits from `done` finds this worker rather than starting one.
            --busy_;
            if (stopping_) return;
            was_empty = completed_.empty();
            completed_.push_back(std::move(item.done));
        }
        // One wake-up of the loop for everything completed until it
        // takes the results (on_wakeup() reads the eventfd before it does).
        if (!was_empty) continue;
        uint64_t one = 1;
        ssize_t n;
        do {
            n = ::write(wake_fd_.get(), &one, sizeof(one));
        } while (n < 0 && errno == EINTR);
    }
}

void Offload::wakeup_cb(int, short, void* arg) { static_cast<Offload*>(arg)->on_wakeup(); }

void Offload::on_wakeup() {
    // One read resets the eventfd's counter, however many wrote to it.
    uint64_t count;
    ssize_t n = ::read(wake_fd_.get(), &count, sizeof(count));
    (void)n;
    std::deque<std::function<void()>> ready;
    {
        std::lock_guard<std::mutex> lock(mu_);
        ready.swap(completed_);
    }
    for (auto& done : ready) {
        {
            std::lock_guard<std::mutex> lock(mu_);
            --outstanding_;
        }
        if (done) done();
    }
}

}  // namespace mailroom::event
