// queue_id_test.cc - queue ID format, validation and uniqueness; queue paths.
#include "lib/queue/queue_id.h"

#include <catch2/catch.hpp>
#include <array>
#include <set>

#include "lib/queue/queue_file.h"
#include "queue_test_util.h"

using namespace mailroom;
using namespace mailroom::queue;

TEST_CASE("queue IDs: five hex digits of microseconds, then the inode in hex", "[unit]") {
    CHECK(make_queue_id(0, 0) == "000000");
    CHECK(make_queue_id(999999, 0x82E95) == "F423F82E95");
    CHECK(make_queue_id(0xD786, 0x582E95) == "0D786582E95");
    CHECK(make_queue_id(1000001, 1) == "000011");  // microseconds wrap
    CHECK(make_queue_id(5, ~0ULL) == "00005FFFFFFFFFFFFFFFF");
    CHECK(make_queue_id(5, ~0ULL).size() == kMaxQueueIdLength);
}

TEST_CASE("distinct inodes give distinct IDs at any microsecond", "[unit]") {
    // The fixed-width time part keeps the inode part from running into it.
    std::set<std::string> seen;
    for (std::uint32_t usec : {0u, 1u, 16u, 999999u}) {
        for (std::uint64_t inode = 0; inode < 2000; ++inode) seen.insert(make_queue_id(usec, inode));
    }
    CHECK(seen.size() == 4 * 2000);
    CHECK(make_queue_id(0x10, 0x1) != make_queue_id(0x1, 0x01));
}

TEST_CASE("queue ID validation", "[unit]") {
    struct Case {
        const char* id;
        bool ok;
    };
    const std::array<Case, 12> cases = {{{"D786582E95", true},
                                         {"000000", true},
                                         {"00005FFFFFFFFFFFFFFFF", true},
                                         {"00005FFFFFFFFFFFFFFFF0", false},
                                         {"00000", false},
                                         {"", false},
                                         {"d786582e95", false},
                                         {"D786582G95", false},
                                         {"tmp.123.4", false},
                                         {".D786582E95", false},
                                         {"D786582E95 ", false},
                                         {"D78/582E95", false}}};
    for (const Case& c : cases) {
        INFO(c.id);
        CHECK(is_valid_queue_id(c.id) == c.ok);
    }
}

TEST_CASE("queue IDs of real queue files are unique and valid", "[unit]") {
    testing::TempQueue q;
    std::set<std::string> ids;
    const int kFiles = 300;
    for (int i = 0; i < kFiles; ++i) {
        auto w = QueueWriter::create(q.layout);
        REQUIRE(w.ok());
        REQUIRE(w->set_arrival_time(1700000000, 0).ok());
        REQUIRE(w->set_sender("a@b").ok());
        REQUIRE(w->add_recipient({"c@d"}).ok());
        auto path = w->commit();
        REQUIRE(path.ok());
        CHECK(is_valid_queue_id(w->queue_id()));
        CHECK(*path == q.layout.file_path(kQueueIncoming, w->queue_id()));
        ids.insert(w->queue_id());
    }
    CHECK(ids.size() == kFiles);
    auto listed = list_queue(q.layout, kQueueIncoming);
    REQUIRE(listed.ok());
    CHECK(listed->size() == kFiles);
    CHECK(std::set<std::string>(listed->begin(), listed->end()) == ids);
}

TEST_CASE("queue file paths: flat by default, hashed when asked", "[unit]") {
    QueueLayout flat{"/var/spool/mailroom"};
    CHECK(flat.file_path(kQueueDeferred, "D786582E95") == "/var/spool/mailroom/deferred/D786582E95");
    CHECK(flat.file_path(kQueueIncoming, "D786582E95") == "/var/spool/mailroom/incoming/D786582E95");
    QueueLayout hashed{"/q/", 2};
    CHECK(hashed.file_path(kQueueDeferred, "D786582E95") == "/q/deferred/D/7/D786582E95");
    CHECK(hashed.file_path(kQueueDefer, "D786582E95") == "/q/defer/D/7/D786582E95");
    CHECK(hashed.file_path(kQueueActive, "D786582E95") == "/q/active/D786582E95");
    CHECK(is_queue_name("incoming"));
    CHECK_FALSE(is_queue_name("private"));
    CHECK_FALSE(is_queue_name("../etc"));
}
