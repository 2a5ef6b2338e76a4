// qmgr_queue_test.cc - the queue manager in process, against fake delivery
// agents on real UNIX sockets (qmgr_queue.h): delivery, recovery of active/,
// deferral, and the destination concurrency limit.
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <filesystem>
#include <set>
#include <mutex>
#include <thread>

#include "lib/deliver/deliver_proto.h"
#include "lib/ipc/ipc_socket.h"
#include "lib/ipc/protocol.h"
#include "lib/queue/queue_file.h"
#include "lib/queue/recycle.h"
#include "qmgr/qmgr_queue.h"

using namespace mailroom;

namespace {

// A delivery agent on private/<name>: every connection gets its own thread,
// waits `delay_ms`, then answers every recipient with `status`. With
// `per_connection` above 1 it offers more (more=1) and serves up to that
// many requests per connection; `hang_up_after_offer` makes it close the
// connection right after offering more, without reading the next request.
class FakeAgent {
public:
    FakeAgent(const std::string& queue_dir, const std::string& name, deliver::DeliveryStatus status, int delay_ms,
              int per_connection = 1, bool hang_up_after_offer = false)
        : status_(status), delay_ms_(delay_ms), per_connection_(per_connection),
          hang_up_after_offer_(hang_up_after_offer) {
        auto l = ipc::listen_unix(queue_dir + "/private/" + name, 64);
        REQUIRE(l);
        listener_ = std::move(*l);
        acceptor_ = std::thread([this] { accept_loop(); });
    }
    ~FakeAgent() {
        stop_ = true;
        acceptor_.join();
        for (auto& t : workers_) t.join();
    }
    int max_concurrent() const { return max_; }
    int served() const { return served_; }
    int connections() const { return connections_; }
    // Every request served, in the order the agent took them.
    std::vector<deliver::DeliveryRequest> requests() const {
        std::lock_guard<std::mutex> lock(mu_);
        return requests_;
    }

private:
    void accept_loop() {
        while (!stop_) {
            pollfd p{listener_.get(), POLLIN, 0};
            if (::poll(&p, 1, 20) <= 0) continue;
            auto conn = ipc::accept_unix(listener_.get(), 100);
            if (!conn) continue;
            workers_.emplace_back([this, fd = std::make_shared<util::UniqueFd>(std::move(*conn))]() mutable {
                serve(std::move(*fd));
            });
        }
    }
    void serve(util::UniqueFd fd) {
        int now = ++current_;
        for (int m = max_; now > m && !max_.compare_exchange_weak(m, now);) {
        }
        ++connections_;
        ipc::IpcStream s(std::move(fd), 5000);
        if (s.announce(ipc::kDeliverProtocol, ipc::kProtocolVersion)) {
            for (int n = 1;; ++n) {
            auto rec = s.receive();
            if (rec) {
                auto req = deliver::decode_request(*rec);
                if (req) {
                    {
                        std::lock_guard<std::mutex> lock(mu_);
                        requests_.push_back(*req);
                    }
                    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms_));
                    deliver::DeliveryReply reply;
                    const char* dsn = status_ == deliver::DeliveryStatus::kSent       ? "2.0.0"
                                      : status_ == deliver::DeliveryStatus::kDeferred ? "4.0.0"
                                                                                       : "5.0.0";
                    for (std::size_t i = 0; i < req->recipients.size(); ++i)
                        reply.results.push_back({status_, dsn, "none", "fake"});
                    reply.more = n < per_connection_;
                    --current_;  // done before the reply reaches qmgr
                    ++served_;
                    (void)s.send(deliver::encode_reply(reply));
                    if (!reply.more || hang_up_after_offer_) return;
                    ++current_;
                    continue;
                }
            }
            break;
            }
        }
        --current_;
    }

    deliver::DeliveryStatus status_;
    int delay_ms_;
    int per_connection_;
    bool hang_up_after_offer_;
    util::UniqueFd listener_;
    std::thread acceptor_;
    std::vector<std::thread> workers_;  // only touched by the acceptor until the destructor
    std::atomic<bool> stop_{false};
    std::atomic<int> current_{0};
    std::atomic<int> max_{0};
    std::atomic<int> served_{0};
    std::atomic<int> connections_{0};
    mutable std::mutex mu_;
    std::vector<deliver::DeliveryRequest> requests_;
};

struct TempQueue {
    TempQueue() {
        char tmpl[] = "/tmp/mr-qmgr-test-XXXXXX";
        dir = ::mkdtemp(tmpl);
        layout.queue_directory = dir;
        REQUIRE(queue::create_queue_directories(layout));
    }
    ~TempQueue() { std::filesystem::remove_all(dir); }

    std::string add(const char* queue_name, std::vector<std::string> rcpts,
                    std::vector<std::pair<std::string_view, std::string>> extracted = {}) {
        queue::WriterOptions opts;
        opts.queue = queue_name;
        opts.recycle = recycle;
        auto w = queue::QueueWriter::create(layout, opts);
        REQUIRE(w);
        REQUIRE(w->set_arrival_time(time(nullptr), 0));
        REQUIRE(w->set_sender("alice@x.test"));
        for (const auto& r : rcpts) REQUIRE(w->add_recipient({r}));
        REQUIRE(w->begin_content());
        REQUIRE(w->add_line("Subject: hi"));
        REQUIRE(w->begin_extracted());
        for (const auto& [name, value] : extracted) REQUIRE(w->add_attribute(name, value));
        std::string id = w->queue_id();
        REQUIRE(w->commit());
        return id;
    }
    std::size_t count(const char* queue_name) const {
        auto ids = queue::list_queue(layout, queue_name);
        return ids ? ids->size() : 0;
    }

    std::size_t pooled() const { return std::distance(std::filesystem::directory_iterator(dir + "/recycle"),
                                                      std::filesystem::directory_iterator()); }

    std::string dir;
    queue::QueueLayout layout;
    bool recycle = false;  // add() takes files from recycle/
};

qmgr::QmgrConfig config_for(const TempQueue& q) {
    qmgr::QmgrConfig c;
    c.layout = q.layout;
    auto lists = std::make_shared<address::DomainLists>();
    lists->mydestination = {"local.test"};
    c.routing.resolver = std::make_shared<address::Resolver>(address::ResolveOptions{},
                                                             address::DomainLists::classifier(lists));
    c.routing.local_transport = "discard";
    c.routing.default_transport = "discard";
    c.ipc_timeout_ms = 5000;
    c.queue_run_delay = 3600;
    return c;
}

// Runs the loop until `done()` holds (checked every 10 ms), at most 10 s.
bool run_until(event::Loop& loop, const std::function<bool()>& done) {
    bool ok = false;
    auto started = std::chrono::steady_clock::now();
    event::Timer poll(loop, [] {});
    std::function<void()> check = [&] {
        if (done()) {
            ok = true;
            loop.stop();
            return;
        }
        if (std::chrono::steady_clock::now() - started > std::chrono::seconds(10)) {
            loop.stop();
            return;
        }
        poll.start(std::chrono::milliseconds(10));
    };
    poll = event::Timer(loop, [&] { check(); });
    poll.start(std::chrono::milliseconds(10));
    loop.run();
    return ok;
}

// Runs a queue manager with `cfg` until incoming/ and active/ are empty.
bool deliver_all(const TempQueue& q, const qmgr::QmgrConfig& cfg) {
    event::Loop loop;
    qmgr::QueueManager mgr(loop, cfg);
    REQUIRE(mgr.start());
    return run_until(loop, [&] { return q.count("incoming") + q.count("active") == 0; });
}

}  // namespace

TEST_CASE("qmgr delivers incoming mail and removes the files", "[unit]") {
    TempQueue q;
    FakeAgent agent(q.dir, "discard", deliver::DeliveryStatus::kSent, 0);
    for (int i = 0; i < 5; ++i) q.add("incoming", {"a@x.test", "b@y.test"});
    event::Loop loop;
    qmgr::QueueManager mgr(loop, config_for(q));
    REQUIRE(mgr.start());
    CHECK(run_until(loop, [&] { return q.count("incoming") + q.count("active") == 0; }));
    CHECK(agent.served() == 10);  // two destinations per message
    CHECK(q.count("deferred") == 0);
}

TEST_CASE("delivered files go to recycle/, up to queue_file_recycle_limit", "[unit]") {
    TempQueue q;
    FakeAgent agent(q.dir, "discard", deliver::DeliveryStatus::kSent, 0);
    for (int i = 0; i < 5; ++i) q.add("incoming", {"a@x.test"});
    auto cfg = config_for(q);
    SECTION("limit 3") {
        cfg.queue_file_recycle_limit = 3;
        CHECK(deliver_all(q, cfg));
        CHECK(agent.served() == 5);
        CHECK(q.pooled() == 3);
    }
    SECTION("limit 0: unlinked as before") {
        cfg.queue_file_recycle_limit = 0;
        CHECK(deliver_all(q, cfg));
        CHECK(agent.served() == 5);
        CHECK(q.pooled() == 0);
    }
}

TEST_CASE("a recycled file is delivered again under its new queue ID", "[unit]") {
    queue::reset_recycle_cache();
    TempQueue q;
    FakeAgent agent(q.dir, "discard", deliver::DeliveryStatus::kSent, 0);
    std::string first = q.add("incoming", {"a@x.test"});
    event::Loop loop;
    qmgr::QueueManager mgr(loop, config_for(q));
    REQUIRE(mgr.start());
    CHECK(run_until(loop, [&] { return q.pooled() == 1; }));
    // The same qmgr still runs: the file it just retired must not stay
    // locked by it under the old name.
    q.recycle = true;
    std::string second = q.add("incoming", {"b@x.test"});
    CHECK(second != first);
    CHECK(q.pooled() == 0);
    mgr.on_trigger("I");
    CHECK(run_until(loop, [&] { return q.pooled() == 1 && q.count("incoming") + q.count("active") == 0; }));
    CHECK(agent.served() == 2);
    CHECK(q.count("deferred") == 0);
}

TEST_CASE("qmgr takes up what a dead qmgr left in active and skips done recipients", "[unit]") {
    TempQueue q;
    FakeAgent agent(q.dir, "discard", deliver::DeliveryStatus::kSent, 0);
    std::string id = q.add("active", {"done@x.test", "todo@x.test"});
    {
        auto f = queue::QueueFile::open(q.layout.file_path("active", id), true);
        REQUIRE(f);
        auto env = f->read();
        REQUIRE(env);
        REQUIRE(f->mark_done(env->recipients[0]));
    }
    event::Loop loop;
    qmgr::QueueManager mgr(loop, config_for(q));
    REQUIRE(mgr.start());
    CHECK(run_until(loop, [&] { return q.count("active") == 0; }));
    CHECK(agent.served() == 1);
}

TEST_CASE("deferred recipients send the message to deferred with a future retry time", "[unit]") {
    TempQueue q;
    FakeAgent agent(q.dir, "discard", deliver::DeliveryStatus::kDeferred, 0);
    std::string id = q.add("incoming", {"a@x.test"});
    event::Loop loop;
    auto cfg = config_for(q);
    cfg.minimal_backoff_time = 300;
    qmgr::QueueManager mgr(loop, cfg);
    REQUIRE(mgr.start());
    CHECK(run_until(loop, [&] { return q.count("deferred") == 1; }));
    struct stat st {};
    REQUIRE(::stat(q.layout.file_path("deferred", id).c_str(), &st) == 0);
    CHECK(st.st_mtime >= time(nullptr) + 250);
}

TEST_CASE("an unreachable transport defers instead of losing mail", "[unit]") {
    TempQueue q;
    q.add("incoming", {"a@x.test"});
    event::Loop loop;
    qmgr::QueueManager mgr(loop, config_for(q));
    REQUIRE(mgr.start());
    CHECK(run_until(loop, [&] { return q.count("deferred") == 1; }));
}

TEST_CASE("no more than the destination concurrency limit runs at once", "[unit]") {
    TempQueue q;
    FakeAgent agent(q.dir, "discard", deliver::DeliveryStatus::kSent, 50);
    for (int i = 0; i < 12; ++i) q.add("incoming", {"a@same.test"});
    event::Loop loop;
    auto cfg = config_for(q);
    cfg.schedule.defaults.destination_concurrency_limit = 3;
    qmgr::QueueManager mgr(loop, cfg);
    REQUIRE(mgr.start());
    CHECK(run_until(loop, [&] { return q.count("incoming") + q.count("active") == 0; }));
    CHECK(agent.served() == 12);
    CHECK(agent.max_concurrent() <= 3);
    CHECK(agent.max_concurrent() >= 2);  // and it does run in parallel
}

TEST_CASE("an agent that offers more gets several requests per connection, within the limits", "[unit]") {
    TempQueue q;
    FakeAgent agent(q.dir, "discard", deliver::DeliveryStatus::kSent, 20, 100);
    for (int i = 0; i < 12; ++i) q.add("incoming", {"a@same.test"});
    auto cfg = config_for(q);
    cfg.schedule.defaults.destination_concurrency_limit = 3;
    CHECK(deliver_all(q, cfg));
    CHECK(agent.served() == 12);
    CHECK(q.count("deferred") == 0);
    // Never more connections than requests in flight at once.
    CHECK(agent.connections() <= 3);
    CHECK(agent.max_concurrent() <= 3);
}

TEST_CASE("a kept connection the agent closes is replaced without deferring the request", "[unit]") {
    TempQueue q;
    // qmgr may write a request into the closed connection; the daemon
    // ignores SIGPIPE (lib/server), so does this test.
    ::signal(SIGPIPE, SIG_IGN);
    FakeAgent agent(q.dir, "discard", deliver::DeliveryStatus::kSent, 0, 100, true);
    for (int i = 0; i < 6; ++i) q.add("incoming", {"a@same.test"});
    auto cfg = config_for(q);
    cfg.schedule.defaults.destination_concurrency_limit = 1;
    CHECK(deliver_all(q, cfg));
    CHECK(agent.served() == 6);
    CHECK(q.count("deferred") == 0);
}

TEST_CASE("the transport's process limit caps all its destinations together", "[unit]") {
    TempQueue q;
    FakeAgent agent(q.dir, "discard", deliver::DeliveryStatus::kSent, 50);
    for (int i = 0; i < 8; ++i) q.add("incoming", {"a@d" + std::to_string(i) + ".test"});
    event::Loop loop;
    auto cfg = config_for(q);
    cfg.schedule.transports["discard"].process_limit = 2;
    qmgr::QueueManager mgr(loop, cfg);
    REQUIRE(mgr.start());
    CHECK(run_until(loop, [&] { return q.count("incoming") + q.count("active") == 0; }));
    CHECK(agent.served() == 8);
    CHECK(agent.max_concurrent() <= 2);
}

TEST_CASE("requests carry at most the transport's recipient limit, per destination", "[unit]") {
    TempQueue q;
    FakeAgent agent(q.dir, "discard", deliver::DeliveryStatus::kSent, 0);
    q.add("incoming", {"a@x.test", "b@x.test", "c@x.test", "d@y.test", "e@x.test"});
    event::Loop loop;
    auto cfg = config_for(q);
    cfg.schedule.transports["discard"] = cfg.schedule.defaults;
    cfg.schedule.transports["discard"].destination_recipient_limit = 2;
    qmgr::QueueManager mgr(loop, cfg);
    REQUIRE(mgr.start());
    CHECK(run_until(loop, [&] { return q.count("incoming") + q.count("active") == 0; }));
    std::multiset<std::string> got;
    for (const auto& r : agent.requests()) {
        std::string rcpts;
        for (const auto& x : r.recipients) rcpts += x.address + " ";
        got.insert(r.nexthop + ": " + rcpts);
    }
    CHECK(got == std::multiset<std::string>{"x.test: a@x.test b@x.test ", "x.test: c@x.test e@x.test ",
                                            "y.test: d@y.test "});
}

TEST_CASE("a filter attribute routes every recipient through transport:nexthop", "[unit]") {
    TempQueue q;
    FakeAgent normal(q.dir, "discard", deliver::DeliveryStatus::kSent, 0);
    FakeAgent filter(q.dir, "scan", deliver::DeliveryStatus::kSent, 0);
    q.add("incoming", {"a@x.test", "b@local.test"}, {{queue::kAttrFilter, "scan:[127.0.0.1]:10025"}});
    event::Loop loop;
    qmgr::QueueManager mgr(loop, config_for(q));
    REQUIRE(mgr.start());
    CHECK(run_until(loop, [&] { return q.count("incoming") + q.count("active") == 0; }));
    CHECK(normal.served() == 0);
    auto reqs = filter.requests();
    REQUIRE(reqs.size() == 1);
    CHECK(reqs[0].transport == "scan");
    CHECK(reqs[0].nexthop == "[127.0.0.1]:10025");
    CHECK(reqs[0].nexthop_explicit);
    CHECK(reqs[0].recipients.size() == 2);
}

TEST_CASE("a redirect attribute delivers once, to that address, with the first recipient as orig_to", "[unit]") {
    TempQueue q;
    FakeAgent agent(q.dir, "discard", deliver::DeliveryStatus::kSent, 0);
    q.add("incoming", {"a@x.test", "b@y.test", "c@z.test"}, {{queue::kAttrRedirect, "boss@w.test"}});
    event::Loop loop;
    qmgr::QueueManager mgr(loop, config_for(q));
    REQUIRE(mgr.start());
    CHECK(run_until(loop, [&] { return q.count("incoming") + q.count("active") == 0; }));
    auto reqs = agent.requests();
    REQUIRE(reqs.size() == 1);
    CHECK(reqs[0].nexthop == "w.test");
    REQUIRE(reqs[0].recipients.size() == 1);
    CHECK(reqs[0].recipients[0].address == "boss@w.test");
    CHECK(reqs[0].recipients[0].orig_recipient == "a@x.test");
    CHECK(q.count("deferred") == 0);
}

namespace {

// A transport table that says it may block and records the threads its
// lookups ran on.
struct ThreadTable : table::Table {
    ThreadTable() : table::Table("threadtest", "x") {}
    table::LookupResult lookup(std::string_view key) override {
        std::lock_guard<std::mutex> lock(mu);
        threads.insert(std::this_thread::get_id());
        if (key == "far.test") return std::optional<std::string>("discard:far-away");
        return std::optional<std::string>();
    }
    bool may_block() const override { return true; }
    static inline std::mutex mu;
    static inline std::set<std::thread::id> threads;
};

}  // namespace

TEST_CASE("transport_maps that may block are searched off the loop", "[unit]") {
    table::register_table_type("threadtest", [](const std::string&, const table::OpenOptions&) -> Result<table::TablePtr> {
        return table::TablePtr(std::make_unique<ThreadTable>());
    });
    TempQueue q;
    FakeAgent agent(q.dir, "discard", deliver::DeliveryStatus::kSent, 0);
    q.add("incoming", {"a@far.test", "b@near.test"});
    event::Loop loop;
    auto cfg = config_for(q);
    cfg.transport_maps = {"threadtest:x"};
    qmgr::QueueManager mgr(loop, cfg);
    REQUIRE(mgr.start());
    CHECK(run_until(loop, [&] { return q.count("incoming") + q.count("active") == 0; }));
    std::multiset<std::string> got;
    for (const auto& r : agent.requests()) got.insert(r.nexthop + " " + r.recipients.at(0).address);
    CHECK(got == std::multiset<std::string>{"far-away a@far.test", "near.test b@near.test"});
    std::lock_guard<std::mutex> lock(ThreadTable::mu);
    REQUIRE_FALSE(ThreadTable::threads.empty());
    CHECK_FALSE(ThreadTable::threads.count(std::this_thread::get_id()));  // never on the loop's thread
}
