// uidlist_test.cc - the dovecot-uidlist format, merging, the file sync and
// Dovecot's default pop3_uidl_format.
#include "lib/access/uidlist.h"

#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>

using namespace mailroom::access;

TEST_CASE("uidlist: parse and format round trip, extensions kept", "[unit]") {
    const std::string text =
        "3 V1715000000 N7 G0123abcd\n"
        "3 :1715000001.M1P2Q3.host,S=454\n"
        "5 W806 :1715000002.M4P5Q6.host,S=806:2,S\n";
    auto list = parse_uidlist(text);
    REQUIRE(list);
    CHECK(list->uid_validity == 1715000000u);
    CHECK(list->next_uid == 7u);
    REQUIRE(list->entries.size() == 2);
    CHECK(list->entries[1].uid == 5u);
    CHECK(list->entries[1].extra == "W806");
    CHECK(list->entries[1].base == "1715000002.M4P5Q6.host,S=806");
    auto again = parse_uidlist(format_uidlist(*list));
    REQUIRE(again);
    CHECK(format_uidlist(*again) == format_uidlist(*list));
    CHECK(again->header_extra == "G0123abcd");
}

TEST_CASE("uidlist: bad lists are refused", "[unit]") {
    CHECK_FALSE(parse_uidlist(""));
    CHECK_FALSE(parse_uidlist("1 1 2\n"));
    CHECK_FALSE(parse_uidlist("3 N4\n"));
    CHECK_FALSE(parse_uidlist("3 V1 N4\n2 :a\n1 :b\n"));
    CHECK_FALSE(parse_uidlist("3 V1 N4\nx :a\n"));
    CHECK_FALSE(parse_uidlist("3 V1 N4\n1 a\n"));
    // N below the last UID is raised past it.
    auto l = parse_uidlist("3 V1 N2\n9 :a\n");
    REQUIRE(l);
    CHECK(l->next_uid == 10u);
}

TEST_CASE("uidlist: merge keeps UIDs, never reuses them", "[unit]") {
    UidList list;
    list.uid_validity = 42;
    CHECK(merge_uidlist(&list, {"a", "b", "c"}));
    CHECK(list.entries.size() == 3);
    CHECK(list.next_uid == 4u);
    CHECK_FALSE(merge_uidlist(&list, {"a", "b", "c"}));
    CHECK(merge_uidlist(&list, {"a", "c", "d"}));
    REQUIRE(list.entries.size() == 3);
    CHECK(list.entries[0].uid == 1u);
    CHECK(list.entries[1].uid == 3u);
    CHECK(list.entries[2].uid == 4u);
    CHECK(list.entries[2].base == "d");
}

TEST_CASE("uidlist: sync writes the file and keeps UIDs across runs", "[unit]") {
    char tmpl[] = "/tmp/uidlist_test.XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    const std::string dir = tmpl;
    auto first = sync_uidlist(dir, {"m1", "m2"}, 1700000000);
    REQUIRE(first);
    CHECK(first->uid_validity == 1700000000u);
    CHECK(first->uid_of.at("m2") == 2u);
    auto second = sync_uidlist(dir, {"m2", "m3"}, 1800000000);
    REQUIRE(second);
    CHECK(second->uid_validity == 1700000000u);
    CHECK(second->uid_of.at("m2") == 2u);
    CHECK(second->uid_of.at("m3") == 3u);
    CHECK(second->uid_of.count("m1") == 0);
    CHECK_FALSE(std::filesystem::exists(dir + "/dovecot-uidlist.lock"));
    std::ifstream in(dir + "/dovecot-uidlist");
    std::string header;
    std::getline(in, header);
    CHECK(header == "3 V1700000000 N4");
    // A held lock times out as a temporary error.
    std::ofstream(dir + "/dovecot-uidlist.lock") << "";
    auto locked = sync_uidlist(dir, {"m2"}, 1, 100);
    REQUIRE_FALSE(locked);
    CHECK(locked.error().temporary());
    std::filesystem::remove_all(dir);
}

TEST_CASE("pop3_uidl_format: Dovecot's default and the other variables", "[unit]") {
    CHECK(format_uidl("%08Xu%08Xv", 1, 0x5ab5c1d2, "b") == "000000015ab5c1d2");
    CHECK(format_uidl("%u.%v", 7, 9, "b") == "7.9");
    CHECK(format_uidl("%f", 7, 9, "1715.M1P2.host") == "1715.M1P2.host");
    CHECK(format_uidl("%%%08xu", 255, 9, "b") == "%000000ff");
}

TEST_CASE("uidlist: sync keeps an entry whose file a later scan would find", "[unit]") {
    char tmpl[] = "/tmp/uidlist_test.XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    const std::string dir = tmpl;
    std::filesystem::create_directories(dir + "/cur");
    std::filesystem::create_directories(dir + "/new");
    // Another reader numbered m2 after this caller's scan (which saw m1 only).
    REQUIRE(sync_uidlist(dir, {"m1", "m2"}, 1700000000));
    std::ofstream(dir + "/cur/m1:2,S").put('x');
    std::ofstream(dir + "/new/m2").put('x');
    auto late = sync_uidlist(dir, {"m1"}, 1700000000);
    REQUIRE(late);
    CHECK(late->uid_of.at("m2") == 2u);
    // Once the file is gone the entry goes.
    std::filesystem::remove(dir + "/new/m2");
    auto after = sync_uidlist(dir, {"m1"}, 1700000000);
    REQUIRE(after);
    CHECK(after->uid_of.count("m2") == 0);
    std::filesystem::remove_all(dir);
}

TEST_CASE("uidlist: new names are appended to the list, a torn line is cut off", "[unit]") {
    char tmpl[] = "/tmp/uidlist_test.XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    const std::string dir = tmpl;
    REQUIRE(sync_uidlist(dir, {"m1", "m2"}, 1700000000));
    {
        auto lock = UidListLock::acquire(dir);
        REQUIRE(lock);
        auto wrong = lock->append_new({"m3"}, 1800000000);
        REQUIRE(wrong);
        CHECK_FALSE(*wrong);  // another UIDVALIDITY: nothing written
        auto added = lock->append_new({"m3", "m4"}, 1700000000);
        REQUIRE(added);
        REQUIRE(*added);
        CHECK((*added)->first_uid == 3u);
    }
    CHECK_FALSE(std::filesystem::exists(dir + "/dovecot-uidlist.lock"));
    // A crash in the middle of an append: the torn line is no entry.
    std::ofstream(dir + "/dovecot-uidlist", std::ios::app) << "5 :m";
    std::ifstream in(dir + "/dovecot-uidlist");
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    CHECK(text.starts_with("3 V1700000000 N3\n"));  // the header is left as it was
    auto list = parse_uidlist(text);
    REQUIRE(list);
    REQUIRE(list->entries.size() == 4);
    CHECK(list->entries[3].base == "m4");
    CHECK(list->next_uid == 5u);
    {
        auto lock = UidListLock::acquire(dir);
        REQUIRE(lock);
        auto added = lock->append_new({"m5"}, 1700000000);
        REQUIRE(added);
        REQUIRE(*added);
        CHECK((*added)->first_uid == 5u);
    }
    auto synced = sync_uidlist(dir, {"m1", "m2", "m3", "m4", "m5"}, 1);
    REQUIRE(synced);
    CHECK(synced->uid_of.at("m4") == 4u);
    CHECK(synced->uid_of.at("m5") == 5u);
    std::filesystem::remove_all(dir);
}
