// recycle_test.cc - retiring finished queue files into recycle/ and reusing them.
#include "lib/queue/recycle.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "lib/queue/queue_file.h"
#include "lib/queue/queue_id.h"
#include "lib/util/fs.h"
#include "queue_test_util.h"

using namespace mailroom;
using namespace mailroom::queue;
using mailroom::queue::testing::count_entries;
using mailroom::queue::testing::read_back;
using mailroom::queue::testing::TempQueue;

namespace {

struct Written {
    std::string id;
    std::string path;
    ino_t inode = 0;
};

ino_t inode_of(const std::string& path) {
    struct stat st;
    REQUIRE(::stat(path.c_str(), &st) == 0);
    return st.st_ino;
}

off_t size_of(const std::string& path) {
    struct stat st;
    REQUIRE(::stat(path.c_str(), &st) == 0);
    return st.st_size;
}

// A message with `lines` body lines of `width` bytes each, committed.
Written write_message(const QueueLayout& layout, const std::string& rcpt, int lines, std::size_t width,
                      bool recycle = true) {
    WriterOptions options;
    options.recycle = recycle;
    auto w = QueueWriter::create(layout, options);
    REQUIRE(w);
    REQUIRE(w->set_arrival_time(1700000000, 1));
    REQUIRE(w->set_sender("alice@example.com"));
    REQUIRE(w->add_recipient({rcpt}));
    REQUIRE(w->begin_content());
    for (int i = 0; i < lines; ++i) REQUIRE(w->add_line(std::string(width, static_cast<char>('a' + i % 26))));
    auto path = w->commit();
    REQUIRE(path);
    return {w->queue_id(), *path, inode_of(*path)};
}

std::string recycle_path(const QueueLayout& layout) { return layout.queue_path(kRecycleDir); }

// Moves a committed incoming/ file to active/ and retires it as qmgr does.
Retired retire(const QueueLayout& layout, const Written& w, bool recycle = true) {
    REQUIRE(move_queue_file(layout, w.id, kQueueIncoming, kQueueActive, MoveSync::kNoSync));
    auto r = retire_queue_file(layout, kQueueActive, w.id, recycle);
    REQUIRE(r);
    return *r;
}

}  // namespace

TEST_CASE("create_queue_directories makes recycle/, which is not a queue", "[queue][recycle]") {
    TempQueue q;
    struct stat st;
    REQUIRE(::stat(recycle_path(q.layout).c_str(), &st) == 0);
    CHECK(S_ISDIR(st.st_mode));
    CHECK((st.st_mode & 0777) == 0700);
    CHECK_FALSE(is_queue_name(kRecycleDir));
}

TEST_CASE("a retired file is reused by the next writer, truncated to the new content", "[queue][recycle]") {
    reset_recycle_cache();
    TempQueue q;
    // A long message first, so that the next one is shorter than the file.
    Written first = write_message(q.layout, "bob@example.org", 200, 300, false);
    off_t first_size = size_of(first.path);
    CHECK(retire(q.layout, first) == Retired::kRecycled);
    CHECK_FALSE(util::path_exists(q.layout.file_path(kQueueActive, first.id)));
    CHECK(util::path_exists(recycle_path(q.layout) + "/" + first.id));

    Written second = write_message(q.layout, "carol@example.org", 3, 10);
    CHECK(second.inode == first.inode);
    CHECK(second.id != first.id);
    CHECK(count_entries(recycle_path(q.layout)) == 0);
    CHECK(size_of(second.path) < first_size);
    // Exactly the new records and nothing after the end marker.
    auto back = read_back(second.path);
    REQUIRE(back.env.recipients.size() == 1);
    CHECK(back.env.recipients[0].address == "carol@example.org");
    CHECK(back.lines == std::vector<std::string>{"aaaaaaaaaa", "bbbbbbbbbb", "cccccccccc"});
    struct stat st;
    REQUIRE(::stat(second.path.c_str(), &st) == 0);
    CHECK((st.st_mode & 07777) == 0600);
    CHECK(count_entries(q.layout.queue_path(kQueueIncoming)) == 1);  // no temporary file left
}

TEST_CASE("a reused file that grows keeps the new content whole", "[queue][recycle]") {
    reset_recycle_cache();
    TempQueue q;
    Written first = write_message(q.layout, "bob@example.org", 2, 10, false);
    CHECK(retire(q.layout, first) == Retired::kRecycled);
    Written second = write_message(q.layout, "carol@example.org", 100, 500);
    CHECK(second.inode == first.inode);
    auto back = read_back(second.path);
    CHECK(back.lines.size() == 100);
    CHECK(back.lines[99] == std::string(500, static_cast<char>('a' + 99 % 26)));
}

TEST_CASE("an unfit file in recycle/ is unlinked and a new file created", "[queue][recycle]") {
    reset_recycle_cache();
    TempQueue q;
    Written first = write_message(q.layout, "bob@example.org", 2, 10, false);
    CHECK(retire(q.layout, first) == Retired::kRecycled);
    std::string pooled = recycle_path(q.layout) + "/" + first.id;

    SECTION("a second link: the file is still in a queue") {
        std::string other = q.layout.file_path(kQueueDeferred, first.id);
        REQUIRE(::link(pooled.c_str(), other.c_str()) == 0);
        Written second = write_message(q.layout, "carol@example.org", 2, 10);
        CHECK(second.inode != first.inode);
        // The other name keeps the old content untouched.
        auto back = read_back(other);
        CHECK(back.env.recipients[0].address == "bob@example.org");
    }
    SECTION("not a regular file") {
        REQUIRE(::unlink(pooled.c_str()) == 0);
        REQUIRE(::mkfifo(pooled.c_str(), 0600) == 0);
        Written second = write_message(q.layout, "carol@example.org", 2, 10);
        struct stat st;
        REQUIRE(::lstat(second.path.c_str(), &st) == 0);
        CHECK(S_ISREG(st.st_mode));
        CHECK(read_back(second.path).env.recipients[0].address == "carol@example.org");
    }
    SECTION("a symbolic link") {
        REQUIRE(::unlink(pooled.c_str()) == 0);
        std::string target = recycle_path(q.layout) + "/../target";
        REQUIRE(util::write_file_atomic(target, "keep").ok());
        REQUIRE(::symlink(target.c_str(), pooled.c_str()) == 0);
        Written second = write_message(q.layout, "carol@example.org", 2, 10);
        auto kept = util::read_file(target);
        REQUIRE(kept);
        CHECK(*kept == "keep");
        CHECK(second.inode != inode_of(target));
    }
    SECTION("owned by another user") {
        if (::geteuid() != 0) {
            SUCCEED("not root: cannot give a file away");
            return;
        }
        REQUIRE(::chown(pooled.c_str(), 65534, 65534) == 0);
        Written second = write_message(q.layout, "carol@example.org", 2, 10);
        // (The inode number may come back: the refused file was unlinked.)
        struct stat st;
        REQUIRE(::stat(second.path.c_str(), &st) == 0);
        CHECK(st.st_uid == ::geteuid());
    }
    CHECK(count_entries(recycle_path(q.layout)) == 0);
    CHECK(count_entries(q.layout.queue_path(kQueueIncoming)) == 1);
}

TEST_CASE("a writer without the recycle option creates a new file", "[queue][recycle]") {
    reset_recycle_cache();
    TempQueue q;
    Written first = write_message(q.layout, "bob@example.org", 2, 10, false);
    CHECK(retire(q.layout, first) == Retired::kRecycled);
    Written second = write_message(q.layout, "carol@example.org", 2, 10, false);
    CHECK(second.inode != first.inode);
    CHECK(count_entries(recycle_path(q.layout)) == 1);
}

TEST_CASE("an aborted writer puts a recycled file back", "[queue][recycle]") {
    reset_recycle_cache();
    TempQueue q;
    Written first = write_message(q.layout, "bob@example.org", 2, 10, false);
    CHECK(retire(q.layout, first) == Retired::kRecycled);
    {
        WriterOptions options;
        options.recycle = true;
        auto w = QueueWriter::create(q.layout, options);
        REQUIRE(w);
        CHECK(count_entries(recycle_path(q.layout)) == 0);
        REQUIRE(w->set_sender("x@example.com"));
        w->abort();
    }
    CHECK(count_entries(recycle_path(q.layout)) == 1);
    CHECK(count_entries(q.layout.queue_path(kQueueIncoming)) == 0);
    // The same process takes it again at once.
    Written second = write_message(q.layout, "carol@example.org", 2, 10);
    CHECK(second.inode == first.inode);

    // A new file is not added to the pool by an abort.
    {
        WriterOptions options;
        options.recycle = true;
        auto w = QueueWriter::create(q.layout, options);
        REQUIRE(w);
    }
    CHECK(count_entries(recycle_path(q.layout)) == 0);
    CHECK(count_entries(q.layout.queue_path(kQueueIncoming)) == 1);
}

TEST_CASE("files larger than the size cap are unlinked, not recycled", "[queue][recycle]") {
    reset_recycle_cache();
    TempQueue q;
    Written big = write_message(q.layout, "bob@example.org", 300, 500);  // > 128 KiB
    REQUIRE(static_cast<std::uint64_t>(size_of(big.path)) > kMaxRecycledSize);
    CHECK(retire(q.layout, big) == Retired::kRemoved);
    CHECK(count_entries(recycle_path(q.layout)) == 0);
    CHECK_FALSE(util::path_exists(q.layout.file_path(kQueueActive, big.id)));
}

TEST_CASE("a size the caller knows decides the size cap without a look at the file", "[queue][recycle]") {
    reset_recycle_cache();
    TempQueue q;
    Written small = write_message(q.layout, "bob@example.org", 2, 10, false);
    Written other = write_message(q.layout, "carol@example.org", 2, 10, false);
    for (const Written* w : {&small, &other})
        REQUIRE(move_queue_file(q.layout, w->id, kQueueIncoming, kQueueActive, MoveSync::kNoSync));
    // Said to be larger than the cap: unlinked although it is small.
    auto big = retire_queue_file(q.layout, kQueueActive, small.id, true, kMaxRecycledSize + 1);
    REQUIRE(big);
    CHECK(*big == Retired::kRemoved);
    CHECK(count_entries(recycle_path(q.layout)) == 0);
    auto fits = retire_queue_file(q.layout, kQueueActive, other.id, true, std::uint64_t{100});
    REQUIRE(fits);
    CHECK(*fits == Retired::kRecycled);
    CHECK(count_entries(recycle_path(q.layout)) == 1);
}

TEST_CASE("retiring without recycling unlinks, and a missing file is a permanent error", "[queue][recycle]") {
    TempQueue q;
    Written w = write_message(q.layout, "bob@example.org", 2, 10, false);
    CHECK(retire(q.layout, w, false) == Retired::kRemoved);
    CHECK(count_entries(recycle_path(q.layout)) == 0);
    auto again = retire_queue_file(q.layout, kQueueActive, w.id, true);
    REQUIRE_FALSE(again);
    CHECK(again.error().kind == ErrorKind::kPermanent);
    CHECK_FALSE(retire_queue_file(q.layout, kQueueActive, "../etc", true));
}

TEST_CASE("RecycleCounter keeps the pool at its limit", "[queue][recycle]") {
    reset_recycle_cache();
    TempQueue q;
    std::int64_t now = 1000;
    auto clock = [&now] { return now; };

    SECTION("limit 0 never recycles") {
        RecycleCounter counter(q.layout, 0, clock);
        Written w = write_message(q.layout, "bob@example.org", 2, 10);
        REQUIRE(move_queue_file(q.layout, w.id, kQueueIncoming, kQueueActive, MoveSync::kNoSync));
        auto r = counter.retire(kQueueActive, w.id);
        REQUIRE(r);
        CHECK(*r == Retired::kRemoved);
        CHECK(count_entries(recycle_path(q.layout)) == 0);
    }
    SECTION("the pool fills up to the limit, then files are unlinked") {
        RecycleCounter counter(q.layout, 2, clock);
        std::vector<Retired> got;
        for (int i = 0; i < 4; ++i) {
            Written w = write_message(q.layout, "bob@example.org", 2, 10, false);
            REQUIRE(move_queue_file(q.layout, w.id, kQueueIncoming, kQueueActive, MoveSync::kNoSync));
            auto r = counter.retire(kQueueActive, w.id);
            REQUIRE(r);
            got.push_back(*r);
        }
        CHECK(got == std::vector<Retired>{Retired::kRecycled, Retired::kRecycled, Retired::kRemoved, Retired::kRemoved});
        CHECK(count_entries(recycle_path(q.layout)) == 2);
        CHECK(counter.estimate() == 2);

        // Writers take one; the full estimate is recounted only a second
        // after the last count.
        Written taken = write_message(q.layout, "carol@example.org", 2, 10);
        CHECK(count_entries(recycle_path(q.layout)) == 1);
        REQUIRE(move_queue_file(q.layout, taken.id, kQueueIncoming, kQueueActive, MoveSync::kNoSync));
        now += 500;
        auto r = counter.retire(kQueueActive, taken.id);
        REQUIRE(r);
        CHECK(*r == Retired::kRemoved);
        Written next = write_message(q.layout, "carol@example.org", 2, 10);
        REQUIRE(move_queue_file(q.layout, next.id, kQueueIncoming, kQueueActive, MoveSync::kNoSync));
        now += 600;
        r = counter.retire(kQueueActive, next.id);
        REQUIRE(r);
        CHECK(*r == Retired::kRecycled);
        CHECK(count_entries(recycle_path(q.layout)) == 1);
    }
    SECTION("a count that found room allows the next one at once, a (nearly) full pool waits a second") {
        RecycleCounter counter(q.layout, 8, clock);
        auto retire_one = [&] {
            Written w = write_message(q.layout, "bob@example.org", 2, 10, false);
            REQUIRE(move_queue_file(q.layout, w.id, kQueueIncoming, kQueueActive, MoveSync::kNoSync));
            auto r = counter.retire(kQueueActive, w.id);
            REQUIRE(r);
            return *r;
        };
        auto drop_one = [&] {
            auto ids = std::filesystem::directory_iterator(recycle_path(q.layout));
            REQUIRE(ids != std::filesystem::directory_iterator());
            std::filesystem::remove(ids->path());
        };
        for (int i = 0; i < 8; ++i) CHECK(retire_one() == Retired::kRecycled);
        CHECK(counter.estimate() == 8);
        // Writers took every file: counted again at once, no wait.
        REQUIRE(*empty_recycle_pool(q.layout) == 8);
        CHECK(retire_one() == Retired::kRecycled);
        CHECK(counter.estimate() == 1);
        for (int i = 0; i < 7; ++i) CHECK(retire_one() == Retired::kRecycled);
        // Found full: no count for a second.
        CHECK(retire_one() == Retired::kRemoved);
        drop_one();
        CHECK(retire_one() == Retired::kRemoved);
        now += 1000;
        // Found 7 of 8 (less than a quarter free): one more, then a wait.
        CHECK(retire_one() == Retired::kRecycled);
        drop_one();
        CHECK(retire_one() == Retired::kRemoved);
        CHECK(*count_recycled_files(q.layout) == 7);
    }
    SECTION("the first use counts what is there") {
        for (int i = 0; i < 3; ++i) {
            Written w = write_message(q.layout, "bob@example.org", 2, 10, false);
            REQUIRE(move_queue_file(q.layout, w.id, kQueueIncoming, kQueueActive, MoveSync::kNoSync));
            REQUIRE(retire_queue_file(q.layout, kQueueActive, w.id, true));
        }
        REQUIRE(*count_recycled_files(q.layout) == 3);
        RecycleCounter counter(q.layout, 3, clock);
        Written w = write_message(q.layout, "bob@example.org", 2, 10, false);
        REQUIRE(move_queue_file(q.layout, w.id, kQueueIncoming, kQueueActive, MoveSync::kNoSync));
        auto r = counter.retire(kQueueActive, w.id);
        REQUIRE(r);
        CHECK(*r == Retired::kRemoved);
        CHECK(counter.estimate() == 3);
    }
}

TEST_CASE("an empty pool is not read again for a tenth of a second", "[queue][recycle]") {
    reset_recycle_cache();
    TempQueue q;
    auto started = std::chrono::steady_clock::now();
    // The first writer finds recycle/ empty.
    Written first = write_message(q.layout, "bob@example.org", 2, 10);
    CHECK(retire(q.layout, first) == Retired::kRecycled);
    Written second = write_message(q.layout, "carol@example.org", 2, 10);
    // Within the pause the pooled file is not seen (unless the machine
    // was too slow to stay inside it).
    if (std::chrono::steady_clock::now() - started < std::chrono::milliseconds(80)) {
        CHECK(second.inode != first.inode);
        CHECK(count_entries(recycle_path(q.layout)) == 1);
    }
    reset_recycle_cache();
    Written third = write_message(q.layout, "dave@example.org", 2, 10);
    if (second.inode != first.inode) CHECK(third.inode == first.inode);
}

TEST_CASE("empty_recycle_pool removes every pooled file", "[queue][recycle]") {
    reset_recycle_cache();
    TempQueue q;
    for (int i = 0; i < 3; ++i) {
        Written w = write_message(q.layout, "bob@example.org", 2, 10, false);
        REQUIRE(retire(q.layout, w) == Retired::kRecycled);
    }
    auto n = empty_recycle_pool(q.layout);
    REQUIRE(n);
    CHECK(*n == 3);
    CHECK(count_entries(recycle_path(q.layout)) == 0);
    // Nothing in a queue was touched.
    CHECK(count_entries(q.layout.queue_path(kQueueActive)) == 0);
}
