// pickup_core_test.cc - pickup against an in-process fake cleanup server
// (pickup_core.h): what it sends, and that the maildrop file goes away
// only after cleanup accepted the message.
#include <stdlib.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <thread>

#include "lib/ipc/ipc_socket.h"
#include "lib/ipc/protocol.h"
#include "lib/queue/queue_file.h"
#include "lib/queue/record.h"
#include "lib/submit/cleanup_proto.h"
#include "pickup/pickup_core.h"

using namespace mailroom;
using queue::RecordType;

namespace {

struct Received {
    std::vector<std::pair<RecordType, std::string>> records;
    bool replied = false;
};

// Serves one cleanup conversation and answers with `status`. Runs on its
// own thread, so it records what happened instead of asserting.
void fake_cleanup(int listen_fd, submit::CleanupStatus status, Received* out) {
    auto conn = ipc::accept_unix(listen_fd, 5000);
    if (!conn) return;
    ipc::IpcStream stream(std::move(*conn), 5000);
    if (!stream.announce(ipc::kCleanupProtocol, ipc::kProtocolVersion)) return;
    auto req = stream.receive();
    if (!req) return;
    ipc::AttrList id;
    id.add("queue_id", "FAKE0000001");
    if (!stream.send(id)) return;
    std::string buf;
    char tmp[4096];
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
            auto step = queue::decode_record(std::string_view(buf).substr(used), &rec, &error);
            if (step != queue::DecodeStep::kRecord) break;
            used += rec.length;
            out->records.emplace_back(rec.type, std::string(rec.payload));
            if (rec.type == RecordType::kEnd) done = true;
        }
        buf.erase(0, used);
    }
    auto text = submit::cleanup_status_text(status);
    ipc::AttrList reply;
    reply.add_int("status", static_cast<std::int64_t>(status)).add("dsn", text.dsn).add("reason", text.text);
    out->replied = stream.send(reply).ok();
}

struct Fixture {
    Fixture() {
        char tmpl[] = "/tmp/mr-pickup-test-XXXXXX";
        dir = ::mkdtemp(tmpl);
        config.layout.queue_directory = dir;
        config.timeout_ms = 5000;
        REQUIRE(queue::create_queue_directories(config.layout));
        auto l = ipc::listen_unix(dir + "/public/cleanup");
        REQUIRE(l);
        listener = std::move(*l);
    }
    ~Fixture() { std::filesystem::remove_all(dir); }

    std::string drop() {
        queue::WriterOptions opts;
        opts.queue = "maildrop";
        auto w = queue::QueueWriter::create(config.layout, opts);
        REQUIRE(w);
        REQUIRE(w->set_arrival_time(1795500000, 7));
        REQUIRE(w->set_sender("alice"));
        REQUIRE(w->add_recipient({"bob", "", "", "NEVER"}));
        REQUIRE(w->begin_content());
        REQUIRE(w->add_line("Subject: x"));
        REQUIRE(w->add_line(""));
        REQUIRE(w->add_piece(std::string(5000, 'z'), true));
        REQUIRE(w->begin_extracted());
        REQUIRE(w->add_recipient({"carol@x"}));
        std::string id = w->queue_id();
        REQUIRE(w->commit());
        return id;
    }
    bool in_maildrop(const std::string& id) const {
        return std::filesystem::exists(config.layout.file_path("maildrop", id));
    }

    std::string dir;
    pickup::PickupConfig config;
    util::UniqueFd listener;
};

}  // namespace

TEST_CASE("pickup sends the whole file and removes it once cleanup accepted it", "[unit]") {
    Fixture f;
    std::string id = f.drop();
    Received got;
    std::thread server(fake_cleanup, f.listener.get(), submit::CleanupStatus::kOk, &got);
    auto outcome = pickup::pickup_file(f.config, id);
    server.join();
    CHECK(got.replied);
    CHECK(outcome == pickup::PickupOutcome::kDone);
    CHECK_FALSE(f.in_maildrop(id));

    std::vector<RecordType> types;
    for (const auto& r : got.records) types.push_back(r.first);
    std::vector<RecordType> want = {RecordType::kArrivalTime, RecordType::kSender,    RecordType::kDsnNotify,
                                    RecordType::kRecipient,   RecordType::kContentStart, RecordType::kNormal,
                                    RecordType::kNormal,      RecordType::kContinued, RecordType::kNormal,
                                    RecordType::kExtractedStart, RecordType::kRecipient, RecordType::kEnd};
    CHECK(types == want);
    CHECK(got.records[0].second == "1795500000.000007");
    CHECK(got.records[1].second == "alice");
    CHECK(got.records[2].second == "NEVER");
    CHECK(got.records[3].second == "Pbob");
    CHECK(got.records[7].second.size() + got.records[8].second.size() == 5000);
    CHECK(got.records[10].second == "Pcarol@x");
}

TEST_CASE("pickup drops filter, redirect and hold of a maildrop file and sends content_filter", "[unit]") {
    Fixture f;
    f.config.content_filter = "scan:[127.0.0.1]:10025";
    queue::WriterOptions opts;
    opts.queue = "maildrop";
    auto w = queue::QueueWriter::create(f.config.layout, opts);
    REQUIRE(w);
    REQUIRE(w->set_arrival_time(1795500000, 7));
    REQUIRE(w->set_sender("alice"));
    REQUIRE(w->add_attribute(queue::kAttrFilter, "evil:[192.0.2.1]"));
    REQUIRE(w->add_attribute(queue::kAttrRedirect, "thief@example.net"));
    REQUIRE(w->add_attribute(queue::kAttrHold, ""));
    REQUIRE(w->add_recipient({"bob"}));
    REQUIRE(w->begin_content());
    REQUIRE(w->begin_extracted());
    std::string id = w->queue_id();
    REQUIRE(w->commit());
    Received got;
    std::thread server(fake_cleanup, f.listener.get(), submit::CleanupStatus::kOk, &got);
    CHECK(pickup::pickup_file(f.config, id) == pickup::PickupOutcome::kDone);
    server.join();
    std::vector<std::string> attrs;
    for (const auto& [type, payload] : got.records)
        if (type == RecordType::kAttribute) attrs.push_back(payload);
    CHECK(attrs == std::vector<std::string>{"filter=scan:[127.0.0.1]:10025"});
}

TEST_CASE("pickup keeps the file when cleanup fails temporarily", "[unit]") {
    Fixture f;
    std::string id = f.drop();
    Received got;
    std::thread server(fake_cleanup, f.listener.get(), submit::CleanupStatus::kWrite, &got);
    auto outcome = pickup::pickup_file(f.config, id);
    server.join();
    CHECK(outcome == pickup::PickupOutcome::kRetry);
    CHECK(f.in_maildrop(id));
}

TEST_CASE("pickup removes a message cleanup rejects for good", "[unit]") {
    Fixture f;
    std::string id = f.drop();
    Received got;
    std::thread server(fake_cleanup, f.listener.get(), submit::CleanupStatus::kSize, &got);
    auto outcome = pickup::pickup_file(f.config, id);
    server.join();
    CHECK(outcome == pickup::PickupOutcome::kRemoved);
    CHECK_FALSE(f.in_maildrop(id));
}

TEST_CASE("pickup leaves maildrop alone when cleanup is not running", "[unit]") {
    Fixture f;
    std::string id = f.drop();
    f.listener.reset();
    std::filesystem::remove(f.dir + "/public/cleanup");
    CHECK(pickup::pickup_scan(f.config) == 0);
    CHECK(f.in_maildrop(id));
}

TEST_CASE("a corrupt maildrop file goes to corrupt", "[unit]") {
    Fixture f;
    std::string id = f.drop();
    std::filesystem::resize_file(f.config.layout.file_path("maildrop", id), 30);
    CHECK(pickup::pickup_file(f.config, id) == pickup::PickupOutcome::kRemoved);
    CHECK(std::filesystem::exists(f.config.layout.file_path("corrupt", id)));
}
