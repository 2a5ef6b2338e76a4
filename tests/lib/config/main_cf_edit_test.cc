#include "lib/config/main_cf_edit.h"

#include <catch2/catch.hpp>

using namespace mailroom::config;

namespace {
const char* kCommented =
    "# Global Postfix configuration file.\n"
    "#\n"
    "queue_directory = /var/spool/postfix\n"
    "\n"
    "# The myhostname parameter\n"
    "#myhostname = host.domain.tld\n"
    "myhostname = old.example.com\n"
    "smtpd_recipient_restrictions =\n"
    "    permit_mynetworks,\n"
    "# inline comment\n"
    "    reject_unauth_destination\n"
    "mydomain = example.com\n"
    "\t# trailing indented comment\n";
}  // namespace

TEST_CASE("postconf -e changes only the edited line", "[unit]") {
    MainCfEdit e;
    e.set = {{"myhostname", "mail.magedu.com"}};
    std::string out = edit_main_cf(kCommented, e, "main.cf", nullptr);
    std::string expect = kCommented;
    expect.replace(expect.find("myhostname = old.example.com"), std::string("myhostname = old.example.com").size(),
                   "myhostname = mail.magedu.com");
    CHECK(out == expect);
}

TEST_CASE("an edited multi-line entry becomes one line and comments inside stay", "[unit]") {
    MainCfEdit e;
    e.set = {{"smtpd_recipient_restrictions", "permit_mynetworks, permit_sasl_authenticated, reject"}};
    std::string out = edit_main_cf(kCommented, e, "main.cf", nullptr);
    CHECK(out.find("smtpd_recipient_restrictions = permit_mynetworks, permit_sasl_authenticated, reject\n"
                   "# inline comment\n"
                   "mydomain = example.com\n") != std::string::npos);
    CHECK(out.find("    permit_mynetworks,\n") == std::string::npos);
}

TEST_CASE("new parameters are appended and a missing final newline is supplied", "[unit]") {
    MainCfEdit e;
    e.set = {{"smtputf8_enable", "no"}, {"empty_one", ""}};
    CHECK(edit_main_cf("a = 1", e, "main.cf", nullptr) == "a = 1\nsmtputf8_enable = no\nempty_one =\n");
    CHECK(edit_main_cf("", e, "main.cf", nullptr) == "smtputf8_enable = no\nempty_one =\n");
}

TEST_CASE("postconf -X removes and -# comments out whole entries", "[unit]") {
    MainCfEdit x;
    x.remove = {"smtpd_recipient_restrictions"};
    std::string removed = edit_main_cf(kCommented, x, "main.cf", nullptr);
    CHECK(removed.find("smtpd_recipient_restrictions") == std::string::npos);
    CHECK(removed.find("reject_unauth_destination") == std::string::npos);
    CHECK(removed.find("# inline comment\nmydomain = example.com\n") != std::string::npos);

    MainCfEdit c;
    c.comment_out = {"myhostname", "smtpd_recipient_restrictions"};
    std::string commented = edit_main_cf(kCommented, c, "main.cf", nullptr);
    CHECK(commented.find("#myhostname = old.example.com\n") != std::string::npos);
    CHECK(commented.find("#smtpd_recipient_restrictions =\n#    permit_mynetworks,\n# inline comment\n"
                         "#    reject_unauth_destination\n") != std::string::npos);
    // The file still parses and no longer defines the commented names.
    CHECK(commented.find("\nmyhostname") == std::string::npos);
}

TEST_CASE("multiple definitions are all edited with a warning", "[unit]") {
    MainCfEdit e;
    e.set = {{"a", "3"}};
    std::vector<std::string> w;
    CHECK(edit_main_cf("a = 1\nb = 2\na = 2\n", e, "/etc/mailroom/main.cf", &w) == "a = 3\nb = 2\na = 3\n");
    REQUIRE(w.size() == 1);
    CHECK(w[0] == "/etc/mailroom/main.cf: multiple entries for \"a\"");
}

TEST_CASE("a name that is a prefix of another is not touched", "[unit]") {
    MainCfEdit e;
    e.set = {{"mydomain", "x"}};
    CHECK(edit_main_cf("mydomain_extra = 1\nmydomain=2\n", e, "m", nullptr) == "mydomain_extra = 1\nmydomain = x\n");
}

TEST_CASE("master.cf entries are edited by service and type", "[unit]") {
    const char* text =
        "# comment\n"
        "smtp      inet  n       -       n       -       -       smtpd\n"
        "smtp      unix  -       -       n       -       -       smtp\n"
        "maildrop  unix  -       n       n       -       -       pipe\n"
        "  flags=DRhu user=vmail argv=/usr/bin/maildrop -d ${recipient}\n";
    MasterCfEdit e;
    e.set = {{"smtp/unix", "smtp unix - - n - 5 smtp"}, {"new/unix", "new unix - - n - - x"}};
    e.remove = {"maildrop/unix"};
    CHECK(edit_master_cf(text, e, "master.cf", nullptr) ==
          "# comment\n"
          "smtp      inet  n       -       n       -       -       smtpd\n"
          "smtp unix - - n - 5 smtp\n"
          "new unix - - n - - x\n");
    MasterCfEdit c;
    c.comment_out = {"maildrop/unix"};
    CHECK(edit_master_cf(text, c, "master.cf", nullptr).find(
              "#maildrop  unix  -       n       n       -       -       pipe\n#  flags=DRhu") != std::string::npos);
}
