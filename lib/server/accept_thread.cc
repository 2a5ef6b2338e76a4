// accept_thread.cc - one waiting process woken per client; see accept_thread.h.
#include "lib/server/accept_thread.h"

#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <system_error>
#include <thread>

#include "lib/util/strings.h"
#include "lib/util/unique_fd.h"

namespace mailroom::server {

// The loop and the thread share three counters and a queue. `limit`
// (written by the loop) is how many clients the process can take beyond
// those the loop has taken; `pending` (raised by the thread, lowered by the
// loop) is how many the thread accepted that the loop has not taken yet.
// The thread accepts while pending < limit, without a lock; it locks only
// to queue a client and to sleep when it may take none (`sleeping` tells
// the loop to wake it).
struct AcceptThread::Shared {
    util::UniqueFd epoll_fd;
    util::UniqueFd ready_fd;  // eventfd: the loop's wake-up
    std::atomic<int> limit{0};
    std::atomic<int> pending{0};
    std::atomic<bool> sleeping{false};
    std::mutex mu;
    std::condition_variable cv;
    std::vector<Accepted> queue;

    bool may_take() const { return pending.load() < limit.load(); }

    void hand_over(const Accepted& a) {
        bool was_empty;
        if (a.fd >= 0) pending.fetch_add(1);
        {
            std::lock_guard lk(mu);
            was_empty = queue.empty();
            queue.push_back(a);
        }
        // One wake-up of the loop for everything queued until it takes.
        if (was_empty) {
            std::uint64_t one = 1;
            ssize_t n = ::write(ready_fd.get(), &one, sizeof(one));
            (void)n;
        }
    }

    void run() {
        epoll_event events[8];
        for (;;) {
            if (!may_take()) {
                std::unique_lock lk(mu);
                sleeping.store(true);
                cv.wait(lk, [this] { return may_take(); });
                sleeping.store(false);
            }
            int n = ::epoll_wait(epoll_fd.get(), events, 8, -1);
            if (n < 0) {
                if (errno == EINTR) continue;
                hand_over({-1, errno, {}, 0});
                ::poll(nullptr, 0, 100);
                continue;
            }
            for (int i = 0; i < n; ++i) {
                // Credits taken away meanwhile (the process drains or
                // exits): the client stays in the backlog for the process
                // master starts next, rather than being accepted and lost.
                if (!may_take()) break;
                Accepted a;
                a.peer_len = sizeof(a.peer);
                a.fd = ::accept4(events[i].data.fd, reinterpret_cast<sockaddr*>(&a.peer), &a.peer_len,
                                 SOCK_NONBLOCK | SOCK_CLOEXEC);
                if (a.fd >= 0) {
                    hand_over(a);
                    continue;
                }
                if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ECONNABORTED || errno == EINTR) continue;
                hand_over({-1, errno, {}, 0});
                ::poll(nullptr, 0, 100);
                break;
            }
        }
    }
};

AcceptThread::~AcceptThread() = default;

Status AcceptThread::start(event::Loop& loop, const std::vector<int>& listeners, std::function<void()> on_ready) {
    auto shared = std::make_shared<Shared>();
    shared->epoll_fd.reset(::epoll_create1(EPOLL_CLOEXEC));
    if (!shared->epoll_fd.valid()) return make_error(util::format("epoll_create1: %s", std::strerror(errno)));
    for (int fd : listeners) {
        epoll_event ev{};
        ev.events = EPOLLIN | EPOLLEXCLUSIVE;
        ev.data.fd = fd;
        if (::epoll_ctl(shared->epoll_fd.get(), EPOLL_CTL_ADD, fd, &ev) < 0)
            return make_error(util::format("epoll_ctl EPOLLEXCLUSIVE: %s", std::strerror(errno)));
    }
    shared->ready_fd.reset(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
    if (!shared->ready_fd.valid()) return make_error(util::format("eventfd: %s", std::strerror(errno)));

    // The thread starts with every signal blocked: they are the loop's.
    sigset_t all, old;
    ::sigfillset(&all);
    ::pthread_sigmask(SIG_SETMASK, &all, &old);
    try {
        std::thread([shared] { shared->run(); }).detach();
    } catch (const std::system_error& e) {
        ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
        return make_error(std::string("accept thread: ") + e.what());
    }
    ::pthread_sigmask(SIG_SETMASK, &old, nullptr);

    shared_ = shared;
    int ready = shared->ready_fd.get();
    ready_watcher_ = event::FdWatcher(loop, ready, event::Interest::kRead, [ready, cb = std::move(on_ready)] {
        std::uint64_t count;
        ssize_t n = ::read(ready, &count, sizeof(count));
        (void)n;
        cb();
    });
    ready_watcher_.enable();
    return ok_status();
}

void AcceptThread::set_credits(int n) {
    if (!shared_) return;
    shared_->limit.store(n);
    if (shared_->sleeping.load() && shared_->may_take()) {
        std::lock_guard lk(shared_->mu);
        shared_->cv.notify_one();
    }
}

std::vector<AcceptThread::Accepted> AcceptThread::take() {
    std::vector<Accepted> out;
    if (!shared_) return out;
    {
        std::lock_guard lk(shared_->mu);
        out.swap(shared_->queue);
    }
    int fds = 0;
    for (const auto& a : out)
        if (a.fd >= 0) ++fds;
    // The credits go with the clients: lowered before `pending`, so the
    // thread never sees the taken clients gone while their credits remain
    // (it would accept past max_use before the loop's next set_credits()).
    shared_->limit.fetch_sub(fds);
    shared_->pending.fetch_sub(fds);
    return out;
}

}  // namespace mailroom::server
