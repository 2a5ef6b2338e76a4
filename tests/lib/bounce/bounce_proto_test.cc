// bounce_proto_test.cc - the bounce request codec, the status logfile
// format and the client side of bounce_protocol against a fake service.
#include <catch2/catch.hpp>

#include <filesystem>
#include <optional>

#include "lib/bounce/bounce_log.h"
#include "lib/bounce/bounce_proto.h"
#include "lib/ipc/protocol.h"
#include "tests/support/fake_service.h"

using namespace mailroom;
using namespace mailroom::bounce;

TEST_CASE("logfile records round-trip and a torn last record is dropped", "[unit]") {
    BounceRecipient a{"bob@x.test", "bob", "rfc822;bob@x.test", "FAILURE", "5.1.1", "failed", "no such user", 42};
    BounceRecipient b{"carol@x.test", "", "", "", "4.3.2", "delayed", "try later", 77};
    auto ea = encode_log_record(a);
    auto eb = encode_log_record(b);
    REQUIRE(ea);
    REQUIRE(eb);
    auto both = decode_log(*ea + *eb);
    REQUIRE(both);
    CHECK(both->recipients == std::vector<BounceRecipient>{a, b});
    CHECK_FALSE(both->truncated);
    auto torn = decode_log(*ea + eb->substr(0, eb->size() / 2));
    REQUIRE(torn);
    CHECK(torn->recipients == std::vector<BounceRecipient>{a});
    CHECK(torn->truncated);
    CHECK_FALSE(decode_log("garbage\x01\x02"));
}

TEST_CASE("requests round-trip and bad ones are refused", "[unit]") {
    BounceRequest r;
    r.request = "append";
    r.queue_id = "4F2A9C1B07";
    r.rcpt = {"bob@x.test", "", "", "NEVER", "5.0.0", "failed", "gone", 3};
    auto back = decode_request(encode_request(r));
    REQUIRE(back);
    CHECK(back->rcpt == r.rcpt);
    CHECK(back->request == "append");
    ipc::AttrList bad;
    bad.add("request", "explode").add("queue_id", "4F2A9C1B07");
    CHECK_FALSE(decode_request(bad));
    ipc::AttrList no_queue;
    no_queue.add("request", "flush").add("queue_id", "4F2A9C1B07");
    CHECK_FALSE(decode_request(no_queue));
    CHECK(notify_wants("", "FAILURE"));
    CHECK(notify_wants("", "DELAY"));
    CHECK_FALSE(notify_wants("", "SUCCESS"));
    CHECK_FALSE(notify_wants("NEVER", "FAILURE"));
    CHECK(notify_wants("SUCCESS,FAILURE", "failure"));
}


TEST_CASE("a logfile record must name the recipient, status and action", "[unit]") {
    BounceRecipient r{"bob@x.test", "", "", "", "5.1.1", "failed", "no such user", 7};
    auto full = encode_recipient(r);
    REQUIRE(decode_recipient(full));
    for (std::string_view missing : {kAttrRecipient, kAttrStatus, kAttrAction}) {
        INFO(missing);
        ipc::AttrList cut;
        for (const auto& a : full.attrs())
            if (a.name != missing) cut.mutable_attrs().push_back(a);
        CHECK_FALSE(decode_recipient(cut));
    }
    ipc::AttrList extra = full;
    extra.add("colour", "blue");
    CHECK_FALSE(decode_recipient(extra));
    // Optional fields left empty are not sent at all.
    CHECK(full.find(kAttrOrigRcpt) == nullptr);
    CHECK(full.find(kAttrNotify) == nullptr);
}

TEST_CASE("notify_wants reads DSN NOTIFY lists as RFC 3461 does", "[unit]") {
    CHECK(notify_wants("  ", "failure"));
    CHECK(notify_wants("SUCCESS, DELAY", "delay"));
    CHECK_FALSE(notify_wants("SUCCESS", "FAILURE"));
    CHECK_FALSE(notify_wants("never", "SUCCESS"));
    CHECK(notify_wants("success", "SUCCESS"));
}

TEST_CASE("logfiles keep appended records in order and go away on remove", "[unit]") {
    testing::TempQueue tq(1);  // defer/ is a hashed queue
    const queue::QueueLayout& layout = tq.layout;
    const std::string id = "4F2A9C1B07";
    BounceRecipient a{"bob@x.test", "", "", "", "4.4.1", "delayed", "connection timed out", 10};
    BounceRecipient b{"carol@x.test", "carol", "rfc822;carol@x.test", "DELAY", "4.2.2", "delayed", "mailbox full", 20};

    auto none = read_log(layout, "defer", id);
    REQUIRE(none);
    CHECK(none->recipients.empty());
    REQUIRE(append_log(layout, "defer", id, a));
    REQUIRE(append_log(layout, "defer", id, b));
    CHECK(log_path(layout, "defer", id) == layout.file_path("defer", id));
    CHECK(std::filesystem::exists(log_path(layout, "defer", id)));
    auto both = read_log(layout, "defer", id);
    REQUIRE(both);
    CHECK(both->recipients == std::vector<BounceRecipient>{a, b});
    CHECK_FALSE(both->truncated);
    // Another service's logfile for the same message is separate.
    auto other = read_log(layout, "bounce", id);
    REQUIRE(other);
    CHECK(other->recipients.empty());

    REQUIRE(remove_log(layout, "defer", id));
    CHECK_FALSE(std::filesystem::exists(log_path(layout, "defer", id)));
    CHECK(remove_log(layout, "defer", id));  // already gone: fine
}

TEST_CASE("the bounce client sends one request and reads the status", "[unit]") {
    testing::TempQueue tq;
    const std::string dir = tq.layout.queue_directory;
    testing::FakeService bounce(dir, ipc::ServiceClass::kPrivate, kServiceBounce);
    testing::FakeService defer(dir, ipc::ServiceClass::kPrivate, kServiceDefer);
    BounceRecipient r{"bob@gone.test", "", "", "", "5.0.0", "failed", "gone", 42};

    // Reads one request, answers with `status`/`reason`, keeps the request.
    auto answer = [](std::optional<BounceRequest>* seen, std::int64_t status, std::string reason) {
        return [seen, status, reason](ipc::IpcStream& s) {
            if (!s.announce(ipc::kBounceProtocol, ipc::kProtocolVersion)) return;
            auto rec = s.receive();
            if (!rec) return;
            if (auto req = decode_request(*rec); req) *seen = *req;
            ipc::AttrList reply;
            reply.add_int(std::string(kAttrReplyStatus), status).add(std::string(kAttrReplyReason), reason);
            (void)s.send(reply);
        };
    };

    SECTION("append") {
        std::optional<BounceRequest> seen;
        bounce.serve(answer(&seen, 0, ""));
        auto st = bounce_append(dir, kServiceBounce, "4F2A9C1B07", r, 5000);
        bounce.join();
        CHECK(st);
        REQUIRE(seen);
        CHECK(seen->request == kRequestAppend);
        CHECK(seen->queue_id == "4F2A9C1B07");
        CHECK(seen->rcpt == r);
    }
    SECTION("flush names the queue the message is in") {
        std::optional<BounceRequest> seen;
        bounce.serve(answer(&seen, 0, ""));
        CHECK(bounce_flush(dir, kServiceBounce, "deferred", "4F2A9C1B07", 5000));
        bounce.join();
        REQUIRE(seen);
        CHECK(seen->request == kRequestFlush);
        CHECK(seen->queue_name == "deferred");
    }
    SECTION("warn goes to the defer service") {
        std::optional<BounceRequest> seen;
        defer.serve(answer(&seen, 0, ""));
        CHECK(defer_warn(dir, "active", "4F2A9C1B07", 5000));
        defer.join();
        REQUIRE(seen);
        CHECK(seen->request == kRequestWarn);
        CHECK(seen->queue_name == "active");
    }
    SECTION("a non-zero status is a temporary error with the service's reason") {
        std::optional<BounceRequest> seen;
        bounce.serve(answer(&seen, 1, "cannot append to logfile"));
        auto st = bounce_append(dir, kServiceBounce, "4F2A9C1B07", r, 5000);
        bounce.join();
        REQUIRE_FALSE(st);
        CHECK(st.error().temporary());
        CHECK(st.error().message == "bounce service failure: cannot append to logfile");
    }
    SECTION("a server speaking another protocol is a temporary error") {
        bounce.serve([](ipc::IpcStream& s) { (void)s.announce(ipc::kCleanupProtocol, ipc::kProtocolVersion); });
        auto st = bounce_append(dir, kServiceBounce, "4F2A9C1B07", r, 5000);
        bounce.join();
        REQUIRE_FALSE(st);
        CHECK(st.error().temporary());
    }
    SECTION("a server that hangs up before replying is a temporary error") {
        bounce.serve([](ipc::IpcStream& s) {
            if (s.announce(ipc::kBounceProtocol, ipc::kProtocolVersion)) (void)s.receive();
        });
        auto st = bounce_append(dir, kServiceBounce, "4F2A9C1B07", r, 5000);
        bounce.join();
        REQUIRE_FALSE(st);
        CHECK(st.error().temporary());
    }
}
