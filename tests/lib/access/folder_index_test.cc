// folder_index_test.cc - the mailroom.index and mailroom.cache formats and
// dovecot-keywords.
#include "lib/access/folder_index.h"

#include <catch2/catch.hpp>

using namespace mailroom::access;

namespace {

FolderIndex sample() {
    FolderIndex x;
    x.uid_validity = 1700000000;
    x.uid_next = 9;
    x.highest_modseq = 42;
    x.first_recent_uid = 8;
    x.vanished_floor = 3;
    x.new_stamp = {1700000001, 5};
    x.cur_stamp = {1700000002, 999999999};
    x.scan_clean = true;
    x.records.push_back(IndexRecord{1, 10, 454, 470, 1700000000, false, "1700000000.M1P2Q3.host,S=454:2,S"});
    x.records.push_back(IndexRecord{7, 41, 100, 0, 1700000100, true, "1700000100.M1P2Q4.host name with spaces"});
    x.vanished.emplace_back(3, 20);
    x.vanished.emplace_back(5, 41);
    return x;
}

}  // namespace

TEST_CASE("folder index: format and parse round trip", "[unit]") {
    const FolderIndex x = sample();
    const std::string text = format_folder_index(x);
    auto y = parse_folder_index(text);
    REQUIRE(y);
    CHECK(format_folder_index(*y) == text);
    CHECK(y->uid_next == 9u);
    CHECK(y->cur_stamp.nsec == 999999999);
    CHECK(y->scan_clean);
    REQUIRE(y->records.size() == 2);
    CHECK(y->records[1].in_new);
    CHECK(y->records[1].filename == "1700000100.M1P2Q4.host name with spaces");
    CHECK(y->vanished.size() == 2);
}

TEST_CASE("folder index: any cut or flipped byte is refused", "[unit]") {
    const std::string text = format_folder_index(sample());
    for (std::size_t cut = 0; cut < text.size(); ++cut) CHECK_FALSE(parse_folder_index(text.substr(0, cut)));
    for (std::size_t i = 0; i < text.size(); ++i) {
        std::string bad = text;
        bad[i] ^= 0x01;
        INFO("byte " << i);
        CHECK_FALSE(parse_folder_index(bad));
    }
}

TEST_CASE("folder index: expunged UIDs are kept up to the window", "[unit]") {
    FolderIndex x;
    for (std::uint32_t i = 1; i <= kVanishedKept + 5; ++i) remember_vanished(&x, i, 100 + i);
    CHECK(x.vanished.size() == kVanishedKept);
    CHECK(x.vanished.front().first == 6u);
    CHECK(x.vanished_floor == 105u);
}

TEST_CASE("folder cache: records, a torn tail, another UIDVALIDITY", "[unit]") {
    std::string text = format_cache_header(77) + format_cache_record(1, 1, "env") +
                       format_cache_record(2, 2, std::string("a\0b", 3)) + format_cache_record(1, 1, "env2");
    CacheMap map;
    CHECK(parse_cache(text, 77, &map) == text.size());
    CHECK(map.size() == 2);
    CHECK((map[{1, 1}]) == "env2");
    CHECK((map[{2, 2}]) == std::string("a\0b", 3));
    const std::size_t whole = text.size();
    for (std::size_t cut = 1; cut < 14 + 4; ++cut) {
        CacheMap m;
        CHECK(parse_cache(text.substr(0, whole - cut), 77, &m) < whole - cut + 1);
        CHECK((m[{1, 1}]) == "env");
    }
    CacheMap other;
    CHECK(parse_cache(text, 78, &other) == 0);
    CHECK(other.empty());
}

TEST_CASE("dovecot-keywords: index to name", "[unit]") {
    auto names = parse_keywords("0 $Forwarded\n2 Junk\nbad line\n30 toolarge\n");
    REQUIRE(names.size() == 3);
    CHECK(names[0] == "$Forwarded");
    CHECK(names[1].empty());
    CHECK(names[2] == "Junk");
    CHECK(format_keywords(names) == "0 $Forwarded\n2 Junk\n");
}

TEST_CASE("folder index: change log entries are applied up to a torn or damaged one", "[unit]") {
    FolderIndex x = sample();
    const std::string base = format_folder_index(x);
    // A flag change of UID 1, a new UID 9, an expunge of UID 7, the header.
    IndexRecord changed = x.records[0];
    changed.modseq = 43;
    changed.filename = "1700000000.M1P2Q3.host,S=454:2,FS";
    const IndexRecord added{9, 44, 10, 0, 1700000200, false, "1700000200.M5P6Q7.host:2,"};
    FolderIndex after = x;
    after.uid_next = 10;
    after.highest_modseq = 45;
    after.scan_clean = false;
    after.own_since = 1700000300;
    const std::string log = format_index_log_expunge(7, 45) + format_index_log_record(changed) +
                            format_index_log_record(added) + format_index_log_header(after);
    std::size_t end = 0;
    auto y = parse_folder_index(base + log, &end);
    REQUIRE(y);
    CHECK(end == base.size() + log.size());
    REQUIRE(y->records.size() == 2);
    CHECK(y->records[0].filename == changed.filename);
    CHECK(y->records[0].modseq == 43u);
    CHECK(y->records[1].uid == 9u);
    CHECK(y->uid_next == 10u);
    CHECK(y->highest_modseq == 45u);
    CHECK(y->own_since == 1700000300);
    CHECK_FALSE(y->scan_clean);
    CHECK(y->vanished.back() == std::make_pair(std::uint32_t{7}, std::uint64_t{45}));
    // Cut anywhere in the log: the base and the whole entries before the cut.
    for (std::size_t cut = 0; cut < log.size(); ++cut) {
        std::size_t e = 0;
        auto z = parse_folder_index(base + log.substr(0, cut), &e);
        REQUIRE(z);
        CHECK(e <= base.size() + cut);
        CHECK((e == base.size() || log[e - base.size() - 1] == '\n'));
        CHECK(z->scan_clean);  // the header entry (the stamps) is the last
    }
    // A damaged entry ends the log there.
    std::string bad = base + log;
    bad[base.size() + log.find('\n') + 30] ^= 0x01;
    std::size_t e = 0;
    auto z = parse_folder_index(bad, &e);
    REQUIRE(z);
    CHECK(e == base.size() + log.find('\n') + 1);
    CHECK(z->records.size() == 1);  // the expunge applied, nothing after it
}
