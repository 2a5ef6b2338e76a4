// sequence_set_test.cc - sequence-set parsing, membership and compact formatting.
#include "lib/imap/sequence_set.h"

#include <catch2/catch.hpp>

using mailroom::imap::format_numbers;
using mailroom::imap::SequenceSet;

TEST_CASE("sequence set: parse and contains with *") {
    auto s = SequenceSet::parse("1:3,5,7:*");
    REQUIRE(s);
    CHECK(s->contains(1, 10));
    CHECK(s->contains(3, 10));
    CHECK_FALSE(s->contains(4, 10));
    CHECK(s->contains(5, 10));
    CHECK_FALSE(s->contains(6, 10));
    CHECK(s->contains(10, 10));
    CHECK(s->numbers(8) == std::vector<std::uint32_t>{1, 2, 3, 5, 7, 8});
}

TEST_CASE("sequence set: reversed range, star beyond the range") {
    auto s = SequenceSet::parse("9:4");
    REQUIRE(s);
    CHECK(s->contains(4, 20));
    CHECK(s->contains(9, 20));
    CHECK_FALSE(s->contains(10, 20));
    auto t = SequenceSet::parse("5:*");
    REQUIRE(t);
    CHECK(t->numbers(3) == std::vector<std::uint32_t>{3});
}

TEST_CASE("sequence set: malformed sets are refused") {
    for (const char* bad : {"", "0", "1:", ":1", "1,,2", "a", "1:0", "4294967296", "01", "1 2", ",1", "1,"})
        CHECK_FALSE(SequenceSet::parse(bad));
    CHECK_FALSE(SequenceSet::parse("$"));
    auto d = SequenceSet::parse("$", true);
    REQUIRE(d);
    CHECK(d->saved());
    CHECK(SequenceSet::parse("4294967295"));
}

TEST_CASE("sequence set: compact formatting") {
    CHECK(format_numbers({5, 1, 2, 3, 9, 8, 3}) == "1:3,5,8:9");
    CHECK(format_numbers({}) == "");
    CHECK(SequenceSet::parse("7,1:3,2:4,9")->format() == "1:4,7,9");
    CHECK(SequenceSet::parse("1:*")->format() == "1:*");
    SequenceSet s;
    for (std::uint32_t n : {10u, 11u, 12u, 20u}) s.add(n);
    CHECK(s.ranges().size() == 2);
    CHECK(s.format() == "10:12,20");
}
