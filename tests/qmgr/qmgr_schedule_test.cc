// qmgr_schedule_test.cc - batching by transport, nexthop and recipient
// limit; concurrency per destination and per transport (qmgr_schedule.h).
#include <catch2/catch.hpp>

#include "lib/deliver/deliver_proto.h"
#include "qmgr/qmgr_schedule.h"

using namespace mailroom::qmgr;

namespace {

RoutedRecipient rcpt(const std::string& transport, const std::string& address) {
    auto at = address.find('@');
    return {Route{transport, address.substr(at + 1), false}, address};
}

std::vector<std::vector<std::size_t>> members(const std::vector<Batch>& batches) {
    std::vector<std::vector<std::size_t>> out;
    for (const auto& b : batches) out.push_back(b.members);
    return out;
}

}  // namespace

TEST_CASE("batches group recipients by transport and nexthop up to the recipient limit", "[unit]") {
    SchedulePolicy p;
    p.defaults.destination_recipient_limit = 50;
    p.transports["maildrop"] = p.defaults;
    p.transports["maildrop"].destination_recipient_limit = 2;
    std::vector<RoutedRecipient> in = {rcpt("maildrop", "a@x.test"), rcpt("maildrop", "b@x.test"),
                                       rcpt("smtp", "c@x.test"),     rcpt("maildrop", "d@y.test"),
                                       rcpt("maildrop", "e@x.test"), rcpt("smtp", "f@x.test")};
    auto b = make_batches(p, in);
    CHECK(members(b) == std::vector<std::vector<std::size_t>>{{0, 1}, {2, 5}, {3}, {4}});
    CHECK(b[0].destination == "maildrop:x.test");
    CHECK(b[1].destination == "smtp:x.test");
    CHECK(b[2].route.nexthop == "y.test");
}

TEST_CASE("a recipient limit of 1 makes one request per recipient, the recipient its destination", "[unit]") {
    SchedulePolicy p;
    p.extension.delimiters = "+";
    p.transports["maildrop"].destination_recipient_limit = 1;
    auto b = make_batches(p, {rcpt("maildrop", "a@x.test"), rcpt("maildrop", "B+ext@x.test"),
                              rcpt("maildrop", "b@x.test")});
    REQUIRE(b.size() == 3);
    CHECK(b[0].destination == "maildrop:a@x.test");
    // An address extension does not make another destination.
    CHECK(b[1].destination == "maildrop:b@x.test");
    CHECK(b[2].destination == "maildrop:b@x.test");
    // The nexthop, not the recipient's domain, names it.
    CHECK(p.destination(Route{"maildrop", "[10.0.0.1]", true}, "u@x.test") == "maildrop:u@[10.0.0.1]");
    p.transports["error"].destination_recipient_limit = 1;
    CHECK(p.destination(Route{"error", "x.test", false}, "u@x.test") == "error:x.test");
}

TEST_CASE("per-recipient destinations keep owner-, -request and the double-bounce name whole", "[unit]") {
    SchedulePolicy p;
    p.extension.delimiters = "-";
    p.extension.double_bounce_sender = "bounce-twice";
    p.transports["maildrop"].destination_recipient_limit = 1;
    CHECK(p.destination(Route{"maildrop", "x.test", false}, "list-request@x.test") == "maildrop:list-request@x.test");
    CHECK(p.destination(Route{"maildrop", "x.test", false}, "owner-list@x.test") == "maildrop:owner-list@x.test");
    CHECK(p.destination(Route{"maildrop", "x.test", false}, "bounce-twice@x.test") == "maildrop:bounce-twice@x.test");
    CHECK(p.destination(Route{"maildrop", "x.test", false}, "user-ext@x.test") == "maildrop:user@x.test");
    p.extension.owner_request_special = false;
    CHECK(p.destination(Route{"maildrop", "x.test", false}, "owner-list@x.test") == "maildrop:owner@x.test");
}

TEST_CASE("a recipient limit of 0 is the protocol's limit", "[unit]") {
    SchedulePolicy p;
    p.defaults.destination_recipient_limit = 0;
    std::vector<RoutedRecipient> in;
    for (std::size_t i = 0; i < mailroom::deliver::kMaxRecipientsPerRequest + 3; ++i)
        in.push_back(rcpt("smtp", "u" + std::to_string(i) + "@x.test"));
    auto b = make_batches(p, in);
    REQUIRE(b.size() == 2);
    CHECK(b[0].members.size() == mailroom::deliver::kMaxRecipientsPerRequest);
    CHECK(b[1].members.size() == 3);
}

TEST_CASE("the destination concurrency limit of a transport overrides the default", "[unit]") {
    SchedulePolicy p;
    p.defaults.destination_concurrency_limit = 20;
    p.transports["maildrop"] = p.defaults;
    p.transports["maildrop"].destination_concurrency_limit = 1;
    ConcurrencyTracker t(p);
    Batch md{Route{"maildrop", "x.test", false}, "maildrop:x.test", {0}};
    Batch md2{Route{"maildrop", "y.test", false}, "maildrop:y.test", {0}};
    Batch smtp{Route{"smtp", "x.test", false}, "smtp:x.test", {0}};
    CHECK(t.may_start(md));
    t.started(md);
    CHECK_FALSE(t.may_start(md));  // one at a time to x.test
    CHECK(t.may_start(md2));       // another destination may run
    for (int i = 0; i < 20; ++i) {
        CHECK(t.may_start(smtp));
        t.started(smtp);
    }
    CHECK_FALSE(t.may_start(smtp));  // the default limit
    t.finished(md);
    CHECK(t.may_start(md));
    CHECK(t.destination_busy("smtp:x.test") == 20);
    CHECK(t.destination_busy("maildrop:x.test") == 0);
}

TEST_CASE("the process limit caps a transport over all destinations, and 0 means no limit", "[unit]") {
    SchedulePolicy p;
    p.transports["pipe"].process_limit = 2;
    p.transports["pipe"].destination_concurrency_limit = 0;
    ConcurrencyTracker t(p);
    Batch a{Route{"pipe", "a.test", false}, "pipe:a.test", {0}};
    Batch b{Route{"pipe", "b.test", false}, "pipe:b.test", {0}};
    Batch c{Route{"pipe", "c.test", false}, "pipe:c.test", {0}};
    t.started(a);
    t.started(a);
    CHECK_FALSE(t.may_start(b));
    t.finished(a);
    CHECK(t.may_start(c));
    CHECK(t.transport_busy("pipe") == 1);
}

TEST_CASE("a destination rate delay allows one delivery at a time, each a delay after the last", "[unit]") {
    SchedulePolicy p;
    p.transports["slow"].destination_rate_delay = 10;
    ConcurrencyTracker t(p);
    Batch a{Route{"slow", "x.test", false}, "slow:x.test", {0}};
    Batch other{Route{"slow", "y.test", false}, "slow:y.test", {0}};
    Batch fast{Route{"smtp", "x.test", false}, "smtp:x.test", {0}};
    CHECK(t.may_start(a, 100));  // nothing delivered yet
    t.started(a);
    CHECK_FALSE(t.may_start(a, 100));  // one at a time
    CHECK(t.may_start(other, 100));    // per destination
    t.finished(a, 105);
    CHECK(t.ready_at(a) == 115);
    CHECK_FALSE(t.may_start(a, 114.5));
    CHECK(t.may_start(a, 115));
    CHECK(t.ready_at(other) == 0);
    t.started(fast);
    t.finished(fast, 105);
    CHECK(t.may_start(fast, 105));  // no delay configured
    CHECK(t.ready_at(fast) == 0);
}
