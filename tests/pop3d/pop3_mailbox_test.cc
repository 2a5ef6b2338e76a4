// pop3_mailbox_test.cc - the POP3 view of a Maildir: sizes, UIDLs stable
// across sessions, the session lock, deletions only at commit, maildirsize,
// new/ to cur/, and the dot-stuffed CRLF encoding.
#include "pop3d/pop3_mailbox.h"

#include <catch2/catch.hpp>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace fs = std::filesystem;
using namespace mailroom::pop3d;

namespace {
std::string make_maildir() {
    char tmpl[] = "/tmp/pop3_mailbox_test.XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    const std::string dir = tmpl;
    for (const char* d : {"new", "cur", "tmp"}) fs::create_directories(dir + "/" + d);
    return dir;
}
void put(const std::string& path, const std::string& text) { std::ofstream(path, std::ios::binary) << text; }
std::string slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}
}  // namespace

TEST_CASE("pop3 encoding: CRLF, dot-stuffing, TOP line counts", "[unit]") {
    const std::string msg = "Subject: x\n\n.line one\nline two\r\n..\nlast";
    CHECK(pop3_encode_message(msg) == "Subject: x\r\n\r\n..line one\r\nline two\r\n...\r\nlast\r\n");
    CHECK(pop3_encode_message(msg, 0) == "Subject: x\r\n\r\n");
    CHECK(pop3_encode_message(msg, 2) == "Subject: x\r\n\r\n..line one\r\nline two\r\n");
    CHECK(pop3_encode_message("", -1).empty());
}

TEST_CASE("pop3 mailbox: list, UIDLs, lock, update", "[unit]") {
    const std::string dir = make_maildir();
    put(dir + "/cur/1000.M1P1Q1.host,S=12:2,S", "Subject: a\n\n");  // 12 bytes, 14 with CRLF
    put(dir + "/new/1001.M1P1Q2.host", "Subject: bb\n\nbody\n");
    put(dir + "/maildirsize", "1000S\n30 2\n");
    Pop3Mailbox::OpenError why;
    std::string reason;
    std::vector<std::string> uidls;
    {
        auto box = Pop3Mailbox::open(dir, "%08Xu%08Xv", 0x10, &why, &reason);
        REQUIRE(box);
        REQUIRE(box->count() == 2);
        CHECK(box->message(0).size == 14u);
        CHECK(box->message(1).size == 21u);
        CHECK(box->uidl(0) == "0000000100000010");
        CHECK(box->uidl(1) == "0000000200000010");
        for (std::size_t i = 0; i < box->count(); ++i) uidls.push_back(box->uidl(i));
        // A second session is refused while this one lives.
        auto second = Pop3Mailbox::open(dir, "%08Xu%08Xv", 0x20, &why, &reason);
        CHECK_FALSE(second);
        CHECK(why == Pop3Mailbox::OpenError::kInUse);
        box->mark_deleted(0);
        CHECK(box->live_count() == 1);
        box->reset();
        CHECK(box->live_count() == 2);
        box->mark_deleted(0);
        CHECK(fs::exists(dir + "/cur/1000.M1P1Q1.host,S=12:2,S"));  // only marked
        auto stats = box->commit();
        REQUIRE(stats);
        CHECK(stats->deleted == 1u);
    }
    CHECK_FALSE(fs::exists(dir + "/cur/1000.M1P1Q1.host,S=12:2,S"));
    CHECK(fs::is_empty(dir + "/new"));  // seen: moved to cur/
    CHECK(slurp(dir + "/maildirsize") == "1000S\n30 2\n-12 -1\n");
    // A later session keeps the surviving message's UIDL and gives a new one the next UID.
    put(dir + "/new/1002.M1P1Q3.host", "Subject: c\n\n");
    auto box = Pop3Mailbox::open(dir, "%08Xu%08Xv", 0x30, &why, &reason);
    REQUIRE(box);
    REQUIRE(box->count() == 2);
    CHECK(box->uidl(0) == uidls[1]);
    CHECK(box->uidl(1) == "0000000300000010");
    auto text = box->read(0);
    REQUIRE(text);
    CHECK(*text == "Subject: bb\n\nbody\n");
    box.reset();
    fs::remove_all(dir);
}

TEST_CASE("pop3 mailbox: an unchanged Maildir is listed from the folder index, sizes counted once", "[unit]") {
    const std::string dir = make_maildir();
    put(dir + "/cur/1000.M1P1Q1.host:2,S", "Subject: a\n\nbody\n");                 // 17 bytes, 20 with CRLF
    put(dir + "/cur/1001.M1P1Q2.host,S=12,W=99:2,", "Subject: b\n\n");              // the name's W= is taken
    // Directories last changed well before the scan: their mtimes can be trusted.
    auto age = [&](const char* sub) {
        struct timespec t[2] = {{1000000000, 0}, {1000000000, 0}};
        REQUIRE(::utimensat(AT_FDCWD, (dir + "/" + sub).c_str(), t, 0) == 0);
    };
    age("new");
    age("cur");
    Pop3Mailbox::OpenError why;
    std::string reason;
    {
        auto box = Pop3Mailbox::open(dir, "%u-%v-%f", 0x10, &why, &reason);
        REQUIRE(box);
        REQUIRE(box->count() == 2);
        CHECK(box->message(0).size == 20u);
        CHECK(box->message(0).file_size == 17u);
        CHECK(box->message(1).size == 99u);
        CHECK(box->message(1).file_size == 12u);
        CHECK(box->uidl(0) == "1-16-1000.M1P1Q1.host");
        CHECK(box->uidl(1) == "2-16-1001.M1P1Q2.host,S=12,W=99");
        CHECK(box->name(1) == "1001.M1P1Q2.host,S=12,W=99:2,");
    }
    CHECK(fs::exists(dir + "/mailroom.index"));
    // Unchanged directories: the index is the listing. A message rewritten
    // in place keeps the size counted before, and a file slipped in with
    // the directory's mtime put back is not seen (no scan).
    put(dir + "/cur/1000.M1P1Q1.host:2,S", "Subject: a\n\nbody\nmore\n");
    put(dir + "/cur/1002.M1P1Q3.host:2,", "Subject: c\n\n");
    age("cur");
    {
        auto box = Pop3Mailbox::open(dir, "%08Xu%08Xv", 0x20, &why, &reason);
        REQUIRE(box);
        REQUIRE(box->count() == 2);
        CHECK(box->message(0).size == 20u);
        CHECK(box->uidl(0) == "0000000100000010");
        CHECK(box->uidl(1) == "0000000200000010");
    }
    // A changed directory is scanned again.
    struct timespec now[2] = {{0, UTIME_NOW}, {0, UTIME_NOW}};
    REQUIRE(::utimensat(AT_FDCWD, (dir + "/cur").c_str(), now, 0) == 0);
    {
        auto box = Pop3Mailbox::open(dir, "%08Xu%08Xv", 0x30, &why, &reason);
        REQUIRE(box);
        REQUIRE(box->count() == 3);
        CHECK(box->uidl(2) == "0000000300000010");
        CHECK(box->message(2).size == 14u);
    }
    fs::remove_all(dir);
}

TEST_CASE("pop3 mbox: commit rewrites the same inode, so a waiting writer's mail is kept", "[unit]") {
    char tmpl[] = "/tmp/pop3_mbox_test.XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    const std::string dir = tmpl;
    const std::string inbox = dir + "/inbox";
    put(inbox, "From a@x Thu Jan  1 00:00:00 2026\nSubject: one\n\nbody one\n\n"
               "From b@x Thu Jan  1 00:00:00 2026\nSubject: two\n\nbody two\n\n");
    struct stat before{};
    REQUIRE(::stat(inbox.c_str(), &before) == 0);
    // A writer that opened the mbox before the commit (as a delivery agent
    // waiting on the lock has) appends after it.
    const int writer = ::open(inbox.c_str(), O_WRONLY | O_APPEND);
    REQUIRE(writer >= 0);
    Pop3Mailbox::OpenError why;
    std::string reason;
    {
        auto box = Pop3Mailbox::open_mbox(inbox, dir + "/index", "%08Xu%08Xv", 0x10, &why, &reason);
        REQUIRE(box);
        REQUIRE(box->count() == 2);
        box->mark_deleted(0);
        auto stats = box->commit();
        REQUIRE(stats);
        CHECK(stats->deleted == 1u);
    }
    const std::string late = "From c@x Thu Jan  1 00:00:00 2026\nSubject: three\n\nbody three\n\n";
    REQUIRE(::write(writer, late.data(), late.size()) == static_cast<ssize_t>(late.size()));
    ::close(writer);
    struct stat after{};
    REQUIRE(::stat(inbox.c_str(), &after) == 0);
    CHECK(after.st_ino == before.st_ino);
    CHECK(slurp(inbox) == "From b@x Thu Jan  1 00:00:00 2026\nSubject: two\n\nbody two\n\n" + late);
    fs::remove_all(dir);
}

TEST_CASE("pop3 encoder: pieces split anywhere give the whole message's form", "[unit]") {
    const std::string texts[] = {
        "Subject: a\r\n\r\n.dot\r\nline\rwith CR\r\r\nlast",
        "H: 1\n\n.\n..\nbody\n\n\nend\n",
        ".starts\r\n\r\n\r.x\nno final CR\r",
    };
    for (const auto& text : texts) {
        for (long lines : {-1L, 0L, 1L, 2L}) {
            const std::string whole = pop3_encode_message(text, lines);
            for (std::size_t cut = 0; cut <= text.size(); ++cut) {
                for (std::size_t cut2 = cut; cut2 <= text.size(); cut2 += 3) {
                    Pop3Encoder enc(lines);
                    std::string out;
                    enc.feed(std::string_view(text).substr(0, cut), &out);
                    enc.feed(std::string_view(text).substr(cut, cut2 - cut), &out);
                    enc.feed(std::string_view(text).substr(cut2), &out);
                    enc.finish(&out);
                    INFO("text " << text << " lines " << lines << " cuts " << cut << "," << cut2);
                    REQUIRE(out == whole);
                }
            }
        }
    }
    // TOP n stops reading once n body lines are out.
    Pop3Encoder top(1);
    std::string out;
    top.feed("H: v\r\n\r\none\r\ntwo\r\n", &out);
    CHECK(top.done());
    CHECK(out == "H: v\r\n\r\none\r\n");
}
