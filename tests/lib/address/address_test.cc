// address_test.cc - splitting, quoting and address extensions (lib/address/address.h).
#include "lib/address/address.h"

#include <catch2/catch.hpp>

using namespace mailroom::address;

TEST_CASE("split cuts at the last @", "[unit]") {
    auto a = split("user+ext@example.com");
    CHECK(a.local == "user+ext");
    CHECK(a.domain == "example.com");
    CHECK(a.has_at);
    auto b = split("\"a@b\"@c");
    CHECK(b.local == "\"a@b\"");
    CHECK(b.domain == "c");
    auto c = split("openstack");
    CHECK(c.local == "openstack");
    CHECK(c.domain.empty());
    CHECK(!c.has_at);
    auto d = split("user@");
    CHECK(d.has_at);
    CHECK(d.domain.empty());
    CHECK(domain_lower("Joe@Example.COM") == "example.com");
    CHECK(local_part("Joe@Example.COM") == "Joe");
}

TEST_CASE("quoting follows RFC 5322 dot-atom and quoted-string", "[unit]") {
    CHECK(quote_local_part("user.name") == "user.name");
    CHECK(quote_local_part("a b") == "\"a b\"");
    CHECK(quote_local_part("a\"b") == "\"a\\\"b\"");
    CHECK(quote_local_part(".x") == "\".x\"");
    CHECK(quote_local_part("a..b") == "\"a..b\"");
    CHECK(quote_local_part("user@host") == "\"user@host\"");
    CHECK(quote_local_part("user%host!x") == "user%host!x");  // % and ! are atext
    CHECK(unquote_local_part("\"a\\\"b\"") == "a\"b");
    CHECK(unquote_local_part("\"user@host\"") == "user@host");
    CHECK(unquote_local_part("plain") == "plain");
    CHECK(unquote_local_part("\"broken") == "\"broken");
    CHECK(is_quoted_string("\"\""));
    CHECK(!is_quoted_string("\"a\"b\""));
    CHECK(!is_quoted_string("\"a\\\""));
    CHECK(join("a b", "example.com") == "\"a b\"@example.com");
    for (const char* local : {"joe", "a b", "a\\b", "x\"y", "a..b", "user@host"}) {
        CHECK(unquote_local_part(quote_local_part(local)) == local);
    }
}

TEST_CASE("extension split by recipient_delimiter, as Postfix's split_addr", "[unit]") {
    struct Case {
        const char* local;
        const char* delims;
        const char* user;
        const char* ext;
        char delimiter;
    };
    const Case cases[] = {
        {"user+foo", "+", "user", "foo", '+'},
        {"user+foo+bar", "+", "user", "foo+bar", '+'},
        {"user-foo", "+-", "user", "foo", '-'},
        {"user+foo-bar", "-+", "user", "foo-bar", '+'},  // the first delimiter in the local part
        {"user", "+", "user", "", 0},
        {"user+foo", "", "user+foo", "", 0},
        {"+foo", "+", "+foo", "", 0},                    // never an empty user part
        {"user+", "+", "user", "", '+'},                 // an empty extension is one
        {"postmaster+x", "+", "postmaster", "x", '+'},  // only the exact names are kept whole
        {"postmaster", "+", "postmaster", "", 0},
        {"MAILER-DAEMON", "-", "MAILER-DAEMON", "", 0},
        {"double-bounce", "-", "double-bounce", "", 0},
        {"owner-list", "-", "owner-list", "", 0},
        {"Owner-list-x", "+-", "Owner-list-x", "", 0},  // owner-* is never split when '-' delimits
        {"list-request", "-", "list-request", "", 0},
        {"user-request", "+-", "user-request", "", 0},
        {"owner-list+x", "+", "owner-list", "x", '+'},  // '-' is no delimiter: the rule is off
    };
    for (const auto& c : cases) {
        INFO(c.local << " / " << c.delims);
        auto p = split_extension(c.local, {c.delims});
        CHECK(p.user == c.user);
        CHECK(p.extension == c.ext);
        CHECK(p.delimiter == c.delimiter);
    }
    SECTION("owner_request_special = no splits owner- and -request too") {
        ExtensionRules rules{"-", false};
        CHECK(split_extension("owner-list", rules).user == "owner");
        CHECK(split_extension("list-request", rules).extension == "request");
    }
}

TEST_CASE("strip_extension and add_extension", "[unit]") {
    auto s = strip_extension("user+tag@alias.example", {"+"});
    REQUIRE(s);
    CHECK(s->address == "user@alias.example");
    CHECK(s->extension == "+tag");
    CHECK(!strip_extension("user@alias.example", {"+"}));
    CHECK(!strip_extension("user+tag@alias.example", {""}));
    auto q = strip_extension("\"joe smith+x\"@d", {"+"});
    REQUIRE(q);
    CHECK(q->address == "\"joe smith\"@d");
    auto bare = strip_extension("joe+x", {"+"});
    REQUIRE(bare);
    CHECK(bare->address == "joe");
    CHECK(add_extension("target@mx.example.test", "+tag") == "target+tag@mx.example.test");
    CHECK(add_extension("target", "+tag") == "target+tag");
    CHECK(add_extension("\"a b\"@d", "+x") == "\"a b+x\"@d");
    CHECK(add_extension("target@d", "") == "target@d");
}

TEST_CASE("trailing dots and address literals", "[unit]") {
    CHECK(strip_trailing_dot("example.com.") == "example.com");
    CHECK(strip_trailing_dot("example.com..") == "example.com..");
    CHECK(strip_trailing_dot("example.com") == "example.com");
    CHECK(strip_trailing_dot(".") == ".");
    CHECK(address_literal("[192.0.2.1]") == std::optional<std::string>("192.0.2.1"));
    CHECK(address_literal("[IPv6:2001:db8::1]") == std::optional<std::string>("2001:db8::1"));
    CHECK(address_literal("[ipv6:::1]") == std::optional<std::string>("::1"));
    CHECK(!address_literal("[300.1.1.1]"));
    CHECK(!address_literal("[2001:db8::1]"));  // IPv6 needs its tag
    CHECK(!address_literal("192.0.2.1"));
    CHECK(!address_literal("[]"));
}
