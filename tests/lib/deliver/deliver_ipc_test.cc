// deliver_ipc_test.cc - both ends of one delivery conversation over a real
// UNIX socket: qmgr's request_delivery() against serve_delivery(), the
// delivery log lines of serve_logged_delivery(), and the failures qmgr
// must treat as temporary.
#include <catch2/catch.hpp>

#include <optional>
#include <string>
#include <vector>

#include "lib/deliver/deliver_ipc.h"
#include "lib/ipc/ipc_socket.h"
#include "lib/ipc/protocol.h"
#include "lib/log/log.h"
#include "tests/support/fake_service.h"

using namespace mailroom;
using deliver::DeliveryReply;
using deliver::DeliveryRequest;
using deliver::DeliveryStatus;

namespace {

DeliveryRequest request_for(const std::string& transport) {
    DeliveryRequest r;
    r.queue_name = "active";
    r.queue_id = "3C1F0A2B9E";
    r.sender = "alice@example.com";
    r.transport = transport;
    r.nexthop = "example.org";
    r.arrival_time = 1795500000;
    r.recipients.push_back({"bob@example.org", "", "", "", 100});
    r.recipients.push_back({"carol@example.org", "carol", "", "", 200});
    return r;
}

// Every recipient sent, with `reason`.
DeliveryReply all_sent(const DeliveryRequest& req, const std::string& reason) {
    DeliveryReply reply;
    for (std::size_t i = 0; i < req.recipients.size(); ++i)
        reply.results.push_back({DeliveryStatus::kSent, "2.0.0", "none", reason});
    return reply;
}

}  // namespace

TEST_CASE("request_delivery and serve_delivery carry the request and one result per recipient", "[unit]") {
    testing::TempQueue tq;
    const std::string dir = tq.layout.queue_directory;
    testing::FakeService agent(dir, ipc::ServiceClass::kPrivate, "relay");
    std::optional<DeliveryRequest> seen;
    Status served = ok_status();
    agent.serve([&](ipc::IpcStream& s) {
        served = deliver::serve_delivery(s.fd(), 5000, [&](const DeliveryRequest& req) {
            seen = req;
            DeliveryReply reply;
            reply.results.push_back({DeliveryStatus::kSent, "2.0.0", "mx.example.org[192.0.2.1]:25", "250 Ok"});
            reply.results.push_back({DeliveryStatus::kDeferred, "4.2.2", "none", "mailbox full"});
            return reply;
        });
    });
    deliver::DeliveryTimings timings;
    auto reply = deliver::request_delivery(dir, request_for("relay"), 5000, &timings);
    agent.join();
    CHECK(served);
    REQUIRE(reply);
    REQUIRE(reply->results.size() == 2);
    CHECK(reply->results[0].status == DeliveryStatus::kSent);
    CHECK(reply->results[0].relay == "mx.example.org[192.0.2.1]:25");
    CHECK(reply->results[1].status == DeliveryStatus::kDeferred);
    CHECK(reply->results[1].reason == "mailbox full");
    REQUIRE(seen);
    CHECK(seen->queue_id == "3C1F0A2B9E");
    CHECK(seen->transport == "relay");
    REQUIRE(seen->recipients.size() == 2);
    CHECK(seen->recipients[1].orig_recipient == "carol");
    CHECK(seen->recipients[1].offset == 200);
    CHECK(timings.connect_seconds >= 0);
    CHECK(timings.transfer_seconds >= 0);
}

TEST_CASE("serve_logged_delivery logs Postfix's line for each recipient", "[unit]") {
    testing::TempQueue tq;
    const std::string dir = tq.layout.queue_directory;
    testing::FakeService agent(dir, ipc::ServiceClass::kPrivate, "discard");
    std::vector<std::string> lines;
    log::set_capture(
        [&](log::Level level, const std::string& text) { lines.push_back(log::level_prefix(level) + text); });
    agent.serve([&](ipc::IpcStream& s) {
        (void)deliver::serve_logged_delivery(s.fd(), 5000, [](const DeliveryRequest& req) {
            DeliveryReply reply;
            for (std::size_t i = 0; i < req.recipients.size(); ++i)
                reply.results.push_back({DeliveryStatus::kSent, "2.0.0", "none", "discarded"});
            return reply;
        });
    });
    auto reply = deliver::request_delivery(dir, request_for("discard"), 5000);
    agent.join();
    log::set_capture(nullptr);
    REQUIRE(reply);
    REQUIRE(lines.size() == 2);
    CHECK(lines[0].rfind("3C1F0A2B9E: to=<bob@example.org>, relay=none, delay=", 0) == 0);
    CHECK(lines[0].find(", dsn=2.0.0, status=sent (discarded)") != std::string::npos);
    CHECK(lines[1].rfind("3C1F0A2B9E: to=<carol@example.org>, orig_to=<carol>, relay=none, ", 0) == 0);
}

TEST_CASE("request_delivery failures are temporary", "[unit]") {
    testing::TempQueue tq;
    const std::string dir = tq.layout.queue_directory;
    auto req = request_for("local");

    SECTION("no agent listening") {
        auto reply = deliver::request_delivery(dir, req, 1000);
        REQUIRE_FALSE(reply);
        CHECK(reply.error().temporary());
    }
    SECTION("the agent hangs up after reading the request") {
        testing::FakeService agent(dir, ipc::ServiceClass::kPrivate, "local");
        agent.serve([](ipc::IpcStream& s) {
            if (s.announce(ipc::kDeliverProtocol, ipc::kProtocolVersion)) (void)s.receive();
        });
        auto reply = deliver::request_delivery(dir, req, 5000);
        agent.join();
        REQUIRE_FALSE(reply);
        CHECK(reply.error().temporary());
    }
    SECTION("the agent speaks another protocol") {
        testing::FakeService agent(dir, ipc::ServiceClass::kPrivate, "local");
        agent.serve([](ipc::IpcStream& s) { (void)s.announce(ipc::kBounceProtocol, ipc::kProtocolVersion); });
        auto reply = deliver::request_delivery(dir, req, 5000);
        agent.join();
        REQUIRE_FALSE(reply);
        CHECK(reply.error().temporary());
    }
    SECTION("a reply with too few results is refused") {
        testing::FakeService agent(dir, ipc::ServiceClass::kPrivate, "local");
        agent.serve([](ipc::IpcStream& s) {
            (void)deliver::serve_delivery(s.fd(), 5000, [](const DeliveryRequest&) {
                DeliveryReply short_reply;
                short_reply.results.push_back({DeliveryStatus::kSent, "2.0.0", "none", "delivered"});
                return short_reply;
            });
        });
        auto reply = deliver::request_delivery(dir, req, 5000);
        agent.join();
        CHECK_FALSE(reply);
    }
}

TEST_CASE("serve_delivery with reuse serves several requests on one connection, up to its budget", "[unit]") {
    testing::TempQueue tq;
    const std::string dir = tq.layout.queue_directory;
    testing::FakeService agent(dir, ipc::ServiceClass::kPrivate, "relay");
    int handled = 0;
    int budget = 2;
    Status served = ok_status();
    agent.serve([&](ipc::IpcStream& s) {
        deliver::ConnectionReuse reuse{5000, [&] { return --budget > 0; }};
        served = deliver::serve_delivery(
            s.fd(), 5000,
            [&](const DeliveryRequest& req) { return all_sent(req, "ok " + std::to_string(++handled)); },
            &reuse);
    });
    auto fd = ipc::connect_service(dir, ipc::ServiceClass::kPrivate, "relay", 5000);
    REQUIRE(fd);
    ipc::IpcStream client(std::move(*fd), 5000);
    REQUIRE(client.expect_announcement(ipc::kDeliverProtocol, ipc::kProtocolVersion));
    // The first reply offers more; the second, at the budget, does not.
    for (int round = 1; round <= 2; ++round) {
        REQUIRE(client.send(deliver::encode_request(request_for("relay"))));
        auto record = client.receive();
        REQUIRE(record);
        auto reply = deliver::decode_reply(*record, 2);
        REQUIRE(reply);
        CHECK(reply->results[1].reason == "ok " + std::to_string(round));
        CHECK(reply->more == (round == 1));
    }
    agent.join();
    CHECK(served);
    CHECK(handled == 2);
}

TEST_CASE("serve_delivery with reuse ends quietly when the client hangs up between requests", "[unit]") {
    testing::TempQueue tq;
    const std::string dir = tq.layout.queue_directory;
    testing::FakeService agent(dir, ipc::ServiceClass::kPrivate, "relay");
    int handled = 0;
    Status served = make_error("not run");
    agent.serve([&](ipc::IpcStream& s) {
        deliver::ConnectionReuse reuse{5000, [] { return true; }};
        served = deliver::serve_delivery(
            s.fd(), 5000,
            [&](const DeliveryRequest& req) {
                ++handled;
                return all_sent(req, "ok");
            },
            &reuse);
    });
    auto reply = deliver::request_delivery(dir, request_for("relay"), 5000);  // closes after one reply
    agent.join();
    REQUIRE(reply);
    CHECK(reply->more);
    CHECK(served);
    CHECK(handled == 1);
}
