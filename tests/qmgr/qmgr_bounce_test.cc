// qmgr_bounce_test.cc - qmgr and the bounce service (docs/bounce-protocol.md):
// against a fake error agent and fake bounce/defer services on real UNIX
// sockets, what qmgr asks for and when it removes or keeps a message.
#include <poll.h>
#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include "lib/bounce/bounce_proto.h"
#include "lib/deliver/deliver_proto.h"
#include "lib/ipc/ipc_socket.h"
#include "lib/ipc/protocol.h"
#include "lib/queue/queue_file.h"
#include "qmgr/qmgr_queue.h"

using namespace mailroom;

namespace {

// Accepts connections on private/<name> one at a time on its own thread
// and hands each to `serve`.
class FakeService {
public:
    using Serve = std::function<void(ipc::IpcStream&)>;
    FakeService(const std::string& queue_dir, const std::string& name, Serve serve) : serve_(std::move(serve)) {
        auto l = ipc::listen_unix(queue_dir + "/private/" + name, 64);
        REQUIRE(l);
        listener_ = std::move(*l);
        thread_ = std::thread([this] {
            while (!stop_) {
                pollfd p{listener_.get(), POLLIN, 0};
                if (::poll(&p, 1, 20) <= 0) continue;
                auto conn = ipc::accept_unix(listener_.get(), 100);
                if (!conn) continue;
                ipc::IpcStream s(std::move(*conn), 5000);
                serve_(s);
            }
        });
    }
    ~FakeService() {
        stop_ = true;
        thread_.join();
    }

private:
    Serve serve_;
    util::UniqueFd listener_;
    std::thread thread_;
    std::atomic<bool> stop_{false};
};

// A delivery agent answering every recipient with one status.
FakeService::Serve agent(deliver::DeliveryStatus status, const char* dsn) {
    return [status, dsn](ipc::IpcStream& s) {
        if (!s.announce(ipc::kDeliverProtocol, ipc::kProtocolVersion)) return;
        auto rec = s.receive();
        if (!rec) return;
        auto req = deliver::decode_request(*rec);
        if (!req) return;
        deliver::DeliveryReply reply;
        for (std::size_t i = 0; i < req->recipients.size(); ++i) reply.results.push_back({status, dsn, "none", "fake"});
        (void)s.send(deliver::encode_reply(reply));
    };
}

// A bounce service: records requests, keeps logfiles the way the real one
// does (append creates, flush removes), and answers `reply_status`.
struct BounceLog {
    std::mutex mu;
    std::vector<bounce::BounceRequest> requests;
    std::atomic<int> reply_status{0};
    std::atomic<bool> fail_flush{false};

    std::vector<bounce::BounceRequest> of(const std::string& kind) {
        std::lock_guard<std::mutex> g(mu);
        std::vector<bounce::BounceRequest> out;
        for (const auto& r : requests)
            if (r.request == kind) out.push_back(r);
        return out;
    }
};

FakeService::Serve bounce_service(const std::string& queue_dir, const std::string& logdir, BounceLog* log) {
    return [queue_dir, logdir, log](ipc::IpcStream& s) {
        if (!s.announce(ipc::kBounceProtocol, ipc::kProtocolVersion)) return;
        auto rec = s.receive();
        if (!rec) return;
        auto req = bounce::decode_request(*rec);
        if (!req) return;
        {
            std::lock_guard<std::mutex> g(log->mu);
            log->requests.push_back(*req);
        }
        int status = log->reply_status;
        if (req->request == "flush" && log->fail_flush) status = 1;
        std::string path = queue_dir + "/" + logdir + "/" + req->queue_id;
        if (status == 0 && req->request == "append") std::ofstream(path, std::ios::app) << "x";
        if (status == 0 && req->request == "flush") std::filesystem::remove(path);
        ipc::AttrList reply;
        reply.add_int("status", status);
        (void)s.send(reply);
    };
}

struct TempQueue {
    TempQueue() {
        char tmpl[] = "/tmp/mr-qmgr-bounce-XXXXXX";
        dir = ::mkdtemp(tmpl);
        layout.queue_directory = dir;
        REQUIRE(queue::create_queue_directories(layout));
    }
    ~TempQueue() { std::filesystem::remove_all(dir); }

    std::string add(std::vector<std::string> rcpts, long age = 0, const std::string& notify = "",
                    const std::string& redirect = "") {
        queue::WriterOptions opts;
        opts.queue = "incoming";
        auto w = queue::QueueWriter::create(layout, opts);
        REQUIRE(w);
        REQUIRE(w->set_arrival_time(time(nullptr) - age, 0));
        REQUIRE(w->set_sender("alice@x.test"));
        for (const auto& r : rcpts) REQUIRE(w->add_recipient({r, "", "rfc822;" + r, notify}));
        REQUIRE(w->begin_content());
        REQUIRE(w->add_line("Subject: hi"));
        REQUIRE(w->begin_extracted());
        if (!redirect.empty()) REQUIRE(w->add_attribute(queue::kAttrRedirect, redirect));
        std::string id = w->queue_id();
        REQUIRE(w->commit());
        return id;
    }
    std::size_t count(const char* queue_name) const {
        auto ids = queue::list_queue(layout, queue_name);
        return ids ? ids->size() : 0;
    }

    std::string dir;
    queue::QueueLayout layout;
};

qmgr::QmgrConfig config_for(const TempQueue& q) {
    qmgr::QmgrConfig c;
    c.layout = q.layout;
    c.routing.default_transport = "error";
    c.ipc_timeout_ms = 5000;
    c.queue_run_delay = 3600;
    c.minimal_backoff_time = 3600;
    return c;
}

bool run_until(event::Loop& loop, const std::function<bool()>& done) {
    bool ok = false;
    auto started = std::chrono::steady_clock::now();
    event::Timer poll(loop, [] {});
    poll = event::Timer(loop, [&] {
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
    });
    poll.start(std::chrono::milliseconds(10));
    loop.run();
    return ok;
}

}  // namespace

TEST_CASE("bounced recipients are logged with the bounce service and flushed before the file goes", "[unit]") {
    TempQueue q;
    BounceLog bl;
    FakeService error(q.dir, "error", agent(deliver::DeliveryStatus::kBounced, "5.1.1"));
    FakeService bounce(q.dir, "bounce", bounce_service(q.dir, "bounce", &bl));
    std::string id = q.add({"a@gone.test", "b@gone.test"}, 0, "FAILURE");
    event::Loop loop;
    qmgr::QueueManager mgr(loop, config_for(q));
    REQUIRE(mgr.start());
    CHECK(run_until(loop, [&] { return q.count("incoming") + q.count("active") == 0; }));
    auto appends = bl.of("append");
    REQUIRE(appends.size() == 2);
    CHECK(appends[0].queue_id == id);
    CHECK(appends[0].rcpt.recipient == "a@gone.test");
    CHECK(appends[0].rcpt.dsn_orcpt == "rfc822;a@gone.test");
    CHECK(appends[0].rcpt.notify == "FAILURE");
    CHECK(appends[0].rcpt.action == "failed");
    CHECK(appends[0].rcpt.status == "5.1.1");
    CHECK(appends[0].rcpt.reason == "fake");
    auto flushes = bl.of("flush");
    REQUIRE(flushes.size() == 1);
    CHECK(flushes[0].queue_name == "active");
    CHECK(q.count("deferred") == 0);
}

TEST_CASE("a failed flush keeps the message for another try", "[unit]") {
    TempQueue q;
    BounceLog bl;
    FakeService error(q.dir, "error", agent(deliver::DeliveryStatus::kBounced, "5.0.0"));
    FakeService bounce(q.dir, "bounce", bounce_service(q.dir, "bounce", &bl));
    bl.fail_flush = true;  // the append works, the flush does not
    std::string id = q.add({"a@gone.test"});
    event::Loop loop;
    qmgr::QueueManager mgr(loop, config_for(q));
    REQUIRE(mgr.start());
    CHECK(run_until(loop, [&] { return q.count("deferred") == 1; }));
    CHECK(bl.of("flush").size() == 1);
    CHECK(std::filesystem::exists(q.layout.file_path("deferred", id)));
    CHECK(std::filesystem::exists(q.layout.file_path("bounce", id)));
    // Next time the flush works: no agent is asked again, the file goes.
    bl.fail_flush = false;
    mgr.on_trigger("F");
    CHECK(run_until(loop, [&] { return q.count("deferred") + q.count("active") == 0; }));
    CHECK(bl.of("append").size() == 1);
    CHECK(bl.of("flush").size() == 2);
}

TEST_CASE("a failed append leaves the recipient pending", "[unit]") {
    TempQueue q;
    BounceLog bl;
    bl.reply_status = 1;
    FakeService error(q.dir, "error", agent(deliver::DeliveryStatus::kBounced, "5.0.0"));
    FakeService bounce(q.dir, "bounce", bounce_service(q.dir, "bounce", &bl));
    std::string id = q.add({"a@gone.test"});
    event::Loop loop;
    qmgr::QueueManager mgr(loop, config_for(q));
    REQUIRE(mgr.start());
    CHECK(run_until(loop, [&] { return q.count("deferred") == 1; }));
    auto f = queue::QueueFile::open(q.layout.file_path("deferred", id), false);
    REQUIRE(f);
    auto env = f->read();
    REQUIRE(env);
    CHECK(env->pending_recipients().size() == 1);
}

TEST_CASE("without a bounce service a bounce is only logged", "[unit]") {
    TempQueue q;
    FakeService error(q.dir, "error", agent(deliver::DeliveryStatus::kBounced, "5.0.0"));
    q.add({"a@gone.test"});
    event::Loop loop;
    qmgr::QueueManager mgr(loop, config_for(q));
    REQUIRE(mgr.start());
    CHECK(run_until(loop, [&] { return q.count("incoming") + q.count("active") == 0; }));
    CHECK(q.count("deferred") == 0);
}

TEST_CASE("past maximal_queue_lifetime deferred recipients bounce as expired", "[unit]") {
    TempQueue q;
    BounceLog bl, dl;
    FakeService error(q.dir, "error", agent(deliver::DeliveryStatus::kDeferred, "4.3.2"));
    FakeService bounce(q.dir, "bounce", bounce_service(q.dir, "bounce", &bl));
    FakeService defer(q.dir, "defer", bounce_service(q.dir, "defer", &dl));
    std::string young = q.add({"young@later.test"}, 0);
    std::string old = q.add({"old@later.test"}, 7200);
    event::Loop loop;
    auto cfg = config_for(q);
    cfg.maximal_queue_lifetime = 3600;
    qmgr::QueueManager mgr(loop, cfg);
    REQUIRE(mgr.start());
    CHECK(run_until(loop, [&] { return q.count("incoming") + q.count("active") == 0 && q.count("deferred") == 1; }));
    CHECK(std::filesystem::exists(q.layout.file_path("deferred", young)));
    CHECK(dl.of("append").size() == 2);  // both were deferred first
    auto appends = bl.of("append");
    REQUIRE(appends.size() == 1);
    CHECK(appends[0].queue_id == old);
    CHECK(appends[0].rcpt.status == "4.4.7");
    CHECK(appends[0].rcpt.action == "failed");
    CHECK(appends[0].rcpt.reason == "message expired: fake");
    REQUIRE(bl.of("flush").size() == 1);
    CHECK(bl.of("flush")[0].queue_id == old);
}

TEST_CASE("an expired redirected message is done with its one delivery", "[unit]") {
    TempQueue q;
    BounceLog bl, dl;
    FakeService error(q.dir, "error", agent(deliver::DeliveryStatus::kDeferred, "4.3.2"));
    FakeService bounce(q.dir, "bounce", bounce_service(q.dir, "bounce", &bl));
    FakeService defer(q.dir, "defer", bounce_service(q.dir, "defer", &dl));
    std::string old = q.add({"a@later.test", "b@later.test", "c@later.test"}, 7200, "", "boss@later.test");
    event::Loop loop;
    auto cfg = config_for(q);
    cfg.maximal_queue_lifetime = 3600;
    qmgr::QueueManager mgr(loop, cfg);
    REQUIRE(mgr.start());
    CHECK(run_until(loop, [&] { return q.count("incoming") + q.count("active") + q.count("deferred") == 0; }));
    auto appends = bl.of("append");
    REQUIRE(appends.size() == 1);
    CHECK(appends[0].queue_id == old);
    CHECK(appends[0].rcpt.recipient == "boss@later.test");
    CHECK(appends[0].rcpt.orig_rcpt == "a@later.test");
    CHECK(appends[0].rcpt.status == "4.4.7");
}

TEST_CASE("a message deferred past delay_warning_time warns its sender once", "[unit]") {
    TempQueue q;
    BounceLog dl;
    FakeService error(q.dir, "error", agent(deliver::DeliveryStatus::kDeferred, "4.3.2"));
    FakeService bounce(q.dir, "bounce", bounce_service(q.dir, "bounce", &dl));
    FakeService defer(q.dir, "defer", bounce_service(q.dir, "defer", &dl));
    std::string fresh = q.add({"a@later.test"}, 0);
    std::string waited = q.add({"b@later.test"}, 600);
    event::Loop loop;
    auto cfg = config_for(q);
    cfg.delay_warning_time = 300;
    qmgr::QueueManager mgr(loop, cfg);
    REQUIRE(mgr.start());
    CHECK(run_until(loop, [&] { return q.count("deferred") == 2; }));
    auto warns = dl.of("warn");
    REQUIRE(warns.size() == 1);
    CHECK(warns[0].queue_id == waited);
    CHECK(warns[0].queue_name == "active");
    // The next attempt does not warn again.
    mgr.on_trigger("F");
    CHECK(run_until(loop, [&] { return dl.of("append").size() >= 4 && q.count("deferred") == 2; }));
    CHECK(dl.of("warn").size() == 1);
}
