// qmgr_backoff_test.cc - back-off (qmgr_backoff.h).
#include <catch2/catch.hpp>

#include "qmgr/qmgr_backoff.h"

using namespace mailroom;

TEST_CASE("compute_backoff is the age clamped to the configured range", "[unit]") {
    struct Case {
        long long age, min, max, want;
    };
    const Case cases[] = {
        {0, 300, 4000, 300},      {10, 300, 4000, 300},    {300, 300, 4000, 300}, {1000, 300, 4000, 1000},
        {3999, 300, 4000, 3999},  {86400, 300, 4000, 4000}, {50, 100, 10, 100},   // max below min: min wins
    };
    for (const auto& c : cases) {
        INFO(c.age << " " << c.min << " " << c.max);
        CHECK(qmgr::compute_backoff(c.age, c.min, c.max) == c.want);
    }
    // The interval roughly doubles: each wait is the age at the attempt.
    long long age = 0;
    long long prev = 0;
    for (int i = 0; i < 5; ++i) {
        long long wait = qmgr::compute_backoff(age, 300, 4000);
        CHECK(wait >= prev);
        prev = wait;
        age += wait;
    }
    CHECK(prev == 2400);
}
