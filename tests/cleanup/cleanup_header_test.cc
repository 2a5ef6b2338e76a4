// cleanup_header_test.cc - header recognition, added headers and address
// qualification (cleanup_header.h, lib/submit/address_list.h).
#include <catch2/catch.hpp>

#include "cleanup/cleanup_header.h"
#include "lib/submit/address_list.h"

using namespace mailroom;

TEST_CASE("header_name recognises header lines", "[unit]") {
    struct Case {
        const char* line;
        const char* name;
    };
    const Case cases[] = {
        {"Subject: hi", "Subject"},
        {"Message-ID:<a@b>", "Message-ID"},
        {"X-Odd :value", "X-Odd"},
        {"From:", "From"},
        {" continued: no", ""},
        {"no colon here", ""},
        {"two words: no", ""},
        {":empty name", ""},
        {"", ""},
    };
    for (const auto& c : cases) {
        INFO(c.line);
        CHECK(cleanup::header_name(c.line) == c.name);
    }
}

TEST_CASE("qualify_address appends the origin only when there is no domain", "[unit]") {
    CHECK(submit::qualify_address("bob", "example.com") == "bob@example.com");
    CHECK(submit::qualify_address("bob@x.org", "example.com") == "bob@x.org");
    CHECK(submit::qualify_address("", "example.com") == "");
    CHECK(submit::qualify_address("bob", "") == "bob");
}

TEST_CASE("qualify_header_value rewrites every list member and keeps the rest", "[unit]") {
    struct Case {
        const char* in;
        const char* out;
    };
    const Case cases[] = {
        {" bob", " bob@o.test"},
        {" Bob Smith <bob>", " Bob Smith <bob@o.test>"},
        {" bob, carol@x.org, \"Dee, D\" <dee>", " bob@o.test, carol@x.org, \"Dee, D\" <dee@o.test>"},
        {" bob (the builder)", " bob@o.test (the builder)"},
        {" undisclosed-recipients:;", " undisclosed-recipients:;"},
        {" friends: ann, ben;", " friends: ann@o.test, ben@o.test;"},
        {" <>", " <>"},
        {" a@b,\n\tc", " a@b,\n\tc@o.test"},
    };
    for (const auto& c : cases) {
        INFO(c.in);
        CHECK(submit::qualify_header_value(c.in, "o.test") == c.out);
    }
}

TEST_CASE("addresses_in extracts bare addresses for sendmail -t", "[unit]") {
    auto a = submit::addresses_in(" Carol <carol@x.test>, dave@y.test (Dave), \"Q, R\" <q@z.test>");
    REQUIRE(a.size() == 3);
    CHECK(a[0] == "carol@x.test");
    CHECK(a[1] == "dave@y.test");
    CHECK(a[2] == "q@z.test");
    CHECK(submit::addresses_in(" undisclosed-recipients:;").empty());
}

TEST_CASE("rewrite_header qualifies From To Cc and leaves other headers alone", "[unit]") {
    CHECK(cleanup::rewrite_header("From: alice", "o.test") == "From: alice@o.test");
    CHECK(cleanup::rewrite_header("to: a, b@c", "o.test") == "to: a@o.test, b@c");
    CHECK(cleanup::rewrite_header("Cc: Ann <ann>", "o.test") == "Cc: Ann <ann@o.test>");
    CHECK(cleanup::rewrite_header("Resent-To: x", "o.test") == "Resent-To: x@o.test");
    CHECK(cleanup::rewrite_header("Subject: bob", "o.test") == "Subject: bob");
    CHECK(cleanup::rewrite_header("Reply-To: bob", "o.test") == "Reply-To: bob");
}

TEST_CASE("missing_headers adds Message-ID Date and From in Postfix's order", "[unit]") {
    cleanup::MessageFacts facts{1795500000, "ABCDE123", "alice@o.test", "mx.o.test", "o.test"};
    std::string id;
    auto h = cleanup::missing_headers({}, facts, &id);
    REQUIRE(h.size() == 3);
    CHECK(h[0] == "Message-ID: <20261124060000.ABCDE123@mx.o.test>");
    CHECK(id == "<20261124060000.ABCDE123@mx.o.test>");
    CHECK(h[1].rfind("Date: ", 0) == 0);
    CHECK(h[2] == "From: alice@o.test");

    cleanup::HeaderFlags all;
    all.message_id = all.date = all.from = true;
    CHECK(cleanup::missing_headers(all, facts, nullptr).empty());

    cleanup::HeaderFlags only_date;
    only_date.date = true;
    facts.sender = "";
    auto h2 = cleanup::missing_headers(only_date, facts, nullptr);
    REQUIRE(h2.size() == 2);
    CHECK(h2[1] == "From: MAILER-DAEMON@o.test");
}

TEST_CASE("note_header is case-insensitive", "[unit]") {
    cleanup::HeaderFlags f;
    cleanup::note_header("message-id", &f);
    cleanup::note_header("DATE", &f);
    CHECK(f.message_id);
    CHECK(f.date);
    CHECK_FALSE(f.from);
}

TEST_CASE("format_rfc2822_date uses English names and a numeric zone", "[unit]") {
    std::string d = cleanup::format_rfc2822_date(1795500000);
    // "Tue, 24 Nov 2026 06:00:00 +0000 (UTC)" in UTC; other zones differ in the numbers only.
    REQUIRE(d.size() > 25);
    CHECK(d.find(", ") == 3);
    CHECK((d.find(" +") != std::string::npos || d.find(" -") != std::string::npos));
}
