// deliver_log_test.cc - the delivery log line: Postfix's delay format, the
// exact to=/relay=/delay=/delays=/dsn=/status= text, and the delays= split.
#include <catch2/catch.hpp>

#include "lib/deliver/deliver_log.h"

using namespace mailroom;

TEST_CASE("format_delay prints like Postfix", "[unit]") {
    struct Case {
        double in;
        const char* out;
    };
    const Case cases[] = {
        {0, "0"},        {-1, "0"},      {0.001, "0"},   {0.004, "0"},    {0.005, "0.01"}, {0.05, "0.05"},
        {0.123, "0.12"}, {0.4, "0.4"},   {1, "1"},       {1.23, "1.2"},   {9.99, "10"},    {12.3, "12"},
        {356.7, "357"},  {1183, "1183"},
    };
    for (const auto& c : cases) {
        INFO(c.in);
        CHECK(deliver::format_delay(c.in) == c.out);
    }
}

TEST_CASE("delivery_line is Postfix's exact text", "[unit]") {
    deliver::DeliveryTimes t{0.12, 0.05, 0.01, 0, 0.06};
    CHECK(deliver::delivery_line("bob@x.test", "", "none", t, "2.0.0", "sent", "discarded") ==
          "to=<bob@x.test>, relay=none, delay=0.12, delays=0.05/0.01/0/0.06, dsn=2.0.0, status=sent (discarded)");
    CHECK(deliver::delivery_line("bob@x.test", "bob", "none", t, "2.0.0", "sent", "discarded") ==
          "to=<bob@x.test>, orig_to=<bob>, relay=none, delay=0.12, delays=0.05/0.01/0/0.06, dsn=2.0.0, "
          "status=sent (discarded)");
    CHECK(deliver::delivery_line("bob@x.test", "bob@x.test", "none", t, "5.0.0", "bounced", "gone") ==
          "to=<bob@x.test>, relay=none, delay=0.12, delays=0.05/0.01/0/0.06, dsn=5.0.0, status=bounced (gone)");
}

TEST_CASE("request_times splits the delay at the request's time stamps", "[unit]") {
    deliver::DeliveryRequest r;
    r.arrival_time = 1000;
    r.arrival_time_us = 1000'000000;
    r.active_time_us = 1000'500000;
    r.handoff_time_us = 1001'000000;
    auto t = deliver::request_times(r, 1001.25, 1002.0);
    CHECK(t.total == Approx(2.0));
    CHECK(t.before_qmgr == Approx(0.5));
    CHECK(t.in_qmgr == Approx(0.5));
    CHECK(t.setup == Approx(0.25));
    CHECK(t.transmit == Approx(0.75));
}
