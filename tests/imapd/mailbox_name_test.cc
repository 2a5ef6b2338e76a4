// mailbox_name_test.cc - modified UTF-7 and UTF-8 mailbox names.
#include "imapd/mailbox_name.h"

#include <catch2/catch.hpp>

using namespace mailroom::imapd;

TEST_CASE("mailbox names: UTF-8 to modified UTF-7 and back", "[unit]") {
    struct Case {
        const char* utf8;
        const char* mutf7;
    };
    const Case cases[] = {
        {"INBOX", "INBOX"},
        {"Entw\xc3\xbcrfe", "Entw&APw-rfe"},
        {"A&B", "A&-B"},
        {"&", "&-"},
        {"~peter/mail/\xe5\x8f\xb0\xe5\x8c\x97/\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e",
         "~peter/mail/&U,BTFw-/&ZeVnLIqe-"},  // RFC 3501's example
        {"\xf0\x9f\x93\xa7 mail", "&2D3c5w- mail"},  // outside the BMP: a surrogate pair
        {"", ""},
    };
    for (const auto& c : cases) {
        INFO(c.mutf7);
        auto to = utf8_to_mutf7(c.utf8);
        REQUIRE(to);
        CHECK(*to == c.mutf7);
        auto back = mutf7_to_utf8(c.mutf7);
        REQUIRE(back);
        CHECK(*back == c.utf8);
    }
}

TEST_CASE("mailbox names: invalid input has no conversion", "[unit]") {
    CHECK_FALSE(utf8_to_mutf7("\xc3"));          // cut sequence
    CHECK_FALSE(utf8_to_mutf7("\xc0\xaf"));      // overlong
    CHECK_FALSE(utf8_to_mutf7("\xed\xa0\x80"));  // a surrogate
    CHECK_FALSE(mutf7_to_utf8("&APw"));          // no '-'
    CHECK_FALSE(mutf7_to_utf8("&AGE-"));         // 'a' must be written directly
    CHECK_FALSE(mutf7_to_utf8("&2D0-"));         // a lone high surrogate
    CHECK_FALSE(mutf7_to_utf8("\xc3\xbc"));      // 8-bit bytes are not modified UTF-7
    CHECK_FALSE(mutf7_to_utf8("&APx-"));         // non-zero padding bits
}
