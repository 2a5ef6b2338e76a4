// bounce_service_test.cc - the status logfiles, the bounce protocol and the
// service (bounce_service.h) against an in-process fake cleanup server:
// what is submitted, with which envelope, and when the logfile goes away.
#include <stdlib.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <mutex>
#include <thread>

#include "lib/bounce/bounce_log.h"
#include "bounce/bounce_service.h"
#include "lib/ipc/ipc_socket.h"
#include "lib/ipc/protocol.h"
#include "lib/log/log.h"
#include "lib/queue/queue_file.h"
#include "lib/queue/record.h"
#include "lib/submit/cleanup_proto.h"
#include "tests/bounce/mime_reader.h"

using namespace mailroom;
using namespace mailroom::bounce;
using queue::RecordType;

namespace {

struct Received {
    bool connected = false;
    std::string sender;
    std::vector<std::string> recipients;
    std::string content;  // lines joined with "\n"
    bool replied = false;
};

// Serves one cleanup conversation (or none, if nobody connects within
// `wait_ms`) and answers with `status`.
void fake_cleanup(int listen_fd, submit::CleanupStatus status, Received* out, int wait_ms = 5000) {
    auto conn = ipc::accept_unix(listen_fd, wait_ms);
    if (!conn) return;
    out->connected = true;
    ipc::IpcStream stream(std::move(*conn), 5000);
    if (!stream.announce(ipc::kCleanupProtocol, ipc::kProtocolVersion)) return;
    if (!stream.receive()) return;
    ipc::AttrList id;
    id.add("queue_id", "5B3D2E1A08");
    if (!stream.send(id)) return;
    std::string buf;
    char tmp[4096];
    bool in_content = false;
    for (bool done = false; !done;) {
        ssize_t n = ::read(stream.fd(), tmp, sizeof(tmp));
        if (n < 0 && errno == EAGAIN) {
            ::usleep(1000);
            continue;
        }
        if (n <= 0) return;
        buf.append(tmp, static_cast<std::size_t>(n));
        std::size_t used = 0;
        for (;;) {
            queue::DecodedRecord rec;
            std::string error;
            if (queue::decode_record(std::string_view(buf).substr(used), &rec, &error) != queue::DecodeStep::kRecord)
                break;
            used += rec.length;
            std::string payload(rec.payload);
            switch (rec.type) {
                case RecordType::kSender: out->sender = payload; break;
                case RecordType::kRecipient: out->recipients.push_back(payload.substr(1)); break;
                case RecordType::kContentStart: in_content = true; break;
                case RecordType::kExtractedStart: in_content = false; break;
                case RecordType::kNormal:
                    if (in_content) out->content += payload + "\n";
                    break;
                case RecordType::kEnd: done = true; break;
                default: break;
            }
        }
        buf.erase(0, used);
    }
    auto text = submit::cleanup_status_text(status);
    ipc::AttrList reply;
    reply.add_int("status", static_cast<std::int64_t>(status)).add("dsn", text.dsn).add("reason", text.text);
    out->replied = stream.send(reply).ok();
}

struct LogCapture {
    LogCapture() {
        log::set_capture([this](log::Level, const std::string& line) {
            std::lock_guard<std::mutex> g(mu);
            lines.push_back(line);
        });
    }
    ~LogCapture() { log::set_capture(nullptr); }
    bool has(const std::string& text) {
        std::lock_guard<std::mutex> g(mu);
        for (const auto& l : lines)
            if (l.find(text) != std::string::npos) return true;
        return false;
    }
    std::mutex mu;
    std::vector<std::string> lines;
};

struct Fixture {
    Fixture() {
        char tmpl[] = "/tmp/mr-bounce-test-XXXXXX";
        dir = ::mkdtemp(tmpl);
        config.layout.queue_directory = dir;
        config.myhostname = "mx.example.test";
        config.myorigin = "mx.example.test";
        config.ipc_timeout_ms = 5000;
        REQUIRE(queue::create_queue_directories(config.layout));
        auto l = ipc::listen_unix(dir + "/public/cleanup");
        REQUIRE(l);
        listener = std::move(*l);
    }
    ~Fixture() { std::filesystem::remove_all(dir); }

    std::string queue_message(const std::string& sender, const std::string& ret = "") {
        queue::WriterOptions opts;
        opts.queue = "active";
        auto w = queue::QueueWriter::create(config.layout, opts);
        REQUIRE(w);
        REQUIRE(w->set_arrival_time(1795500000, 7));
        REQUIRE(w->set_sender(sender));
        if (!ret.empty()) REQUIRE(w->set_dsn_ret(ret));
        REQUIRE(w->set_dsn_envid("ENV1"));
        REQUIRE(w->add_recipient({"bob@gone.test", "bob", "rfc822;bob@gone.test", ""}));
        REQUIRE(w->begin_content());
        REQUIRE(w->add_line("Subject: returned"));
        REQUIRE(w->add_line(""));
        REQUIRE(w->add_line("the body"));
        REQUIRE(w->begin_extracted());
        std::string id = w->queue_id();
        REQUIRE(w->commit());
        return id;
    }

    BounceRequest append_request(const std::string& id, const std::string& rcpt, const std::string& notify = "",
                                 const std::string& status = "5.0.0") {
        BounceRequest r;
        r.request = "append";
        r.queue_id = id;
        r.rcpt.recipient = rcpt;
        r.rcpt.notify = notify;
        r.rcpt.status = status;
        r.rcpt.action = status[0] == '5' ? "failed" : "delayed";
        r.rcpt.reason = "mail for gone.test is not deliverable";
        r.rcpt.dsn_orcpt = "rfc822;" + rcpt;
        return r;
    }
    BounceRequest flush_request(const std::string& id, const std::string& request = "flush") {
        BounceRequest r;
        r.request = request;
        r.queue_name = "active";
        r.queue_id = id;
        return r;
    }
    bool has_log(const std::string& queue, const std::string& id) {
        return std::filesystem::exists(config.layout.file_path(queue, id));
    }

    std::string dir;
    BounceConfig config;
    util::UniqueFd listener;
};

}  // namespace

TEST_CASE("flush sends the sender a non-delivery notice from <> and removes the logfile", "[unit]") {
    Fixture f;
    LogCapture cap;
    std::string id = f.queue_message("alice@example.test", "HDRS");
    BounceService svc(f.config, "bounce");
    CHECK(svc.handle(f.append_request(id, "bob@gone.test")).status == 0);
    CHECK(svc.handle(f.append_request(id, "quiet@gone.test", "NEVER")).status == 0);
    CHECK(f.has_log("bounce", id));
    auto logged = read_log(f.config.layout, "bounce", id);
    REQUIRE(logged);
    CHECK(logged->recipients.size() == 2);

    Received got;
    std::thread server(fake_cleanup, f.listener.get(), submit::CleanupStatus::kOk, &got, 5000);
    auto reply = svc.handle(f.flush_request(id));
    server.join();
    CHECK(reply.status == 0);
    CHECK(got.replied);
    CHECK(got.sender == "");
    CHECK(got.recipients == std::vector<std::string>{"alice@example.test"});
    CHECK_FALSE(f.has_log("bounce", id));
    CHECK(cap.has(id + ": sender non-delivery notification: 5B3D2E1A08"));

    auto msg = testing::parse_mime(got.content);
    REQUIRE(msg.error == "");
    CHECK(msg.header("Message-ID").find(".5B3D2E1A08@mx.example.test>") != std::string::npos);
    REQUIRE(msg.parts.size() == 3);
    auto groups = testing::parse_fields(msg.parts[1].body);
    REQUIRE(groups.size() == 2);  // NOTIFY=NEVER left quiet@ out
    CHECK(groups[0]["original-envelope-id"] == "ENV1");
    CHECK(groups[1]["final-recipient"] == "rfc822; bob@gone.test");
    CHECK(msg.parts[2].content_type() == "text/rfc822-headers");
    CHECK(msg.parts[2].body.find("Subject: returned") != std::string::npos);
    CHECK(msg.parts[2].body.find("the body") == std::string::npos);
}

TEST_CASE("a bounced bounce goes to the postmaster, and a bounced postmaster notice is dropped", "[unit]") {
    Fixture f;
    LogCapture cap;
    BounceService svc(f.config, "bounce");

    std::string id = f.queue_message("");
    REQUIRE(svc.handle(f.append_request(id, "alice@gone.test")).status == 0);
    Received got;
    std::thread server(fake_cleanup, f.listener.get(), submit::CleanupStatus::kOk, &got, 5000);
    CHECK(svc.handle(f.flush_request(id)).status == 0);
    server.join();
    CHECK(got.sender == "double-bounce");
    CHECK(got.recipients == std::vector<std::string>{"postmaster"});
    CHECK(testing::parse_mime(got.content).header("Subject") == "Postmaster Copy: Undelivered Mail");
    CHECK(cap.has(id + ": postmaster non-delivery notification: 5B3D2E1A08"));

    std::string id2 = f.queue_message("double-bounce@mx.example.test");
    REQUIRE(svc.handle(f.append_request(id2, "postmaster@gone.test")).status == 0);
    Received none;
    std::thread idle(fake_cleanup, f.listener.get(), submit::CleanupStatus::kOk, &none, 300);
    CHECK(svc.handle(f.flush_request(id2)).status == 0);
    idle.join();
    CHECK_FALSE(none.connected);
    CHECK_FALSE(f.has_log("bounce", id2));
    CHECK(cap.has(id2 + ": undeliverable postmaster notification discarded"));
}

TEST_CASE("NOTIFY=NEVER for every recipient sends nothing", "[unit]") {
    Fixture f;
    BounceService svc(f.config, "bounce");
    std::string id = f.queue_message("alice@example.test");
    REQUIRE(svc.handle(f.append_request(id, "bob@gone.test", "NEVER")).status == 0);
    Received none;
    std::thread idle(fake_cleanup, f.listener.get(), submit::CleanupStatus::kOk, &none, 300);
    CHECK(svc.handle(f.flush_request(id)).status == 0);
    idle.join();
    CHECK_FALSE(none.connected);
    CHECK_FALSE(f.has_log("bounce", id));
}

TEST_CASE("a failed submission keeps the logfile for the next attempt", "[unit]") {
    Fixture f;
    BounceService svc(f.config, "bounce");
    std::string id = f.queue_message("alice@example.test");
    REQUIRE(svc.handle(f.append_request(id, "bob@gone.test")).status == 0);
    Received got;
    std::thread server(fake_cleanup, f.listener.get(), submit::CleanupStatus::kWrite, &got, 5000);
    auto reply = svc.handle(f.flush_request(id));
    server.join();
    CHECK(got.connected);
    CHECK(reply.status != 0);
    CHECK(f.has_log("bounce", id));
    // A bad queue ID is refused without touching anything.
    CHECK(svc.handle(f.flush_request("../../etc")).status != 0);
}

TEST_CASE("defer warn sends a delay notice and keeps the logfile, trace flush a success notice", "[unit]") {
    Fixture f;
    LogCapture cap;
    std::string id = f.queue_message("alice@example.test");
    BounceService defer(f.config, "defer");
    CHECK(defer.log_queue() == "defer");
    REQUIRE(defer.handle(f.append_request(id, "bob@later.test", "", "4.3.2")).status == 0);
    Received got;
    std::thread server(fake_cleanup, f.listener.get(), submit::CleanupStatus::kOk, &got, 5000);
    CHECK(defer.handle(f.flush_request(id, "warn")).status == 0);
    server.join();
    CHECK(got.sender == "");
    auto msg = testing::parse_mime(got.content);
    CHECK(msg.header("Subject") == "Delayed Mail (still being retried)");
    CHECK(testing::parse_fields(msg.parts[1].body)[1]["action"] == "delayed");
    CHECK(f.has_log("defer", id));
    CHECK(cap.has(id + ": sender delay notification: 5B3D2E1A08"));

    BounceService trace(f.config, "trace");
    auto ok = f.append_request(id, "carol@x.test", "SUCCESS", "2.0.0");
    ok.rcpt.action = "delivered";
    REQUIRE(trace.handle(ok).status == 0);
    Received got2;
    std::thread server2(fake_cleanup, f.listener.get(), submit::CleanupStatus::kOk, &got2, 5000);
    CHECK(trace.handle(f.flush_request(id)).status == 0);
    server2.join();
    CHECK(testing::parse_mime(got2.content).header("Subject") == "Successful Mail Delivery Report");
    CHECK_FALSE(f.has_log("trace", id));
    CHECK(cap.has(id + ": sender delivery status notification: 5B3D2E1A08"));
}

TEST_CASE("the client talks to the service over its socket", "[unit]") {
    Fixture f;
    auto l = ipc::listen_unix(f.dir + "/private/bounce");
    REQUIRE(l);
    BounceService svc(f.config, "bounce");
    std::string id = f.queue_message("alice@example.test");
    std::thread server([&] {
        auto conn = ipc::accept_unix(l->get(), 5000);
        if (conn) (void)serve_bounce(conn->get(), 5000, svc);
    });
    BounceRecipient r{"bob@gone.test", "", "", "", "5.0.0", "failed", "gone", 0};
    auto st = bounce_append(f.dir, "bounce", id, r, 5000);
    server.join();
    CHECK(st);
    auto logged = read_log(f.config.layout, "bounce", id);
    REQUIRE(logged);
    REQUIRE(logged->recipients.size() == 1);
    CHECK(logged->recipients[0] == r);
    // Nobody listening: a temporary error.
    auto down = bounce_append(f.dir, "defer", id, r, 500);
    REQUIRE_FALSE(down);
    CHECK(down.error().temporary());
}

TEST_CASE("the bounce parameters have Postfix's defaults", "[unit]") {
    auto cfg = config::Config::from_text("queue_directory = /q\nmyhostname = mx.example.test\n", "/etc/mailroom");
    REQUIRE(cfg);
    auto bc = load_bounce_config(*cfg);
    REQUIRE(bc);
    CHECK(bc->layout.queue_directory == "/q");
    CHECK(bc->myhostname == "mx.example.test");
    CHECK(bc->myorigin == "mx.example.test");
    CHECK(bc->bounce_size_limit == 50000);
    CHECK(bc->notice_recipient == "postmaster");
    CHECK(bc->double_bounce_sender == "double-bounce");
    CHECK(bc->maximal_queue_lifetime == 5 * 86400);
    CHECK(cfg->get_time("bounce_queue_lifetime").value() == 5 * 86400);
    CHECK(cfg->get_time("delay_warning_time").value() == 0);

    auto set = config::Config::from_text(
        "queue_directory = /q\nmyhostname = h.test\nbounce_size_limit = 1000\n2bounce_notice_recipient =\n"
        "maximal_queue_lifetime = 2h\n",
        "/etc/mailroom");
    REQUIRE(set);
    auto bs = load_bounce_config(*set);
    REQUIRE(bs);
    CHECK(bs->bounce_size_limit == 1000);
    CHECK(bs->notice_recipient.empty());
    CHECK(bs->maximal_queue_lifetime == 7200);
}
