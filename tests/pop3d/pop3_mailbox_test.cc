// pop3_mailbox_test.cc - the POP3 view of a Maildir: sizes, UIDLs stable
// across sessions, the session lock, deletions only at commit, maildirsize,
// new/ to cur/, and the dot-stuffed CRLF encoding.
#include "pop3d/pop3_mailbox.h"

#include <catch2/catch.hpp>
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
        CHECK(box->message(0).uidl == "0000000100000010");
        CHECK(box->message(1).uidl == "0000000200000010");
        for (std::size_t i = 0; i < box->count(); ++i) uidls.push_back(box->message(i).uidl);
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
    CHECK(box->message(0).uidl == uidls[1]);
    CHECK(box->message(1).uidl == "0000000300000010");
    auto text = box->read(0);
    REQUIRE(text);
    CHECK(*text == "Subject: bb\n\nbody\n");
    box.reset();
    fs::remove_all(dir);
}
