// maildir_name_test.cc - the Maildir file name format (pure functions).
#include "lib/mailbox/maildir_name.h"

#include <catch2/catch.hpp>

#include "lib/mailbox/sys_error.h"

using namespace mailroom::mailbox;

TEST_CASE("maildir host escaping replaces slash and colon", "[unit]") {
    struct Case {
        const char* in;
        const char* out;
    };
    const Case cases[] = {
        {"mx.example.com", "mx.example.com"},
        {"a/b", "a\\057b"},
        {"host:25", "host\\07225"},
        {"/:/", "\\057\\072\\057"},
        {"", ""},
    };
    for (const Case& c : cases) {
        INFO(c.in);
        CHECK(escape_maildir_host(c.in) == c.out);
    }
}

TEST_CASE("maildir base name has time usec pid counter and host", "[unit]") {
    UniqueNameParts p;
    p.seconds = 1700000000;
    p.usec = 42;
    p.pid = 4242;
    p.counter = 7;
    p.host = "mx:1/x";
    CHECK(make_maildir_base(p) == "1700000000.M000042P4242Q7.mx\\0721\\057x");
    CHECK(add_maildir_sizes("b", 10, std::nullopt) == "b,S=10");
    CHECK(add_maildir_sizes("b", 10, 12) == "b,S=10,W=12");
}

TEST_CASE("maildir info suffix parsing", "[unit]") {
    struct Case {
        const char* filename;
        const char* base;
        bool has_info;
        const char* flags;
    };
    const Case cases[] = {
        {"1.M1P1Q1.h,S=5", "1.M1P1Q1.h,S=5", false, ""},
        {"b:2,", "b", true, ""},
        {"b:2,S", "b", true, "S"},
        {"b:2,SR", "b", true, "RS"},
        {"b:2,TSRPFD", "b", true, "DFPRST"},
        {"b:2,SSRR", "b", true, "RS"},
        {"b:2,aS", "b", true, "Sa"},  // keywords sort after the upper-case flags
        {"b:2,S-1!", "b", true, "S"},
        {"b:1,xyz", "b", true, ""},  // experimental info: no flags
        {"b.h,S=9:2,F", "b.h,S=9", true, "F"},
    };
    for (const Case& c : cases) {
        INFO(c.filename);
        MaildirName n = parse_maildir_name(c.filename);
        CHECK(n.base == c.base);
        CHECK(n.has_info == c.has_info);
        CHECK(n.flags == c.flags);
    }
    CHECK(parse_maildir_name("b:1,xyz").info == "1,xyz");
}

TEST_CASE("maildir flags format in ASCII order", "[unit]") {
    CHECK(format_maildir_name("b", "SRF") == "b:2,FRS");
    CHECK(format_maildir_name("b", "") == "b:2,");
    CHECK(normalize_maildir_flags("TTDS") == "DST");
    CHECK(maildir_has_flag("DFS", kFlagSeen));
    CHECK_FALSE(maildir_has_flag("DF", kFlagSeen));
}

TEST_CASE("maildir size fields are read from the name", "[unit]") {
    struct Case {
        const char* filename;
        std::optional<uint64_t> size;
        std::optional<uint64_t> vsize;
    };
    const Case cases[] = {
        {"1.M1P1Q1.host,S=1234", 1234, std::nullopt},
        {"1.M1P1Q1.host,S=1234,W=1300:2,S", 1234, 1300},
        {"1.M1P1Q1.host,W=7,S=3", 3, 7},
        {"1.M1P1Q1.host", std::nullopt, std::nullopt},
        {"1.M1P1Q1.host,S=", std::nullopt, std::nullopt},
        {"1.M1P1Q1.host,S=12x", std::nullopt, std::nullopt},
        {"1.M1P1Q1.host:2,S=9", std::nullopt, std::nullopt},  // flags are not a size
        {"1.M1P1Q1.host,S=99999999999999999999999", std::nullopt, std::nullopt},
    };
    for (const Case& c : cases) {
        INFO(c.filename);
        CHECK(maildir_name_size(c.filename) == c.size);
        CHECK(maildir_name_vsize(c.filename) == c.vsize);
    }
}

TEST_CASE("errno classification for delivery errors", "[unit]") {
    CHECK(errno_is_temporary(ENOSPC));
    CHECK(errno_is_temporary(EDQUOT));
    CHECK(errno_is_temporary(EAGAIN));
    CHECK_FALSE(errno_is_temporary(ENOTDIR));
    CHECK_FALSE(errno_is_temporary(EACCES));
    CHECK_FALSE(errno_is_temporary(EISDIR));
    mailroom::Error e = sys_error("write", "/var/mail/u", ENOSPC);
    CHECK(e.temporary());
    CHECK(e.message == "write /var/mail/u: No space left on device");
    CHECK_FALSE(sys_error("open", "/x", EACCES).temporary());
}
