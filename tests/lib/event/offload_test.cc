// offload_test.cc - the worker pool posts results back to the event loop.
#include "lib/event/offload.h"

#include <event2/event.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <functional>
#include <mutex>
#include <set>
#include <thread>

using namespace mailroom;

namespace {
struct BaseFree {
    void operator()(event_base* b) const { event_base_free(b); }
};
using BasePtr = std::unique_ptr<event_base, BaseFree>;

void run_until(event_base* base, int seconds) {
    timeval tv{seconds, 0};
    event_base_loopexit(base, &tv);
    event_base_dispatch(base);
}
}  // namespace

TEST_CASE("Offload runs work on workers and done on the loop thread", "[unit]") {
    BasePtr base(event_base_new());
    auto off = event::Offload::create(base.get(), 2);
    REQUIRE(off.ok());
    auto loop_id = std::this_thread::get_id();
    std::atomic<int> worker_on_loop{0};
    int done_count = 0;
    bool done_on_loop = true;
    std::vector<int> values;
    for (int i = 0; i < 20; ++i) {
        (*off)->submit_value<int>(
            [i, loop_id, &worker_on_loop] {
                if (std::this_thread::get_id() == loop_id) ++worker_on_loop;
                std::this_thread::sleep_for(std::chrono::milliseconds(5));
                return i * i;
            },
            [&, loop_id](int v) {
                done_on_loop = done_on_loop && std::this_thread::get_id() == loop_id;
                values.push_back(v);
                if (++done_count == 20) event_base_loopbreak(base.get());
            });
    }
    CHECK((*off)->pending() == 20);
    run_until(base.get(), 30);
    CHECK(done_count == 20);
    CHECK(done_on_loop);
    CHECK(worker_on_loop == 0);
    std::sort(values.begin(), values.end());
    for (int i = 0; i < 20; ++i) CHECK(values[i] == i * i);
    CHECK((*off)->pending() == 0);
}

TEST_CASE("Offload keeps the loop responsive while work blocks", "[unit]") {
    BasePtr base(event_base_new());
    // The work blocks for 300 ms and, however late a loaded machine runs the
    // timer, until the timer has run on the loop (at most 30 s).
    std::atomic<bool> timer_ran{false};  // outlives the worker
    auto off = event::Offload::create(base.get(), 1);
    REQUIRE(off.ok());
    auto start = std::chrono::steady_clock::now();
    std::chrono::steady_clock::duration timer_at{}, done_at{};
    (*off)->submit(
        [&timer_ran] {
            std::this_thread::sleep_for(std::chrono::milliseconds(300));
            for (auto end = std::chrono::steady_clock::now() + std::chrono::seconds(30);
                 !timer_ran && std::chrono::steady_clock::now() < end;)
                std::this_thread::sleep_for(std::chrono::milliseconds(1));
        },
        [&] {
            done_at = std::chrono::steady_clock::now() - start;
            event_base_loopbreak(base.get());
        });
    struct Ctx {
        std::chrono::steady_clock::time_point start;
        std::chrono::steady_clock::duration* at;
        std::atomic<bool>* ran;
    } ctx{start, &timer_at, &timer_ran};
    timeval tv{0, 20 * 1000};
    event_base_once(base.get(), -1, EV_TIMEOUT,
                    [](evutil_socket_t, short, void* arg) {
                        auto* c = static_cast<Ctx*>(arg);
                        *c->at = std::chrono::steady_clock::now() - c->start;
                        *c->ran = true;
                    },
                    &ctx, &tv);
    run_until(base.get(), 30);
    // The 20 ms timer ran while the 300 ms work was still blocking.
    CHECK(timer_at > std::chrono::steady_clock::duration::zero());
    CHECK(timer_at < done_at);
    CHECK(done_at >= std::chrono::milliseconds(300));
}

TEST_CASE("Destroying an Offload drops undelivered results", "[unit]") {
    BasePtr base(event_base_new());
    bool called = false;
    {
        auto off = event::Offload::create(base.get(), 1);
        REQUIRE(off.ok());
        (*off)->submit([] { std::this_thread::sleep_for(std::chrono::milliseconds(50)); }, [&] { called = true; });
        for (int i = 0; i < 5; ++i) (*off)->submit([] {}, [&] { called = true; });
    }
    timeval tv{0, 100 * 1000};
    event_base_loopexit(base.get(), &tv);
    event_base_dispatch(base.get());
    CHECK(!called);
    CHECK(!event::Offload::create(nullptr, 1).ok());
}

TEST_CASE("Offload starts its workers as the work needs them", "[unit]") {
    BasePtr base(event_base_new());
    auto off = event::Offload::create(base.get(), 4);
    REQUIRE(off.ok());
    std::mutex mu;
    std::set<std::thread::id> ids;

    // One item at a time: the one worker takes each of them.
    int done = 0;
    std::function<void()> next = [&] {
        (*off)->submit(
            [&] {
                std::lock_guard lk(mu);
                ids.insert(std::this_thread::get_id());
            },
            [&] {
                if (++done == 10) {
                    event_base_loopbreak(base.get());
                    return;
                }
                next();
            });
    };
    next();
    run_until(base.get(), 30);
    REQUIRE(done == 10);
    CHECK(ids.size() == 1);

    // Four items that each wait until all four run: four workers.
    ids.clear();
    std::atomic<int> running{0};
    int finished = 0;
    for (int i = 0; i < 4; ++i) {
        (*off)->submit(
            [&] {
                {
                    std::lock_guard lk(mu);
                    ids.insert(std::this_thread::get_id());
                }
                ++running;
                for (auto end = std::chrono::steady_clock::now() + std::chrono::seconds(30);
                     running < 4 && std::chrono::steady_clock::now() < end;)
                    std::this_thread::sleep_for(std::chrono::milliseconds(1));
            },
            [&] {
                if (++finished == 4) event_base_loopbreak(base.get());
            });
    }
    run_until(base.get(), 60);
    REQUIRE(finished == 4);
    CHECK(running == 4);
    CHECK(ids.size() == 4);
}

TEST_CASE("Offload delivers results that complete while the loop is busy", "[unit]") {
    // Many results completing at once share wake-ups; none is lost.
    BasePtr base(event_base_new());
    auto off = event::Offload::create(base.get(), 3);
    REQUIRE(off.ok());
    int done = 0;
    for (int i = 0; i < 300; ++i) {
        (*off)->submit([] {}, [&] {
            if (++done == 300) event_base_loopbreak(base.get());
        });
    }
    run_until(base.get(), 30);
    CHECK(done == 300);
    CHECK((*off)->pending() == 0);
}
