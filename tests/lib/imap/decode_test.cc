// decode_test.cc - RFC 2047 encoded words, transfer encodings, charsets, case folding, dates.
#include "lib/imap/decode.h"

#include <catch2/catch.hpp>

#include "lib/imap/imap_date.h"

using namespace mailroom::imap;

TEST_CASE("encoded words: the RFC 2047 section 8 examples") {
    CHECK(decode_header_value("(=?ISO-8859-1?Q?a?=)") == "(a)");
    CHECK(decode_header_value("(=?ISO-8859-1?Q?a?= b)") == "(a b)");
    CHECK(decode_header_value("(=?ISO-8859-1?Q?a?= =?ISO-8859-1?Q?b?=)") == "(ab)");
    CHECK(decode_header_value("(=?ISO-8859-1?Q?a?=  =?ISO-8859-1?Q?b?=)") == "(ab)");
    CHECK(decode_header_value("(=?ISO-8859-1?Q?a?=\r\n    =?ISO-8859-1?Q?b?=)") == "(ab)");
    CHECK(decode_header_value("(=?ISO-8859-1?Q?a_b?=)") == "(a b)");
    CHECK(decode_header_value("(=?ISO-8859-1?Q?a?= =?ISO-8859-2?Q?_b?=)") == "(a b)");
}

TEST_CASE("encoded words: charsets, B encoding, a character split across words") {
    CHECK(decode_header_value("=?ISO-8859-1?Q?Caf=E9?=") == "Caf\xc3\xa9");
    CHECK(decode_header_value("=?utf-8?B?w6k=?=") == "\xc3\xa9");
    CHECK(decode_header_value("=?UTF-8?Q?=C3?= =?UTF-8?Q?=A9?=") == "\xc3\xa9");
    CHECK(decode_header_value("=?koi8-r?B?8NLJ18XU?=") == "\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82");
    CHECK(decode_header_value("=?utf-8*en?Q?x?=") == "x");
    CHECK(decode_header_value("a =?utf-8?q?b?= c") == "a b c");
}

TEST_CASE("encoded words: broken ones stay literal") {
    CHECK(decode_header_value("=?utf-8?B?***?=") == "=?utf-8?B?***?=");
    CHECK(decode_header_value("=?no-such-charset?Q?a?= x") == "=?no-such-charset?Q?a?= x");
    CHECK(decode_header_value("=?utf-8?Q?a b?=") == "=?utf-8?Q?a b?=");
    CHECK(decode_header_value("=?utf-8?X?abc?=") == "=?utf-8?X?abc?=");
    CHECK(decode_header_value("=?utf-8?Q?unterminated") == "=?utf-8?Q?unterminated");
    CHECK(decode_header_value("=?utf-8?Q?bad=ZZ?=") == "=?utf-8?Q?bad=ZZ?=");
    CHECK(decode_header_value("=??Q?a?=") == "=??Q?a?=");
}

TEST_CASE("header values: bytes of 8-bit text that is not UTF-8 become U+FFFD") {
    CHECK(decode_header_value("caf\xe9") == "caf\xef\xbf\xbd");
    CHECK(decode_header_value("caf\xc3\xa9") == "caf\xc3\xa9");
}

TEST_CASE("transfer encodings") {
    CHECK(decode_base64("aGVs\r\nbG8=\r\n") == "hello");
    CHECK(decode_base64("aGVsbG8") == "hello");
    CHECK(decode_base64("a!G@V#s$bG8=") == "hello");
    CHECK(decode_qp("a=3Db=\r\nc  \r\nd=\ne=4") == "a=bc\r\nde=4");
    CHECK(decode_qp("=e9=E9") == "\xe9\xe9");
    bool known = true;
    CHECK(decode_body("abc", "x-uuencode", &known) == "abc");
    CHECK_FALSE(known);
    CHECK(decode_body("YQ==", "BASE64", &known) == "a");
    CHECK(known);
    CHECK(decode_body("a", "8bit", &known) == "a");
    CHECK(known);
}

TEST_CASE("charsets: iconv, replacements, unknown charsets") {
    CHECK(*to_utf8("\xe9", "iso-8859-1") == "\xc3\xa9");
    CHECK(*to_utf8("\xa4", "iso-8859-15") == "\xe2\x82\xac");
    CHECK(*to_utf8("a\xff" "b", "utf-8") == "a\xef\xbf\xbd" "b");
    CHECK_FALSE(to_utf8("x", "no-such-charset"));
    CHECK_FALSE(to_utf8("x", "bad charset/name"));
    CHECK(is_valid_utf8("\xc3\xa9"));
    CHECK_FALSE(is_valid_utf8("\xc3"));
    CHECK_FALSE(is_valid_utf8("\xc0\x80"));
    CHECK_FALSE(is_valid_utf8("\xed\xa0\x80"));
}

TEST_CASE("case folding: ASCII and simple Unicode, to upper case") {
    CHECK(fold_case("HeLLo [x]") == "HELLO [X]");
    CHECK(fold_case("\xc3\xa4\xc3\xb6\xc3\xbc") == "\xc3\x84\xc3\x96\xc3\x9c");  // äöü -> ÄÖÜ
    CHECK(fold_case("\xcf\x83") == "\xce\xa3");                                    // σ -> Σ
    CHECK(fold_case("a\xff") == "A\xef\xbf\xbd");
    CHECK(contains_folded(fold_case("Grüße aus KÖLN"), fold_case("köln")));
    CHECK_FALSE(contains_folded(fold_case("abc"), fold_case("abd")));
}

TEST_CASE("dates: search dates and Date: headers") {
    CHECK(parse_search_date("1-Feb-1994") == days_from_civil(1994, 2, 1));
    CHECK(parse_search_date("\"01-feb-1994\"") == days_from_civil(1994, 2, 1));
    CHECK(parse_search_date("29-Feb-2024"));
    for (const char* bad : {"29-Feb-2023", "1-Foo-1994", "1-Feb-94", "32-Jan-2000", "", "1 Feb 1994", "0-Jan-2000"})
        CHECK_FALSE(parse_search_date(bad));
    auto t = parse_rfc5322_date("Mon, 7 Feb 1994 21:52:25 -0800 (PST)");
    REQUIRE(t);
    CHECK(t->offset_min == -480);
    CHECK(t->utc == days_from_civil(1994, 2, 8) * 86400 + 5 * 3600 + 52 * 60 + 25);
    CHECK(day_of(t->utc, t->offset_min) == days_from_civil(1994, 2, 7));
    auto u = parse_rfc5322_date("7 Feb 94 21:52 EST");
    REQUIRE(u);
    CHECK(u->offset_min == -300);
    CHECK(day_of(u->utc, 0) == days_from_civil(1994, 2, 8));
    CHECK_FALSE(parse_rfc5322_date("yesterday"));
    CHECK_FALSE(parse_rfc5322_date("Mon, 31 Feb 1994 10:00:00 +0000"));
    CHECK(day_of(-1, 0) == -1);
}
