// cleanup_session_loop_test.cc - cleanup's server side of the protocol on a
// loop, driven by smtpd's client (submit::AsyncCleanupClient) over a
// socketpair: a message is committed into incoming/ before status 0, a
// client that hangs up leaves no file, a malformed stream is refused.
#include "cleanup/cleanup_session.h"

#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>

#include "lib/queue/queue_dirs.h"
#include "lib/queue/queue_file.h"
#include "lib/queue/record.h"
#include "lib/submit/cleanup_async.h"
#include "lib/table/table.h"
#include "tests/lib/queue/queue_test_util.h"
#include "tests/support/loop_util.h"

#include <mutex>
#include <set>
#include <thread>

using namespace mailroom;
using mailroom::testing::run_until;
using namespace std::chrono_literals;
using queue::RecordType;

namespace {

struct Fixture {
    std::string root;
    cleanup::CleanupConfig config;
    event::Loop loop;
    std::unique_ptr<submit::AsyncCleanupClient> client;
    util::UniqueFd client_fd;

    explicit Fixture(const std::string& extra_main_cf = "") {
        char tmpl[] = "/tmp/mr-cleanup-session-XXXXXX";
        REQUIRE(::mkdtemp(tmpl));
        root = tmpl;
        queue::QueueLayout layout;
        layout.queue_directory = root + "/queue";
        REQUIRE(queue::create_queue_directories(layout));
        auto cfg = config::Config::from_text("queue_directory = " + layout.queue_directory +
                                                 "\nmyhostname = mx.example.test\nmydomain = example.test\n" + extra_main_cf,
                                             "/nonexistent");
        REQUIRE(cfg);
        auto c = cleanup::load_cleanup_config(*cfg);
        REQUIRE(c);
        config = std::move(*c);
        int fds[2];
        REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds) == 0);
        cleanup::start_session(loop, config, server::Connection(util::UniqueFd(fds[0]), nullptr));
        client_fd.reset(fds[1]);
    }
    ~Fixture() {
        client.reset();
        cleanup::shutdown_sessions();
        std::filesystem::remove_all(root);
    }
    // A small message from alice to bob with one header; true when cleanup
    // answered status 0.
    bool send_message(const std::string& header) {
        for (auto [type, payload] : std::vector<std::pair<RecordType, std::string>>{
                 {RecordType::kArrivalTime, "1700000000.000001"},
                 {RecordType::kSender, "alice@example.org"},
                 {RecordType::kRecipient, std::string(1, queue::kRcptPending) + "bob@example.org"},
                 {RecordType::kContentStart, ""},
                 {RecordType::kNormal, header},
                 {RecordType::kNormal, ""},
                 {RecordType::kNormal, "body"},
                 {RecordType::kExtractedStart, ""},
                 {RecordType::kEnd, ""}})
            REQUIRE(client->send(type, payload));
        std::optional<Result<submit::CleanupResult>> result;
        client->finish([&](Result<submit::CleanupResult> r) { result = std::move(r); });
        REQUIRE(run_until(loop, [&] { return result.has_value(); }));
        REQUIRE(*result);
        return (*result)->ok();
    }
    std::string incoming() const { return config.params.layout.queue_directory + "/incoming"; }

    void open() {
        bool failed = false;
        submit::AsyncCleanupClient::start(loop, std::move(client_fd), 0, 5000, [&](auto c) {
            if (c) client = std::move(*c);
            else failed = true;
        });
        REQUIRE(run_until(loop, [&] { return client != nullptr || failed; }));
        REQUIRE(client);
    }
};

}  // namespace

TEST_CASE("cleanup session commits the message before it answers status 0", "[unit]") {
    Fixture f;
    f.open();
    REQUIRE(f.client->queue_id().size() >= 6);
    CHECK(f.send_message("Subject: hello"));
    CHECK(std::filesystem::exists(f.incoming() + "/" + f.client->queue_id()));
}

TEST_CASE("cleanup session removes the file of a client that hangs up", "[unit]") {
    Fixture f;
    f.open();
    REQUIRE(f.client->send(RecordType::kSender, "alice@example.org"));
    REQUIRE(queue::testing::count_entries(f.incoming()) == 1);  // the temporary file
    f.client.reset();                      // gone without the end record
    REQUIRE(run_until(f.loop, [&] { return queue::testing::count_entries(f.incoming()) == 0; }));
}

TEST_CASE("cleanup session refuses a malformed record stream", "[unit]") {
    Fixture f;
    f.open();
    // A content record before the sender: cleanup answers and ends.
    REQUIRE(f.client->send(RecordType::kNormal, "no envelope"));
    REQUIRE(f.client->send(RecordType::kEnd, ""));
    std::optional<Result<submit::CleanupResult>> result;
    f.client->finish([&](Result<submit::CleanupResult> r) { result = std::move(r); });
    REQUIRE(run_until(f.loop, [&] { return result.has_value(); }));
    REQUIRE(*result);
    CHECK_FALSE((*result)->ok());
    CHECK(queue::testing::count_entries(f.incoming()) == 0);
}

namespace {

// canonical_maps of a type that may block: records the threads it ran on.
class ThreadTable : public table::Table {
public:
    ThreadTable() : table::Table("cleanupthread", "x") {}
    table::LookupResult lookup(std::string_view key) override {
        std::lock_guard<std::mutex> lock(mu);
        threads.insert(std::this_thread::get_id());
        if (key == "alice@example.org") return std::optional<std::string>("alice.smith@example.org");
        return std::optional<std::string>();
    }
    bool may_block() const override { return true; }
    static inline std::mutex mu;
    static inline std::set<std::thread::id> threads;
};

}  // namespace

TEST_CASE("cleanup session looks up tables that may block off the loop", "[unit]") {
    table::register_table_type(
        "cleanupthread", [](const std::string&, const table::OpenOptions&) -> Result<table::TablePtr> {
            return table::TablePtr(std::make_unique<ThreadTable>());
        },
        true);
    Fixture f("canonical_maps = cleanupthread:x\n");
    REQUIRE(f.config.may_block);
    f.open();
    CHECK(f.send_message("From: alice@example.org"));
    std::string path = f.incoming() + "/" + f.client->queue_id();
    REQUIRE(std::filesystem::exists(path));
    auto file = queue::QueueFile::open(path, false);
    REQUIRE(file);
    auto env = file->read_envelope();
    REQUIRE(env);
    CHECK(env->sender == "alice.smith@example.org");  // canonical_maps answered from the worker
    std::lock_guard<std::mutex> lock(ThreadTable::mu);
    REQUIRE_FALSE(ThreadTable::threads.empty());
    CHECK_FALSE(ThreadTable::threads.count(std::this_thread::get_id()));  // never on the loop's thread
}

TEST_CASE("cleanup session goes off the loop when a domain list names a table that may block", "[unit]") {
    table::register_table_type(
        "cleanupthread", [](const std::string&, const table::OpenOptions&) -> Result<table::TablePtr> {
            return table::TablePtr(std::make_unique<ThreadTable>());
        },
        true);
    Fixture plain("mydestination = localhost\n");
    CHECK_FALSE(plain.config.may_block);
    Fixture f("mydestination = localhost, cleanupthread:x\n");
    CHECK(f.config.may_block);
}
