// queue_file_error_test.cc - queue file errors carry their cause as codes:
// the errno of a failed system call, ErrorCode::kCorruptFile for a file
// that fails its checks, whatever the message says.
#include <cerrno>
#include <catch2/catch.hpp>
#include <string>

#include "lib/queue/queue_file.h"
#include "lib/util/fs.h"
#include "queue_test_util.h"

using namespace mailroom;
using namespace mailroom::queue;
using mailroom::queue::testing::TempQueue;

TEST_CASE("a missing queue file is ENOENT and permanent, not corruption", "[unit]") {
    TempQueue q;
    auto f = QueueFile::open(q.layout.file_path(kQueueActive, "00000ABCDE"), false);
    REQUIRE_FALSE(f.ok());
    CHECK(f.error().sys_errno == ENOENT);
    CHECK_FALSE(f.error().temporary());
    CHECK_FALSE(is_corruption(f.error()));
}

TEST_CASE("a damaged queue file is reported with the corruption code", "[unit]") {
    TempQueue q;
    std::string path = q.layout.file_path(kQueueIncoming, "00000ABCDE");
    REQUIRE(util::write_file_atomic(path, "garbage that is no record", 0600));
    auto f = QueueFile::open(path, false);
    REQUIRE(f.ok());
    auto env = f->read();
    REQUIRE_FALSE(env.ok());
    CHECK(env.error().is(ErrorCode::kCorruptFile));
    CHECK(is_corruption(env.error()));
    CHECK(env.error().sys_errno == 0);
}

TEST_CASE("corruption is the code, not the wording", "[unit]") {
    // A sink that fails with text that looks like corruption stops the read
    // with that error; it is not taken for a corrupt file.
    TempQueue q;
    WriterOptions o;
    auto w = QueueWriter::create(q.layout, o);
    REQUIRE(w.ok());
    REQUIRE(w->set_arrival_time(1795500000, 0));
    REQUIRE(w->set_sender("a@example.com"));
    REQUIRE(w->add_recipient({"b@example.com"}));
    REQUIRE(w->begin_content());
    REQUIRE(w->add_line("Subject: x"));
    REQUIRE(w->begin_extracted());
    auto path = w->commit();
    REQUIRE(path.ok());
    auto f = QueueFile::open(*path, false);
    REQUIRE(f.ok());
    auto env = f->read([](std::string_view, bool) -> Status { return make_error("corrupt queue file: not really"); });
    REQUIRE_FALSE(env.ok());
    CHECK(env.error().message == "corrupt queue file: not really");
    CHECK_FALSE(is_corruption(env.error()));
    CHECK(is_corruption(make_coded_error(ErrorCode::kCorruptFile, "any words")));
}
