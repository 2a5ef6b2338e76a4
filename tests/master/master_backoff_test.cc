// master_backoff_test.cc - restart back-off of a failing service.
#include "master/master_backoff.h"

#include <catch2/catch.hpp>

using mailroom::master::Backoff;
using std::chrono::seconds;

TEST_CASE("back-off doubles per failed start, capped, and resets on success", "[unit]") {
    Backoff b(seconds(60));
    CHECK(b.failure() == seconds(60));
    CHECK(b.failure() == seconds(120));
    CHECK(b.failure() == seconds(240));
    CHECK(b.failure() == seconds(480));
    CHECK(b.failure() == seconds(480));  // capped at kMaxFactor * base
    CHECK(b.failures() == 5);
    b.success();
    CHECK(b.failures() == 0);
    CHECK(b.failure() == seconds(60));
}

TEST_CASE("a zero throttle time still waits", "[unit]") {
    Backoff b(seconds(0));
    CHECK(b.failure() >= seconds(1));
}

TEST_CASE("bounded restarts over a window", "[unit]") {
    // With a 1s base, at most a handful of starts fit in 20 seconds.
    Backoff b(seconds(1));
    long long t = 0;
    int starts = 0;
    while (t < 20) {
        ++starts;
        t += b.failure().count();
    }
    CHECK(starts <= 6);
}
