#include "lib/config/master_cf.h"

#include <catch2/catch.hpp>

using namespace mailroom::config;

TEST_CASE("master.cf entries with columns and defaults and -o overrides", "[unit]") {
    const char* text =
        "# ==========================================================================\n"
        "# service type  private unpriv  chroot  wakeup  maxproc command + args\n"
        "smtp      inet  n       -       n       -       -       smtpd\n"
        "127.0.0.1:2525 inet n   -       y       -       10      smtpd\n"
        "  -o smtpd_tls_security_level=encrypt\n"
        "  -o { smtpd_client_restrictions = permit_sasl_authenticated, reject }\n"
        "pickup    unix  n       -       n       60      1       pickup\n"
        "qmgr      unix  n       -       n       300?    1       qmgr\n"
        "\n"
        "maildrop  unix  -       n       n       -       -       pipe\n"
        "    flags=DRhu user=vmail argv=/usr/bin/maildrop -d ${recipient}\n";
    auto r = parse_master_cf(text, "master.cf");
    REQUIRE(r.ok());
    const auto& s = *r;
    REQUIRE(s.size() == 5);

    CHECK(s[0].name == "smtp");
    CHECK(s[0].type == "inet");
    CHECK(s[0].private_ == false);
    CHECK_FALSE(s[0].unpriv.has_value());
    CHECK(s[0].is_unpriv());
    CHECK_FALSE(s[0].is_chroot());
    CHECK_FALSE(s[0].maxproc.has_value());
    CHECK(s[0].command == "smtpd");
    CHECK(s[0].line == 3);

    CHECK(s[1].name == "127.0.0.1:2525");
    CHECK(s[1].is_chroot());
    CHECK(s[1].maxproc == 10);
    REQUIRE(s[1].overrides.size() == 2);
    CHECK(s[1].overrides[0] == std::make_pair(std::string("smtpd_tls_security_level"), std::string("encrypt")));
    CHECK(s[1].overrides[1] ==
          std::make_pair(std::string("smtpd_client_restrictions"), std::string("permit_sasl_authenticated, reject")));
    CHECK(s[1].line == 4);
    CHECK(s[1].last_line == 6);

    CHECK(s[2].wakeup == 60);
    CHECK_FALSE(s[2].wakeup_conditional);
    CHECK(s[3].wakeup == 300);
    CHECK(s[3].wakeup_conditional);

    CHECK(s[4].name == "maildrop");
    CHECK(s[4].is_private());
    CHECK(s[4].unpriv == false);
    CHECK(s[4].command == "pipe");
    CHECK(s[4].args ==
          std::vector<std::string>{"flags=DRhu", "user=vmail", "argv=/usr/bin/maildrop", "-d", "${recipient}"});
}

TEST_CASE("master.cf errors name the file and line", "[unit]") {
    struct Case {
        const char* text;
        const char* expect;
    } cases[] = {
        {"smtp inet n - n - - \n", "master.cf, line 1: missing command name"},
        {"smtp tcp n - n - - smtpd\n", "master.cf, line 1: bad transport type: tcp"},
        {"smtp inet x - n - - smtpd\n", "master.cf, line 1: bad private field value: x"},
        {"smtp inet n maybe n - - smtpd\n", "master.cf, line 1: bad unprivileged field value: maybe"},
        {"smtp inet n - yes - - smtpd\n", "master.cf, line 1: bad chroot field value: yes"},
        {"smtp inet n - n 1x - smtpd\n", "master.cf, line 1: bad wakeup time field value: 1x"},
        {"smtp inet n - n - -1 smtpd\n", "master.cf, line 1: bad max process count: -1"},
        {"smtp inet y - n - - smtpd\n", "master.cf, line 1: inet service cannot be private: smtp"},
        {"a unix - - n - - x\n\na unix - - n - - y\n", "master.cf, line 3: duplicate service name and type: a/unix"},
        {"a unix - - n - - x -o\n", "master.cf, line 1: missing value after -o"},
        {"a unix - - n - - x -o novalue\n", "master.cf, line 1: missing '=' in -o argument"},
        {"a unix - - n - - x -o { a = b\n", "master.cf, line 1: missing '}'"},
        {"  -o a=b\n", "master.cf, line 1: continuation line without a preceding service"},
    };
    for (const auto& c : cases) {
        INFO(c.text);
        auto r = parse_master_cf(c.text, "master.cf");
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().message.rfind(c.expect, 0) == 0);
    }
}

TEST_CASE("same name with different types is allowed", "[unit]") {
    auto r = parse_master_cf("smtp inet n - n - - smtpd\nsmtp unix - - n - - smtp\n", "master.cf");
    REQUIRE(r.ok());
    CHECK(r->size() == 2);
}

TEST_CASE("postconf -M layout", "[unit]") {
    auto r = parse_master_cf("smtp inet n - n - - smtpd\n  -o a=b\n", "master.cf");
    REQUIRE(r.ok());
    CHECK(format_master_entry(r->front()) ==
          "smtp       inet  n       -       n       -       -       smtpd -o a=b");
}
