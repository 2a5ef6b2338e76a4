// sort_thread_test.cc - RFC 5256 base subjects, SORT criteria and ordering,
// THREAD=ORDEREDSUBJECT and THREAD=REFERENCES (missing parents, duplicates,
// subject merging).
#include "lib/imap/sort_thread.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <string>

#include "lib/imap/decode.h"

using namespace mailroom::imap;

namespace {

SortItem item(std::uint32_t seq, std::string header, std::int64_t date = 0, std::uint64_t size = 100) {
    SortItem it;
    it.meta.seq = seq;
    it.meta.uid = seq * 10;
    it.meta.internal_date = date ? date : 1000 + seq;
    it.meta.size = size;
    it.keys = sort_keys_of(header + "\n", it.meta);
    return it;
}

std::string date_hdr(int day) { return "Date: " + std::to_string(day) + " Jan 2020 10:00:00 +0000\n"; }

std::vector<std::uint32_t> seqs(const std::vector<SortItem>& items, const std::vector<std::size_t>& order) {
    std::vector<std::uint32_t> out;
    for (std::size_t i : order) out.push_back(items[i].meta.seq);
    return out;
}

}  // namespace

TEST_CASE("base subject: RFC 5256 section 2.1 extraction") {
    struct Case {
        const char* in;
        const char* base;
        bool reply;
    } cases[] = {
        {"Hello", "hello", false},
        {"Re: Hello", "hello", true},
        {"RE: [list] Re: hello (fwd)", "hello", true},
        {"[list] hello", "hello", false},
        {"[only a blob]", "[only a blob]", false},
        {"Fwd: [fwd: hello]", "hello", true},
        {"re:re:fw: hi", "hi", true},
        {"Re : spaced", "spaced", true},
        {"Re[2]: counted", "counted", true},
        {"Re [list]: blob in refwd", "blob in refwd", true},
        {"[fwd: re: hello] (fwd)", "hello", true},
        {"Rebecca: hi", "rebecca: hi", false},
        {"  hello \t  world  ", "hello world", false},
        {"=?utf-8?Q?Re=3A_Caf=C3=A9?=", "caf\xc3\xa9", true},
        {"hello (fwd) (FWD)", "hello", true},
        {"[a][b] Re: x", "x", true},
        {"", "", false},
        {"Re:", "", true},
    };
    for (const Case& c : cases) {
        INFO(c.in);
        BaseSubject b = base_subject(c.in);
        CHECK(b.subject == fold_case(c.base));
        CHECK(b.is_reply_or_fwd == c.reply);
    }
}

TEST_CASE("sort: criteria parsing") {
    auto ok = parse_sort_criteria(SearchArg::list_of({SearchArg::atom("REVERSE"), SearchArg::atom("date"),
                                                      SearchArg::atom("SUBJECT"), SearchArg::atom("DisplayFrom")}));
    REQUIRE(ok);
    REQUIRE(ok->size() == 3);
    CHECK((*ok)[0].key == SortKey::kDate);
    CHECK((*ok)[0].reverse);
    CHECK((*ok)[1].key == SortKey::kSubject);
    CHECK_FALSE((*ok)[1].reverse);
    CHECK((*ok)[2].key == SortKey::kDisplayFrom);
    CHECK_FALSE(parse_sort_criteria(SearchArg::list_of({})));
    CHECK_FALSE(parse_sort_criteria(SearchArg::list_of({SearchArg::atom("REVERSE")})));
    CHECK_FALSE(parse_sort_criteria(SearchArg::list_of({SearchArg::atom("REVERSE"), SearchArg::atom("REVERSE"),
                                                        SearchArg::atom("DATE")})));
    CHECK_FALSE(parse_sort_criteria(SearchArg::list_of({SearchArg::atom("BOGUS")})));
    CHECK_FALSE(parse_sort_criteria(SearchArg::atom("DATE")));
}

TEST_CASE("sort: each key, REVERSE, ties in sequence order") {
    std::vector<SortItem> items = {
        item(1, date_hdr(5) + "From: Zed <a@x>\nTo: m@x\nCc: c@x\nSubject: Re: beta", 50, 300),
        item(2, date_hdr(3) + "From: \"Anna\" <z@x>\nTo: b@x\nSubject: alpha", 40, 100),
        item(3, "From: m@x\nTo: a@x\nCc: b@x\nSubject: [list] Gamma", 30, 200),
        item(4, date_hdr(3) + "From: Bob <b@x>\nSubject: ALPHA", 20, 100),
    };
    auto sorted = [&](std::vector<SortCriterion> c) { return seqs(items, sort_messages(c, items)); };
    using V = std::vector<std::uint32_t>;
    CHECK(sorted({{SortKey::kArrival, false}}) == V{4, 3, 2, 1});
    // Message 3 has no Date: header: its internal date (30) is earliest.
    CHECK(sorted({{SortKey::kDate, false}}) == V{3, 2, 4, 1});
    CHECK(sorted({{SortKey::kDate, true}}) == V{1, 2, 4, 3});
    CHECK(sorted({{SortKey::kSize, false}}) == V{2, 4, 3, 1});
    CHECK(sorted({{SortKey::kSize, true}}) == V{1, 3, 2, 4});
    CHECK(sorted({{SortKey::kFrom, false}}) == V{1, 4, 3, 2});
    CHECK(sorted({{SortKey::kDisplayFrom, false}}) == V{2, 4, 3, 1});
    CHECK(sorted({{SortKey::kTo, false}}) == V{4, 3, 2, 1});
    CHECK(sorted({{SortKey::kCc, false}}) == V{2, 4, 3, 1});
    CHECK(sorted({{SortKey::kSubject, false}}) == V{2, 4, 1, 3});
    CHECK(sorted({{SortKey::kSubject, false}, {SortKey::kArrival, false}}) == V{4, 2, 1, 3});
    CHECK(sorted({{SortKey::kSubject, true}, {SortKey::kSize, true}}) == V{3, 1, 2, 4});
}

TEST_CASE("thread: ORDEREDSUBJECT groups by base subject, threads ordered by their first date") {
    std::vector<SortItem> items = {
        item(1, date_hdr(10) + "Subject: b"),
        item(2, date_hdr(11) + "Subject: a"),
        item(3, date_hdr(12) + "Subject: Re: b"),
        item(4, date_hdr(13) + "Subject: re: A"),
        item(5, date_hdr(1) + "Subject: Fwd: b"),
        item(6, date_hdr(2) + "Subject: c"),
    };
    CHECK(thread_messages(ThreadAlgorithm::kOrderedSubject, items, false) == "(5 (1)(3))(6)(2 4)");
    CHECK(thread_messages(ThreadAlgorithm::kOrderedSubject, items, true) == "(50 (10)(30))(60)(20 40)");
    CHECK(thread_messages(ThreadAlgorithm::kOrderedSubject, {}, false) == "");
}

TEST_CASE("thread: REFERENCES with missing parents, duplicate and missing Message-IDs") {
    std::vector<SortItem> items = {
        item(1, date_hdr(1) + "Message-ID: <1@x>\nSubject: A"),
        item(2, date_hdr(2) + "Message-ID: <2@x>\nReferences: <1@x>\nSubject: Re: A"),
        item(3, date_hdr(3) + "Message-ID: <3@x>\nReferences: <gone@x>\nSubject: B"),
        item(4, date_hdr(4) + "Message-ID: <4@x>\nIn-Reply-To: <gone@x>\nSubject: Re: B"),
        item(5, date_hdr(5) + "Message-ID: <5@x>\nReferences: <1@x> <lost@x>\nSubject: Re: A"),
        item(6, date_hdr(6) + "Subject: C"),
        item(7, date_hdr(7) + "Message-ID: <1@x>\nSubject: Z"),
        item(8, date_hdr(8) + "Message-ID: <8@x>\nReferences: <8@x>\nSubject: self"),
    };
    // <lost@x> between 1 and 5 is pruned (5 becomes 1's child); <gone@x>
    // stays as a dummy root over its two children.
    CHECK(thread_messages(ThreadAlgorithm::kReferences, items, false) == "(1 (2)(5))((3)(4))(6)(7)(8)");
}

TEST_CASE("thread: REFERENCES chains, and roots merged by base subject") {
    std::vector<SortItem> chain = {
        item(1, date_hdr(1) + "Message-ID: <a@x>\nSubject: s"),
        item(2, date_hdr(2) + "Message-ID: <b@x>\nReferences: <a@x>\nSubject: Re: s"),
        item(3, date_hdr(3) + "Message-ID: <c@x>\nReferences: <a@x> <b@x>\nSubject: Re: s"),
    };
    CHECK(thread_messages(ThreadAlgorithm::kReferences, chain, false) == "(1 2 3)");
    std::vector<SortItem> merge = {
        item(1, date_hdr(1) + "Message-ID: <h1@x>\nSubject: Hello"),
        item(2, date_hdr(2) + "Message-ID: <h2@x>\nSubject: Re: Hello"),
        item(3, date_hdr(3) + "Message-ID: <h3@x>\nSubject: hello"),
        item(4, date_hdr(4) + "Message-ID: <o@x>\nSubject: other"),
    };
    // 2 is a reply: a child of 1. 1 and 3 are both originals: siblings under a dummy.
    CHECK(thread_messages(ThreadAlgorithm::kReferences, merge, false) == "((1 2)(3))(4)");
}

TEST_CASE("thread: a References loop does not hang or lose messages") {
    std::vector<SortItem> loop = {
        item(1, date_hdr(1) + "Message-ID: <p@x>\nReferences: <q@x>\nSubject: x1"),
        item(2, date_hdr(2) + "Message-ID: <q@x>\nReferences: <p@x>\nSubject: x2"),
    };
    std::string t = thread_messages(ThreadAlgorithm::kReferences, loop, false);
    CHECK(t.find('1') != std::string::npos);
    CHECK(t.find('2') != std::string::npos);
}

TEST_CASE("thread: a very long References chain is cut, not followed without bound") {
    std::vector<SortItem> chain;
    for (std::uint32_t i = 1; i <= 5000; ++i) {
        std::string h = "Message-ID: <" + std::to_string(i) + "@x>\nSubject: s";
        if (i > 1) h += "\nIn-Reply-To: <" + std::to_string(i - 1) + "@x>";
        chain.push_back(item(i, h, 1000 + i));
    }
    std::string t = thread_messages(ThreadAlgorithm::kReferences, chain, false);
    CHECK(t.starts_with("((1 2 3 "));  // the pieces share a subject: siblings under a dummy
    CHECK(t.find(" 5000") != std::string::npos);
    CHECK(std::count(t.begin(), t.end(), '(') == std::count(t.begin(), t.end(), ')'));
}
