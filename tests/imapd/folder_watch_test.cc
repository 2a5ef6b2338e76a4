// folder_watch_test.cc - inotify wake-ups for IDLE: which changes in a
// Maildir folder call its subscribers, and which do not.
#include "imapd/folder_watch.h"

#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "tests/support/loop_util.h"

using namespace mailroom;

namespace {

struct Folder {
    std::string dir;
    Folder() {
        char tmpl[] = "/tmp/mr_folder_watch_XXXXXX";
        REQUIRE(::mkdtemp(tmpl) != nullptr);
        dir = tmpl;
        for (const char* sub : {"/new", "/cur", "/tmp"}) REQUIRE(::mkdir((dir + sub).c_str(), 0700) == 0);
    }
    ~Folder() { std::filesystem::remove_all(dir); }
    void write(const std::string& rel) const { std::ofstream(dir + "/" + rel) << "Subject: x\n\nx\n"; }
    void rename(const std::string& from, const std::string& to) const {
        REQUIRE(std::rename((dir + "/" + from).c_str(), (dir + "/" + to).c_str()) == 0);
    }
};

}  // namespace

TEST_CASE("folder watch: deliveries, flag renames, expunges and the UID list wake subscribers", "[unit]") {
    event::Loop loop;
    imapd::FolderWatch watch(loop);
    Folder f, other;
    int a = 0, b = 0, c = 0;
    const auto ida = watch.subscribe(f.dir, [&] { ++a; });
    const auto idb = watch.subscribe(f.dir, [&] { ++b; });
    const auto idc = watch.subscribe(other.dir, [&] { ++c; });
    REQUIRE(ida != 0);
    REQUIRE(idb != 0);
    REQUIRE(idc != 0);

    // A delivery: written in tmp/, renamed into new/.
    f.write("tmp/1.host");
    f.rename("tmp/1.host", "new/1.host");
    CHECK(testing::run_until(loop, [&] { return a > 0 && b > 0; }));
    CHECK(c == 0);

    // Files the store writes in the folder directory (the index, the lock)
    // wake nobody: events come in order from one descriptor, so once the
    // other folder's delivery is seen, the index write has been passed over.
    a = b = 0;
    f.write("mailroom.index");
    f.write("dovecot-uidlist.lock");
    other.write("tmp/0.host");
    other.rename("tmp/0.host", "new/0.host");
    CHECK(testing::run_until(loop, [&] { return c > 0; }));
    CHECK(a == 0);
    CHECK(b == 0);
    // A new dovecot-uidlist does.
    f.rename("dovecot-uidlist.lock", "dovecot-uidlist");
    CHECK(testing::run_until(loop, [&] { return a > 0; }));

    // Another session's flag change (a rename in cur/) and an expunge.
    a = 0;
    f.rename("new/1.host", "cur/1.host:2,S");
    CHECK(testing::run_until(loop, [&] { return a > 0; }));
    a = 0;
    f.rename("cur/1.host:2,S", "cur/1.host:2,FS");
    CHECK(testing::run_until(loop, [&] { return a > 0; }));
    a = 0;
    REQUIRE(::unlink((f.dir + "/cur/1.host:2,FS").c_str()) == 0);
    CHECK(testing::run_until(loop, [&] { return a > 0; }));

    // Unsubscribed sessions are not called; the other folder still is.
    watch.unsubscribe(ida);
    watch.unsubscribe(idb);
    a = b = c = 0;
    other.write("tmp/2.host");
    other.rename("tmp/2.host", "new/2.host");
    CHECK(testing::run_until(loop, [&] { return c > 0; }));
    CHECK(a == 0);
    CHECK(b == 0);
    watch.unsubscribe(idc);
}

TEST_CASE("folder watch: a folder that is not there cannot be watched", "[unit]") {
    event::Loop loop;
    imapd::FolderWatch watch(loop);
    CHECK(watch.subscribe("/nonexistent/mr_folder_watch", [] {}) == 0);
}
