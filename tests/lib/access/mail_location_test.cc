// mail_location_test.cc - Dovecot's mail_location syntax and variables.
#include "lib/access/mail_location.h"

#include <catch2/catch.hpp>

using namespace mailroom::access;

TEST_CASE("mail_location: the seed's three settings", "[unit]") {
    const MailUser system{"openstack", "/home/openstack"};
    const MailUser virt{"hadoop@yuliang.com", "/var/mailbox/yuliang.com/hadoop"};
    auto a = parse_mail_location("maildir:~/Maildir", system);
    REQUIRE(a);
    CHECK(a->format == MailFormat::kMaildir);
    CHECK(a->root == "/home/openstack/Maildir");
    auto b = parse_mail_location("maildir:/var/mailbox/%d/%n/Maildir", virt);
    REQUIRE(b);
    CHECK(b->root == "/var/mailbox/yuliang.com/hadoop/Maildir");
    auto c = parse_mail_location("mbox:~/mail:INBOX=/var/mail/%u", system);
    REQUIRE(c);
    CHECK(c->format == MailFormat::kMbox);
    CHECK(c->root == "/home/openstack/mail");
    CHECK(c->inbox == "/var/mail/openstack");
}

TEST_CASE("mail_location: variables and errors", "[unit]") {
    const MailUser u{"a@b.example", "/h"};
    CHECK(*expand_mail_variables("%h/%%/%n", u) == "/h/%/a");
    CHECK(*expand_mail_variables("~", u) == "/h");
    CHECK(*expand_mail_variables("x~", u) == "x~");
    CHECK_FALSE(expand_mail_variables("%q", u));
    CHECK_FALSE(expand_mail_variables("trailing%", u));
    CHECK_FALSE(expand_mail_variables("~/Maildir", MailUser{"a", ""}));
    CHECK_FALSE(parse_mail_location("mdbox:~/mdbox", u));
    CHECK_FALSE(parse_mail_location("maildir:relative/%u", u));
    CHECK_FALSE(parse_mail_location("nocolon", u));
    // Options that do not move the mail are accepted and ignored.
    auto d = parse_mail_location("maildir:~/Maildir:INDEX=/var/index/%u", u);
    REQUIRE(d);
    CHECK(d->root == "/h/Maildir");
}

TEST_CASE("mail_location: a relative MAILDIR= is under the home", "[unit]") {
    CHECK(*resolve_maildir("/var/mailbox/a/Maildir", "/home/a") == "/var/mailbox/a/Maildir");
    CHECK(*resolve_maildir("Maildir", "/home/a") == "/home/a/Maildir");
    CHECK(*resolve_maildir("./Maildir", "/home/a/") == "/home/a/Maildir");
    CHECK_FALSE(resolve_maildir("Maildir", ""));
    CHECK_FALSE(resolve_maildir("Maildir", "relative"));
}
