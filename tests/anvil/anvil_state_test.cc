// anvil_state_test.cc - counts, rates, expiry and statistics of AnvilState.
#include <catch2/catch.hpp>

#include "anvil/anvil_state.h"

using namespace mailroom::anvil;

namespace {
const std::string kA = "smtp:192.0.2.1";
const std::string kB = "smtp:192.0.2.2";
}  // namespace

TEST_CASE("anvil_state connection count and rate", "[unit]") {
    AnvilState st(60);
    Reply r = st.connect(1, kA, 1000);
    CHECK(r.status == kStatusOk);
    CHECK(r.count == 1);
    CHECK(r.rate == 1);
    r = st.connect(1, kA, 1001);
    CHECK(r.count == 2);
    CHECK(r.rate == 2);
    r = st.connect(2, kA, 1002);  // another smtpd process, same client
    CHECK(r.count == 3);
    CHECK(r.rate == 3);
    CHECK(st.connect(1, kB, 1002).count == 1);  // other clients are apart
    st.disconnect(1, kA, 1003);
    r = st.lookup(kA, 1003);
    CHECK(r.count == 2);
    CHECK(r.rate == 3);
    // A new connection counts again; the rate keeps going up in the interval.
    r = st.connect(1, kA, 1004);
    CHECK(r.count == 3);
    CHECK(r.rate == 4);
}

TEST_CASE("anvil_state rates reset after the time unit", "[unit]") {
    AnvilState st(60);
    for (int i = 0; i < 5; ++i) st.message(1, kA, 1000 + i);
    CHECK(st.message(1, kA, 1010).rate == 6);
    CHECK(st.recipient(1, kA, 1010).rate == 1);
    CHECK(st.lookup(kA, 1060).mail == 6);  // start + unit is still inside
    // The first event more than a time unit after the interval began starts a new one.
    CHECK(st.message(1, kA, 1061).rate == 1);
    CHECK(st.lookup(kA, 1061).rcpt == 0);
    // lookup reports stale rates as zero without resetting them.
    st.connect(1, kB, 2000);
    CHECK(st.lookup(kB, 2100).rate == 0);
    CHECK(st.lookup(kB, 2100).count == 1);
    CHECK(st.connect(1, kB, 2100).rate == 1);
}

TEST_CASE("anvil_state disconnects only what a client registered", "[unit]") {
    AnvilState st(60);
    st.connect(1, kA, 1000);
    st.connect(2, kA, 1000);
    st.disconnect(3, kA, 1001);  // never connected: ignored
    CHECK(st.lookup(kA, 1001).count == 2);
    st.disconnect(1, kA, 1001);
    st.disconnect(1, kA, 1001);  // twice: the second is ignored
    CHECK(st.lookup(kA, 1001).count == 1);
    // Process 2 goes away without disconnecting.
    st.connect(2, kA, 1002);
    st.connect(2, kB, 1002);
    st.drop_local(2, 1003);
    CHECK(st.lookup(kA, 1003).count == 0);
    CHECK(st.lookup(kB, 1003).count == 0);
}

TEST_CASE("anvil_state entries expire a time unit after their last connection", "[unit]") {
    AnvilState st(60);
    st.connect(1, kA, 1000);
    st.message(1, kB, 1000);  // a rate-only entry
    CHECK(st.size() == 2);
    st.expire(1059);
    CHECK(st.size() == 2);
    st.expire(1060);
    CHECK(st.size() == 1);  // kB went; kA still has a connection
    st.expire(5000);
    CHECK(st.size() == 1);
    st.disconnect(1, kA, 5000);
    st.expire(5059);
    CHECK(st.size() == 1);
    st.expire(5060);
    CHECK(st.size() == 0);
    // A connection before the expiry keeps the entry and its rates.
    st.connect(1, kA, 6000);
    st.disconnect(1, kA, 6001);
    CHECK(st.connect(1, kA, 6030).rate == 2);
    st.expire(6100);
    CHECK(st.size() == 1);
}

TEST_CASE("anvil_state memory is bounded", "[unit]") {
    AnvilState st(60, 3);
    CHECK(st.connect(1, "smtp:10.0.0.1", 100).status == kStatusOk);
    CHECK(st.message(1, "smtp:10.0.0.2", 100).status == kStatusOk);
    CHECK(st.connect(1, "smtp:10.0.0.3", 100).status == kStatusOk);
    // Full: a new ident is not counted (the client then applies no limit).
    CHECK(st.connect(1, "smtp:10.0.0.4", 120).status == kStatusFail);
    CHECK(st.dropped() == 1);
    CHECK(st.size() == 3);
    // Known idents still work; once the rate-only entry expired there is room.
    CHECK(st.connect(1, "smtp:10.0.0.1", 130).count == 2);
    CHECK(st.connect(1, "smtp:10.0.0.4", 161).status == kStatusOk);
    CHECK(st.size() == 3);
}

TEST_CASE("anvil_state statistics are Postfix's lines and reset", "[unit]") {
    ::setenv("TZ", "UTC", 1);
    ::tzset();
    AnvilState st(60);
    CHECK(st.take_statistics().empty());
    std::time_t t = 1764000000;  // Nov 24 16:00:00 2025 UTC
    st.connect(1, kA, t);
    st.connect(1, kA, t + 1);
    st.message(1, kB, t + 2);
    st.recipient(1, kB, t + 3);
    st.recipient(1, kB, t + 3);
    auto lines = st.take_statistics();
    REQUIRE(lines.size() == 5);
    CHECK(lines[0] == "statistics: max connection rate 2/60s for (smtp:192.0.2.1) at Nov 24 16:00:01");
    CHECK(lines[1] == "statistics: max connection count 2 for (smtp:192.0.2.1) at Nov 24 16:00:01");
    CHECK(lines[2] == "statistics: max message rate 1/60s for (smtp:192.0.2.2) at Nov 24 16:00:02");
    CHECK(lines[3] == "statistics: max recipient rate 2/60s for (smtp:192.0.2.2) at Nov 24 16:00:03");
    CHECK(lines[4] == "statistics: max cache size 2 at Nov 24 16:00:02");
    CHECK(st.take_statistics().empty());
    st.connect(1, kB, t + 4);
    lines = st.take_statistics();
    REQUIRE(lines.size() == 2);
    CHECK(lines[0] == "statistics: max connection rate 1/60s for (smtp:192.0.2.2) at Nov 24 16:00:04");
}
