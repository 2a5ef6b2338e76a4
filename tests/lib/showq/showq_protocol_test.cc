// showq_protocol_test.cc - the listing over the showq protocol
// (showq_protocol.h): what the client receives is what the server renders,
// also across several data records, and a bad request is refused.
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <thread>

#include "lib/ipc/ipc_socket.h"
#include "lib/ipc/protocol.h"
#include "lib/queue/queue_file.h"
#include "lib/showq/queue_listing.h"
#include "lib/showq/showq_protocol.h"

using namespace mailroom;

namespace {

struct TempQueue {
    queue::QueueLayout layout;
    TempQueue() {
        char tmpl[] = "/tmp/mr-showq-test-XXXXXX";
        layout.queue_directory = ::mkdtemp(tmpl);
        REQUIRE(queue::create_queue_directories(layout));
    }
    ~TempQueue() { std::filesystem::remove_all(layout.queue_directory); }
};

void add_message(const queue::QueueLayout& layout, const std::string& sender, int recipients) {
    auto w = queue::QueueWriter::create(layout);
    REQUIRE(w);
    REQUIRE(w->set_arrival_time(1795500000, 0));
    REQUIRE(w->set_sender(sender));
    for (int i = 0; i < recipients; ++i) REQUIRE(w->add_recipient({"user" + std::to_string(i) + "@example.com"}));
    REQUIRE(w->begin_content());
    REQUIRE(w->add_line("Subject: hi"));
    REQUIRE(w->begin_extracted());
    REQUIRE(w->commit());
}

std::pair<ipc::IpcStream, ipc::IpcStream> stream_pair() {
    int fds[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds) == 0);
    return {ipc::IpcStream(util::UniqueFd(fds[0]), 5000), ipc::IpcStream(util::UniqueFd(fds[1]), 5000)};
}

// One request served on a thread, the client's answer returned.
Result<std::string> round_trip(const queue::QueueLayout& layout, showq::ListFormat format, Status* served) {
    auto [server, client] = stream_pair();
    std::thread t([&, s = std::move(server)]() mutable { *served = showq::serve_showq(s, layout); });
    auto out = showq::ask_showq(client, format);
    t.join();
    return out;
}

}  // namespace

TEST_CASE("showq sends the listing postqueue would print", "[unit]") {
    TempQueue q;
    add_message(q.layout, "alice@example.com", 2);
    add_message(q.layout, "", 1);
    for (auto format : {showq::ListFormat::kMailq, showq::ListFormat::kJson}) {
        Status served;
        auto text = round_trip(q.layout, format, &served);
        REQUIRE(text);
        CHECK(served);
        CHECK(*text == showq::render_listing(q.layout, format));
    }
    auto mailq = showq::render_listing(q.layout, showq::ListFormat::kMailq);
    CHECK(mailq.find("alice@example.com") != std::string::npos);
    CHECK(mailq.find("MAILER-DAEMON") != std::string::npos);
    CHECK(mailq.find("-- 1 Kbytes in 2 Requests.") != std::string::npos);
}

TEST_CASE("showq splits a long listing into records of at most kShowqChunk bytes", "[unit]") {
    TempQueue q;
    // Enough recipients for a listing over two chunks.
    add_message(q.layout, "bulk@example.com", static_cast<int>(showq::kShowqChunk / 40 * 2));
    std::string expected = showq::render_listing(q.layout, showq::ListFormat::kMailq);
    REQUIRE(expected.size() > 2 * showq::kShowqChunk);
    Status served;
    auto text = round_trip(q.layout, showq::ListFormat::kMailq, &served);
    REQUIRE(text);
    CHECK(served);
    CHECK(*text == expected);
}

TEST_CASE("showq refuses an unknown format", "[unit]") {
    TempQueue q;
    auto [server, client] = stream_pair();
    Status served;
    std::thread t([&, s = std::move(server)]() mutable { served = showq::serve_showq(s, q.layout); });
    REQUIRE(client.expect_announcement(ipc::kShowqProtocol, ipc::kProtocolVersion));
    ipc::AttrList request;
    request.add("format", "xml");
    REQUIRE(client.send(request));
    t.join();
    REQUIRE_FALSE(served);
    CHECK(served.error().message == "showq: unknown format: xml");
}

TEST_CASE("an empty queue reads as Postfix's empty listing", "[unit]") {
    TempQueue q;
    Status served;
    auto text = round_trip(q.layout, showq::ListFormat::kMailq, &served);
    REQUIRE(text);
    CHECK(*text == "Mail queue is empty\n");
}
