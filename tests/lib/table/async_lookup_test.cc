// async_lookup_test.cc - the one asynchronous lookup path: tables that may
// block (by their type) are looked up off the loop thread, the others at
// once on it; a table records the thread its lookups run on.
#include "lib/table/async_lookup.h"
#include "tests/support/loop_util.h"

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <functional>
#include <thread>

using namespace mailroom;
using mailroom::testing::run_until;
using namespace mailroom::table;
using namespace std::chrono_literals;

namespace {

// A table that blocks for 100 ms (and, while `gate` is set and closed,
// until it opens: at most 30 s), answers with the key reversed and records
// the thread each lookup ran on.
class SlowTable : public Table {
public:
    SlowTable() : Table("slowtest", "x") {}
    bool may_block() const override { return true; }
    LookupResult lookup(std::string_view key) override {
        int now = ++active_;
        max_active_ = std::max(max_active_.load(), now);
        std::this_thread::sleep_for(100ms);
        for (auto end = std::chrono::steady_clock::now() + 30s;
             gate && !gate->load() && std::chrono::steady_clock::now() < end;)
            std::this_thread::sleep_for(1ms);
        --active_;
        thread_ = std::this_thread::get_id();
        if (key == "down") return make_temp_error("slowtest: down");
        return std::optional<std::string>(std::string(key.rbegin(), key.rend()));
    }
    std::atomic<int> active_{0};
    std::atomic<int> max_active_{0};
    std::thread::id thread_;
    std::atomic<bool>* gate = nullptr;
};


}  // namespace

TEST_CASE("AsyncTable runs blocking lookups on the worker and answers on the loop", "[unit]") {
    event::Loop loop;
    std::atomic<bool> ticked{false};  // outlives the runner's worker
    LookupRunner runner(loop);
    auto slow = std::make_shared<SlowTable>();
    slow->gate = &ticked;
    AsyncTable at(slow, &runner);
    std::thread::id loop_thread = std::this_thread::get_id();
    std::vector<std::string> results;
    bool all_on_loop = true;
    for (const char* k : {"abc", "xyz", "down"}) {
        at.lookup(k, [&, k](LookupResult r) {
            all_on_loop = all_on_loop && std::this_thread::get_id() == loop_thread;
            results.push_back(std::string(k) + ":" + (!r ? (r.error().temporary() ? "temp" : "perm") : **r));
        });
    }
    CHECK(results.empty());  // nothing answered inside lookup()
    CHECK(runner.started());
    // A 10 ms timer fires while the lookups are held on the worker (they
    // wait for it): the loop was not blocked. However late a loaded machine
    // runs the timer, no lookup can be back before it.
    bool ticked_first = false;
    event::Timer tick(loop, [&] {
        ticked_first = results.empty();
        ticked = true;
    });
    tick.start(10ms);
    REQUIRE(run_until(loop, [&] { return results.size() == 3; }));
    CHECK(results == std::vector<std::string>{"abc:cba", "xyz:zyx", "down:temp"});
    CHECK(all_on_loop);
    CHECK(ticked_first);
    CHECK(slow->thread_ != loop_thread);
    CHECK(slow->max_active_ == 1);
}

TEST_CASE("AsyncTable answers tables that cannot block at once, without a worker", "[unit]") {
    event::Loop loop;
    LookupRunner runner(loop);
    auto t = open_table("inline:{a=1}");
    REQUIRE(t.ok());
    AsyncTable at(std::shared_ptr<Table>(std::move(*t)), &runner);
    std::string got;
    at.lookup("a", [&](LookupResult r) { got = r.ok() && r->has_value() ? **r : "?"; });
    CHECK(got == "1");
    CHECK_FALSE(runner.started());
}

TEST_CASE("AsyncMaps sends a list that holds a blocking table to the worker", "[unit]") {
    register_table_type(
        "slowtest", [](const std::string&, const OpenOptions&) -> Result<TablePtr> {
            return TablePtr(std::make_unique<SlowTable>());
        },
        true);
    event::Loop loop;
    LookupRunner runner(loop);
    auto maps = Maps::open("inline:{a=fast}, slowtest:x");
    REQUIRE(maps.ok());
    auto shared = std::make_shared<Maps>(std::move(*maps));
    CHECK(shared->may_block());
    AsyncMaps am(shared, &runner);
    std::vector<std::string> got;
    bool returned = false;
    for (const char* k : {"a", "bc"}) {
        am.lookup(k, [&](LookupResult r) {
            CHECK(returned);  // never called before lookup() returned
            got.push_back(r.ok() && r->has_value() ? **r : "?");
        });
    }
    returned = true;
    REQUIRE(run_until(loop, [&] { return got.size() == 2; }));
    CHECK(got == std::vector<std::string>{"fast", "cb"});
}

TEST_CASE("A table type says whether its lookups may block", "[unit]") {
    register_table_type(
        "slowtest", [](const std::string&, const OpenOptions&) -> Result<TablePtr> {
            return TablePtr(std::make_unique<SlowTable>());
        },
        true);
    CHECK(spec_may_block("mysql:/etc/postfix/mysql-virtual.cf"));
    CHECK(spec_may_block("proxy:mysql:/etc/postfix/x.cf"));
    CHECK(spec_may_block("unionmap:{hash:/etc/a, proxy:mysql:/etc/b.cf}"));
    CHECK(spec_may_block("pipemap:{inline:{a=b}, slowtest:x}"));
    CHECK(spec_may_block("slowtest:x"));
    CHECK_FALSE(spec_may_block("hash:/etc/postfix/access"));
    CHECK_FALSE(spec_may_block("proxy:hash:/etc/postfix/access"));
    CHECK_FALSE(spec_may_block("unionmap:{hash:/etc/a, cidr:/etc/b}"));
    CHECK_FALSE(spec_may_block("permit_mynetworks"));
    CHECK_FALSE(spec_may_block("/etc/postfix/mysql-looking-name"));
}

TEST_CASE("LookupRunner runs any lookup work inline or on its one worker, in order", "[unit]") {
    event::Loop loop;
    LookupRunner runner(loop);
    std::thread::id loop_thread = std::this_thread::get_id();
    std::vector<int> order;
    std::atomic<bool> off_loop{true};
    int inline_value = 0;
    runner.run<int>(false, [] { return 7; }, [&](int v) { inline_value = v; });
    CHECK(inline_value == 7);
    for (int i = 0; i < 5; ++i) {
        runner.run<int>(
            true,
            [&, i] {
                if (std::this_thread::get_id() == loop_thread) off_loop = false;
                return i;
            },
            [&](int v) { order.push_back(v); });
    }
    REQUIRE(run_until(loop, [&] { return order.size() == 5; }));
    CHECK(order == std::vector<int>{0, 1, 2, 3, 4});
    CHECK(off_loop);
    CHECK(runner.pending() == 0);
}
