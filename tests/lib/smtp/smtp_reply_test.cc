// smtp_reply_test.cc - reply texts, multi-line formatting and the EHLO
// keyword list (the seed's EHLO transcript reproduced byte for byte).
#include "lib/smtp/smtp_reply.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

using namespace mailroom::smtp;

TEST_CASE("smtp_reply texts match Postfix", "[unit]") {
    struct Case {
        const char* name;
        Reply reply;
        const char* wire;
    };
    const std::vector<Case> cases = {
        {"greeting", replies::greeting("PXE1.localdomain ESMTP Postfix"), "220 PXE1.localdomain ESMTP Postfix\r\n"},
        {"helo", replies::helo("mail.yuliang.com"), "250 mail.yuliang.com\r\n"},
        {"bye", replies::bye(), "221 2.0.0 Bye\r\n"},
        {"ok", replies::ok(), "250 2.0.0 Ok\r\n"},
        {"mail ok", replies::mail_ok(), "250 2.1.0 Ok\r\n"},
        {"rcpt ok", replies::rcpt_ok(), "250 2.1.5 Ok\r\n"},
        {"data", replies::data_go_ahead(), "354 End data with <CR><LF>.<CR><LF>\r\n"},
        {"queued", replies::queued("D786582E95"), "250 2.0.0 Ok: queued as D786582E95\r\n"},
        {"need mail", replies::need_mail(), "503 5.5.1 Error: need MAIL command\r\n"},
        {"need rcpt", replies::need_rcpt(), "503 5.5.1 Error: need RCPT command\r\n"},
        {"nested mail", replies::nested_mail(), "503 5.5.1 Error: nested MAIL command\r\n"},
        {"need helo", replies::need_helo(), "503 5.5.1 Error: send HELO/EHLO first\r\n"},
        {"size", replies::size_exceeded(), "552 5.3.4 Message size exceeds fixed limit\r\n"},
        {"too many rcpt", replies::too_many_recipients(), "452 4.5.3 Error: too many recipients\r\n"},
        {"relay denied temp", replies::relay_denied("obama@whitehouse.com", true),
         "454 4.7.1 <obama@whitehouse.com>: Relay access denied\r\n"},
        {"relay denied perm", replies::relay_denied("a@b.c", false), "554 5.7.1 <a@b.c>: Relay access denied\r\n"},
        {"client rejected", replies::client_rejected("unknown", "192.168.3.87"),
         "554 5.7.1 <unknown[192.168.3.87]>: Client host rejected: Access denied\r\n"},
        {"sender rejected", replies::sender_rejected("obama@whitehouse.com"),
         "554 5.7.1 <obama@whitehouse.com>: Sender address rejected: Access denied\r\n"},
        {"recipient rejected", replies::recipient_rejected("openstack@yuliang.com"),
         "554 5.7.1 <openstack@yuliang.com>: Recipient address rejected: Access denied\r\n"},
        {"unknown local", replies::unknown_user("x@example.com", replies::RecipientTable::kLocal),
         "550 5.1.1 <x@example.com>: Recipient address rejected: User unknown in local recipient table\r\n"},
        {"unknown virtual", replies::unknown_user("x@example.com", replies::RecipientTable::kVirtualMailbox),
         "550 5.1.1 <x@example.com>: Recipient address rejected: User unknown in virtual mailbox table\r\n"},
        {"timeout", replies::timeout("mail.example.com"), "421 4.4.2 mail.example.com Error: timeout exceeded\r\n"},
        {"too many errors", replies::too_many_errors("mail.example.com"),
         "421 4.7.0 mail.example.com Error: too many errors\r\n"},
        {"bad syntax", replies::bad_syntax(), "500 5.5.2 Error: bad syntax\r\n"},
        {"not recognized", replies::not_recognized(), "502 5.5.2 Error: command not recognized\r\n"},
        {"config error", replies::server_config_error(), "451 4.3.5 Server configuration error\r\n"},
        {"temp lookup", replies::temp_lookup_failure("a@b.c"), "451 4.3.0 <a@b.c>: Temporary lookup failure\r\n"},
        {"auth ok", replies::auth_ok(), "235 2.7.0 Authentication successful\r\n"},
        {"auth challenge", replies::auth_challenge("VXNlcm5hbWU6"), "334 VXNlcm5hbWU6\r\n"},
        {"starttls", replies::starttls_ready(), "220 2.0.0 Ready to start TLS\r\n"},
        {"no valid rcpt", replies::no_valid_recipients(), "554 5.5.1 Error: no valid recipients\r\n"},
        {"vrfy disabled", replies::vrfy_disabled(), "502 5.5.1 VRFY command is disabled\r\n"},
        {"tls unavailable", replies::tls_unavailable(), "454 4.7.0 TLS not available due to local problem\r\n"},
        {"tls active", replies::tls_already_active(), "554 5.5.1 Error: TLS already active\r\n"},
        {"must starttls", replies::encryption_required(), "530 5.7.0 Must issue a STARTTLS command first\r\n"},
        {"auth failed", replies::auth_failed("authentication failure"),
         "535 5.7.8 Error: authentication failed: authentication failure\r\n"},
        {"auth already", replies::auth_already(), "503 5.5.1 Error: already authenticated\r\n"},
        {"auth not enabled", replies::auth_not_enabled(), "503 5.5.1 Error: authentication not enabled\r\n"},
        {"auth in transaction", replies::auth_in_transaction(), "503 5.5.1 Error: MAIL transaction in progress\r\n"},
        {"auth aborted", replies::auth_aborted(), "501 5.7.0 Authentication aborted\r\n"},
        {"auth needs tls", replies::auth_needs_encryption(),
         "504 5.5.4 Encryption required for requested authentication mechanism\r\n"},
        {"auth= disabled", replies::auth_param_disabled(), "503 5.5.4 Error: authentication disabled\r\n"},
        {"etrn unavailable", replies::etrn_unavailable(), "458 Unable to queue messages\r\n"},
        {"dsn disabled", replies::dsn_disabled(), "501 5.7.1 DSN support is disabled\r\n"},
        {"smtputf8 required", replies::smtputf8_required(),
         "553 5.6.7 Must declare SMTPUTF8 to send unicode address\r\n"},
        {"data after bdat", replies::data_after_bdat(), "503 5.5.1 Error: DATA after BDAT\r\n"},
        {"chunk too big", replies::chunk_too_big(), "552 5.3.4 Chunk exceeds message size limit\r\n"},
        {"bdat ok", replies::bdat_ok(1000), "250 2.0.0 Ok: 1000 bytes\r\n"},
        {"storage", replies::insufficient_storage(), "452 4.3.1 Insufficient system storage\r\n"},
    };
    for (const auto& c : cases) {
        SECTION(c.name) { CHECK(c.reply.format() == c.wire); }
    }
}

TEST_CASE("smtp_reply multi-line formatting", "[unit]") {
    Reply r{250, "", {"first", "second", "last"}};
    CHECK(r.format() == "250-first\r\n250-second\r\n250 last\r\n");
    Reply d{550, "5.7.1", {"one", "two"}};
    CHECK(d.format() == "550-5.7.1 one\r\n550 5.7.1 two\r\n");
    CHECK(d.text() == "550 5.7.1 one");
    // CR/LF from a hostile source never split a line on the wire.
    Reply h = make_reply(554, "5.7.1", "evil\r\n250 ok");
    CHECK(h.format() == "554 5.7.1 evil  250 ok\r\n");
    // Lines are bounded.
    Reply big = make_reply(250, "2.0.0", std::string(2000, 'x'));
    CHECK(big.format().size() <= 512);
}

TEST_CASE("smtp_reply parses configured reply text", "[unit]") {
    auto a = reply_from_text("554 5.7.1 go away");
    CHECK(a.code == 554);
    CHECK(a.dsn == "5.7.1");
    CHECK(a.text() == "554 5.7.1 go away");
    auto b = reply_from_text("450 try later");
    CHECK(b.code == 450);
    CHECK(b.dsn.empty());
    CHECK(b.text() == "450 try later");
    CHECK(reply_from_text("hello").text() == "451 4.3.5 Server configuration error");
    CHECK(reply_from_text("654 x").text() == "451 4.3.5 Server configuration error");
}

TEST_CASE("smtp_reply EHLO reproduces the seed transcript", "[unit]") {
    EhloOptions o;
    o.myhostname = "mail.yuliang.com";
    o.message_size_limit = 10240000;
    o.auth_mechanisms = {"PLAIN", "LOGIN"};
    o.broken_sasl_auth_clients = true;
    o.smtputf8 = false;
    o.chunking = false;
    CHECK(replies::ehlo(o).format() ==
          "250-mail.yuliang.com\r\n"
          "250-PIPELINING\r\n"
          "250-SIZE 10240000\r\n"
          "250-VRFY\r\n"
          "250-ETRN\r\n"
          "250-AUTH PLAIN LOGIN\r\n"
          "250-AUTH=PLAIN LOGIN\r\n"
          "250-ENHANCEDSTATUSCODES\r\n"
          "250-8BITMIME\r\n"
          "250 DSN\r\n");
}

TEST_CASE("smtp_reply EHLO keywords and smtpd_discard_ehlo_keywords", "[unit]") {
    struct Case {
        const char* name;
        std::vector<std::string> discard;
        bool starttls;
        uint64_t size_limit;
        std::vector<std::string> expected;
    };
    const std::vector<Case> cases = {
        {"defaults", {}, false, 10240000,
         {"PIPELINING", "SIZE 10240000", "VRFY", "ETRN", "ENHANCEDSTATUSCODES", "8BITMIME", "DSN", "SMTPUTF8",
          "CHUNKING"}},
        {"starttls offered", {}, true, 0,
         {"PIPELINING", "SIZE", "VRFY", "ETRN", "STARTTLS", "ENHANCEDSTATUSCODES", "8BITMIME", "DSN", "SMTPUTF8",
          "CHUNKING"}},
        {"discard several", {"PIPELINING", "dsn", "Etrn", "chunking"}, false, 5,
         {"SIZE 5", "VRFY", "ENHANCEDSTATUSCODES", "8BITMIME", "SMTPUTF8"}},
        {"discard unknown name is harmless", {"silent-discard", "bogus"}, false, 1,
         {"PIPELINING", "SIZE 1", "VRFY", "ETRN", "ENHANCEDSTATUSCODES", "8BITMIME", "DSN", "SMTPUTF8",
          "CHUNKING"}},
    };
    for (const auto& c : cases) {
        SECTION(c.name) {
            EhloOptions o;
            o.discard = c.discard;
            o.starttls = c.starttls;
            o.message_size_limit = c.size_limit;
            CHECK(ehlo_keywords(o) == c.expected);
        }
    }
    SECTION("discard auth drops both auth lines") {
        EhloOptions o;
        o.auth_mechanisms = {"PLAIN"};
        o.broken_sasl_auth_clients = true;
        o.discard = {"auth"};
        for (const auto& k : ehlo_keywords(o)) CHECK(k.rfind("AUTH", 0) == std::string::npos);
    }
    SECTION("vrfy disabled") {
        EhloOptions o;
        o.vrfy = false;
        for (const auto& k : ehlo_keywords(o)) CHECK(k != "VRFY");
    }
}
