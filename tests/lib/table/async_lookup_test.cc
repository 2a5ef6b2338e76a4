// async_lookup_test.cc - blocking tables are looked up off the loop thread.
#include "lib/table/async_lookup.h"

#include <event2/event.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <thread>

using namespace mailroom;
using namespace mailroom::table;

namespace {

// A table that blocks for 100 ms and answers with the key reversed.
class SlowTable : public Table {
public:
    SlowTable() : Table("slowtest", "x") {}
    bool may_block() const override { return true; }
    LookupResult lookup(std::string_view key) override {
        int now = ++active_;
        max_active_ = std::max(max_active_.load(), now);
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        --active_;
        thread_ = std::this_thread::get_id();
        if (key == "down") return make_temp_error("slowtest: down");
        return std::optional<std::string>(std::string(key.rbegin(), key.rend()));
    }
    std::atomic<int> active_{0};
    std::atomic<int> max_active_{0};
    std::thread::id thread_;
};

struct BaseFree {
    void operator()(event_base* b) const { event_base_free(b); }
};

}  // namespace

TEST_CASE("AsyncTable runs blocking lookups on workers and answers on the loop", "[unit]") {
    std::unique_ptr<event_base, BaseFree> base(event_base_new());
    REQUIRE(base);
    auto offload = event::Offload::create(base.get(), 3);
    REQUIRE(offload.ok());
    auto slow = std::make_shared<SlowTable>();
    AsyncTable at(slow, offload->get());

    std::thread::id loop_thread = std::this_thread::get_id();
    std::vector<std::string> results;
    bool all_on_loop = true;
    // A 10 ms timer that fires before the first 100 ms lookup is delivered
    // proves the loop was not blocked by the lookups.
    bool timer_fired_early = false;
    bool first_done_seen = false;
    for (const char* k : {"abc", "xyz", "down"}) {
        at.lookup(k, [&, k](LookupResult r) {
            if (results.empty()) first_done_seen = true;
            all_on_loop = all_on_loop && std::this_thread::get_id() == loop_thread;
            if (!r) {
                results.push_back(std::string(k) + ":" + (r.error().temporary() ? "temp" : "perm"));
            } else {
                results.push_back(std::string(k) + ":" + **r);
            }
            if (results.size() == 3) event_base_loopbreak(base.get());
        });
    }
    struct TimerCtx {
        bool* fired;
        bool* first_done_seen;
    } ctx{&timer_fired_early, &first_done_seen};
    timeval tv{0, 10 * 1000};
    event_base_once(base.get(), -1, EV_TIMEOUT,
                    [](evutil_socket_t, short, void* arg) {
                        auto* c = static_cast<TimerCtx*>(arg);
                        *c->fired = !*c->first_done_seen;
                    },
                    &ctx, &tv);
    timeval limit{5, 0};
    event_base_loopexit(base.get(), &limit);
    event_base_dispatch(base.get());

    REQUIRE(results.size() == 3);
    std::sort(results.begin(), results.end());
    CHECK(results == std::vector<std::string>{"abc:cba", "down:temp", "xyz:zyx"});
    CHECK(all_on_loop);
    CHECK(timer_fired_early);
    CHECK(slow->thread_ != loop_thread);
    // One table is never used by two workers at once.
    CHECK(slow->max_active_ == 1);
}

TEST_CASE("AsyncTable answers non-blocking tables at once", "[unit]") {
    std::unique_ptr<event_base, BaseFree> base(event_base_new());
    auto offload = event::Offload::create(base.get(), 1);
    REQUIRE(offload.ok());
    auto t = open_table("inline:{a=1}");
    REQUIRE(t.ok());
    AsyncTable at(std::shared_ptr<Table>(std::move(*t)), offload->get());
    std::string got;
    at.lookup("a", [&](LookupResult r) { got = r.ok() && r->has_value() ? **r : "?"; });
    CHECK(got == "1");
}

TEST_CASE("AsyncMaps offloads a list that holds a blocking table", "[unit]") {
    register_table_type("slowtest", [](const std::string&, const OpenOptions&) -> Result<TablePtr> {
        return TablePtr(std::make_unique<SlowTable>());
    });
    std::unique_ptr<event_base, BaseFree> base(event_base_new());
    auto offload = event::Offload::create(base.get(), 2);
    REQUIRE(offload.ok());
    auto maps = Maps::open("inline:{a=fast}, slowtest:x");
    REQUIRE(maps.ok());
    auto shared = std::make_shared<Maps>(std::move(*maps));
    CHECK(shared->may_block());
    AsyncMaps am(shared, offload->get());
    std::vector<std::string> got;
    bool returned = false;
    for (const char* k : {"a", "bc"}) {
        am.lookup(k, [&](LookupResult r) {
            CHECK(returned);  // never called before lookup() returned
            got.push_back(r.ok() && r->has_value() ? **r : "?");
            if (got.size() == 2) event_base_loopbreak(base.get());
        });
    }
    returned = true;
    timeval limit{5, 0};
    event_base_loopexit(base.get(), &limit);
    event_base_dispatch(base.get());
    std::sort(got.begin(), got.end());
    CHECK(got == std::vector<std::string>{"cb", "fast"});
}
