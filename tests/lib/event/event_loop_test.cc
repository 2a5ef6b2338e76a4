// event_loop_test.cc - the libevent wrappers.
#include "lib/event/event_loop.h"

#include <signal.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <memory>

using namespace mailroom::event;

TEST_CASE("fd watcher fires on readable and stops when disabled", "[unit]") {
    Loop loop;
    int p[2];
    REQUIRE(::pipe(p) == 0);
    int fired = 0;
    FdWatcher w(loop, p[0], Interest::kRead, [&] {
        char c;
        REQUIRE(::read(p[0], &c, 1) == 1);
        ++fired;
        if (fired == 2) loop.stop();
    });
    CHECK_FALSE(w.enabled());
    w.enable();
    CHECK(w.enabled());
    REQUIRE(::write(p[1], "ab", 2) == 2);
    loop.run();
    CHECK(fired == 2);
    w.disable();
    REQUIRE(::write(p[1], "c", 1) == 1);
    Timer guard(loop, [&] { loop.stop(); });
    guard.start(std::chrono::milliseconds(50));
    loop.run();
    CHECK(fired == 2);
    ::close(p[0]);
    ::close(p[1]);
}

TEST_CASE("timer fires once, can be cancelled and re-armed", "[unit]") {
    Loop loop;
    int fired = 0;
    Timer t(loop, [&] { ++fired; });
    t.start(std::chrono::milliseconds(10));
    CHECK(t.pending());
    t.cancel();
    CHECK_FALSE(t.pending());
    t.start(std::chrono::milliseconds(5));
    loop.run();  // returns when no events remain
    CHECK(fired == 1);
    CHECK_FALSE(t.pending());
}

TEST_CASE("moved watchers keep working and a watcher may destroy itself", "[unit]") {
    Loop loop;
    int fired = 0;
    Timer a(loop, [&] { ++fired; });
    Timer b = std::move(a);
    CHECK(a.empty());
    b.start(std::chrono::milliseconds(1));
    loop.run();
    CHECK(fired == 1);

    auto holder = std::make_unique<Timer>();
    *holder = Timer(loop, [&] {
        holder.reset();
        ++fired;
    });
    holder->start(std::chrono::milliseconds(1));
    loop.run();
    CHECK(fired == 2);
    CHECK(holder == nullptr);
}

TEST_CASE("signal watcher runs its callback from the loop", "[unit]") {
    Loop loop;
    bool got = false;
    SignalWatcher s(loop, SIGUSR1, [&] {
        got = true;
        loop.stop();
    });
    Timer send(loop, [] { ::kill(::getpid(), SIGUSR1); });
    send.start(std::chrono::milliseconds(1));
    loop.run();
    CHECK(got);
}
