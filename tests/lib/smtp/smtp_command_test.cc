// smtp_command_test.cc - the SMTP command parser: valid and invalid
// command tables (every command typed in the seed transcripts included),
// ESMTP parameters, xtext, strict_rfc821_envelopes and the line limit.
#include "lib/smtp/smtp_command.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

using namespace mailroom::smtp;

namespace {

struct ValidCase {
    const char* name;
    const char* line;
    Verb verb;
    const char* address;   // MAIL/RCPT/VRFY address
    const char* argument;  // HELO name, ETRN domain, ...
};

const std::vector<ValidCase> kValid = {
    // Commands typed in the seed transcripts.
    {"seed helo with name", "helo mail.yuliang.com", Verb::kHelo, "", "mail.yuliang.com"},
    {"seed ehlo", "ehlo mail.yuliang.com", Verb::kEhlo, "", "mail.yuliang.com"},
    {"seed bare mail from", "mail from:hadoop", Verb::kMail, "hadoop", ""},
    {"seed bare rcpt to", "rcpt to:openstack", Verb::kRcpt, "openstack", ""},
    {"seed mail from qq", "mail from:jerry@qq.com", Verb::kMail, "jerry@qq.com", ""},
    {"seed rcpt yahoo", "rcpt to:a@yahoo.com", Verb::kRcpt, "a@yahoo.com", ""},
    {"seed mail from abc", "mail from:abc@abc.com", Verb::kMail, "abc@abc.com", ""},
    {"seed rcpt whitehouse", "rcpt to:obama@whitehouse.com", Verb::kRcpt, "obama@whitehouse.com", ""},
    {"seed rcpt trailing space", "rcpt to:openstack@yuliang.com ", Verb::kRcpt, "openstack@yuliang.com", ""},
    {"seed mail trailing spaces", "mail from:root@yuliang.com  ", Verb::kMail, "root@yuliang.com", ""},
    {"seed mail numeric user", "mail from:1062817308@qq.com", Verb::kMail, "1062817308@qq.com", ""},
    {"seed data", "data", Verb::kData, "", ""},
    {"seed quit", "quit", Verb::kQuit, "", ""},
    {"seed quit trailing space", "quit ", Verb::kQuit, "", ""},
    // Standard forms.
    {"bracketed mail", "MAIL FROM:<user@example.com>", Verb::kMail, "user@example.com", ""},
    {"null sender", "MAIL FROM:<>", Verb::kMail, "", ""},
    {"space after colon", "mail from: <a@b.c>", Verb::kMail, "a@b.c", ""},
    {"tab after colon", "rcpt to:\t<a@b.c>", Verb::kRcpt, "a@b.c", ""},
    {"mixed case verb", "MaIl FrOm:<x@y.z>", Verb::kMail, "x@y.z", ""},
    {"source route stripped", "RCPT TO:<@hop1,@hop2:user@dest.example>", Verb::kRcpt, "user@dest.example", ""},
    {"single hop route", "RCPT TO:<@hop1:user@d.example>", Verb::kRcpt, "user@d.example", ""},
    {"quoted local part", "MAIL FROM:<\"john doe\"@example.com>", Verb::kMail, "\"john doe\"@example.com", ""},
    {"quoted with escaped quote", "MAIL FROM:<\"a\\\"b\"@x.y>", Verb::kMail, "\"a\\\"b\"@x.y", ""},
    {"quoted gt inside", "RCPT TO:<\"a>b\"@x.y>", Verb::kRcpt, "\"a>b\"@x.y", ""},
    {"postmaster", "RCPT TO:<postmaster>", Verb::kRcpt, "postmaster", ""},
    {"ip literal domain", "RCPT TO:<u@[192.0.2.1]>", Verb::kRcpt, "u@[192.0.2.1]", ""},
    {"utf8 address", "MAIL FROM:<\xc3\xa9@example.com> SMTPUTF8", Verb::kMail, "\xc3\xa9@example.com", ""},
    {"rset", "RSET", Verb::kRset, "", ""},
    {"noop", "NOOP", Verb::kNoop, "", ""},
    {"quit with text", "QUIT now", Verb::kQuit, "", "now"},
    {"helo collapses blanks", "HELO  a   b ", Verb::kHelo, "", "a b"},
    {"vrfy bracketed", "VRFY <user@example.com>", Verb::kVrfy, "user@example.com", "<user@example.com>"},
    {"vrfy bare", "VRFY root", Verb::kVrfy, "root", "root"},
    {"etrn", "ETRN example.com", Verb::kEtrn, "", "example.com"},
    {"etrn at sign", "ETRN @example.com", Verb::kEtrn, "", "@example.com"},
    {"etrn hash", "ETRN #queue.example", Verb::kEtrn, "", "#queue.example"},
    {"starttls", "STARTTLS", Verb::kStartTls, "", ""},
    {"help", "HELP", Verb::kHelp, "", ""},
    {"help topic", "help mail", Verb::kHelp, "", "mail"},
};

struct InvalidCase {
    const char* name;
    const char* line;
    const char* reply;
    bool fatal;
};

const std::vector<InvalidCase> kInvalid = {
    // Seed: "helo" alone, "helo" with only spaces, and the typo "hleo".
    {"seed helo without name", "helo", "501 Syntax: HELO hostname", false},
    {"seed helo with spaces", "helo          ", "501 Syntax: HELO hostname", false},
    {"seed typo hleo", "hleo", "502 5.5.2 Error: command not recognized", false},
    {"ehlo without name", "EHLO", "501 Syntax: EHLO hostname", false},
    {"empty line", "", "500 5.5.2 Error: bad syntax", false},
    {"blank line", "   ", "500 5.5.2 Error: bad syntax", false},
    {"nul byte", "(replaced by a line with a NUL byte)", "500 5.5.2 Error: bad syntax", false},
    {"mail without from", "MAIL", "501 5.5.4 Syntax: MAIL FROM:<address>", false},
    {"mail wrong keyword", "MAIL TO:<a@b>", "501 5.5.4 Syntax: MAIL FROM:<address>", false},
    {"mail from nothing", "MAIL FROM:", "501 5.5.4 Syntax: MAIL FROM:<address>", false},
    {"mail from spaces only", "MAIL FROM:   ", "501 5.5.4 Syntax: MAIL FROM:<address>", false},
    {"rcpt without to", "RCPT <a@b>", "501 5.5.4 Syntax: RCPT TO:<address>", false},
    {"unterminated bracket", "MAIL FROM:<a@b", "501 5.1.7 Bad sender address syntax", false},
    {"junk after bracket", "MAIL FROM:<a@b>x", "501 5.1.7 Bad sender address syntax", false},
    {"space inside brackets", "MAIL FROM:<a b@c>", "501 5.1.7 Bad sender address syntax", false},
    {"unbalanced quote", "MAIL FROM:<\"ab@c>", "501 5.1.7 Bad sender address syntax", false},
    {"null recipient", "RCPT TO:<>", "501 5.1.3 Bad recipient address syntax", false},
    {"bad source route", "RCPT TO:<@:user@d>", "501 5.1.3 Bad recipient address syntax", false},
    {"route to nothing", "RCPT TO:<@a:>", "501 5.1.3 Bad recipient address syntax", false},
    {"control char in address", "RCPT TO:<a\x01@b>", "500 5.5.2 Error: bad syntax", false},
    {"bare word with bracket", "MAIL FROM:a<b", "501 5.1.7 Bad sender address syntax", false},
    {"unknown mail option", "MAIL FROM:<a@b> FOO=bar", "555 5.5.4 Unsupported option: FOO=bar", false},
    {"unknown rcpt option", "RCPT TO:<a@b> SIZE=10", "555 5.5.4 Unsupported option: SIZE=10", false},
    {"bad size", "MAIL FROM:<a@b> SIZE=12x", "501 5.5.4 Bad message size syntax", false},
    {"size overflow", "MAIL FROM:<a@b> SIZE=999999999999999999999",
     "552 5.3.4 Message size exceeds file system imposed limit", false},
    {"size without value", "MAIL FROM:<a@b> SIZE", "555 5.5.4 Unsupported option: SIZE", false},
    {"size empty", "MAIL FROM:<a@b> SIZE=", "501 5.5.4 Bad message size syntax", false},
    {"bad body", "MAIL FROM:<a@b> BODY=9BIT", "555 5.5.4 Unsupported option: BODY=9BIT", false},
    {"bad ret", "MAIL FROM:<a@b> RET=ALL", "501 5.5.4 Bad RET parameter syntax", false},
    {"duplicate ret", "MAIL FROM:<a@b> RET=FULL RET=HDRS", "501 5.5.4 Bad RET parameter syntax", false},
    {"duplicate envid", "MAIL FROM:<a@b> ENVID=a ENVID=b", "501 5.5.4 Bad ENVID parameter syntax", false},
    {"envid decodes to control", "MAIL FROM:<a@b> ENVID=a+0A", "501 5.5.4 Bad ENVID parameter syntax", false},
    {"duplicate auth", "MAIL FROM:<a@b> AUTH=<> AUTH=<>", "503 5.5.4 Error: multiple AUTH= options", false},
    {"duplicate notify", "RCPT TO:<a@b> NOTIFY=NEVER NOTIFY=NEVER", "501 5.5.4 Error: Bad NOTIFY parameter syntax",
     false},
    {"duplicate orcpt", "RCPT TO:<a@b> ORCPT=rfc822;a ORCPT=rfc822;a", "501 5.5.4 Error: Bad ORCPT parameter syntax",
     false},
    {"bad envid xtext", "MAIL FROM:<a@b> ENVID=ab+ZZ", "501 5.5.4 Bad ENVID parameter syntax", false},
    {"smtputf8 with value", "MAIL FROM:<a@b> SMTPUTF8=yes", "555 5.5.4 Unsupported option: SMTPUTF8=yes", false},
    {"noop with argument", "NOOP hello", "501 5.5.4 Syntax: NOOP", false},
    {"bad notify", "RCPT TO:<a@b> NOTIFY=SOMETIMES", "501 5.5.4 Error: Bad NOTIFY parameter syntax", false},
    {"never with others", "RCPT TO:<a@b> NOTIFY=NEVER,DELAY", "501 5.5.4 Error: Bad NOTIFY parameter syntax",
     false},
    {"bad orcpt", "RCPT TO:<a@b> ORCPT=rfc822", "501 5.5.4 Error: Bad ORCPT parameter syntax", false},
    {"data with argument", "DATA now", "501 5.5.4 Syntax: DATA", false},
    {"rset with argument", "RSET x", "501 5.5.4 Syntax: RSET", false},
    {"starttls with argument", "STARTTLS x", "501 5.5.4 Syntax: STARTTLS", false},
    {"bdat without size", "BDAT", "501 5.5.4 Syntax: BDAT count [LAST]", false},
    {"bdat bad size", "BDAT -1", "501 5.5.4 Syntax: BDAT count [LAST]", false},
    {"bdat bad last", "BDAT 10 FIRST", "501 5.5.4 Syntax: BDAT count [LAST]", false},
    {"vrfy without address", "VRFY", "501 5.5.4 Syntax: VRFY address", false},
    {"etrn without domain", "ETRN", "500 Syntax: ETRN domain", false},
    {"etrn two words", "ETRN a b", "500 Syntax: ETRN domain", false},
    {"etrn bad domain", "ETRN @bad..example", "501 Error: invalid parameter syntax", false},
    {"auth without mechanism", "AUTH", "501 5.5.4 Syntax: AUTH mechanism", false},
    {"auth bad mechanism", "AUTH PL@IN", "501 5.5.4 Syntax: AUTH mechanism", false},
    {"auth too many words", "AUTH PLAIN a b", "501 5.5.4 Syntax: AUTH mechanism", false},
};

}  // namespace

TEST_CASE("smtp_command valid table", "[unit]") {
    for (const auto& c : kValid) {
        SECTION(c.name) {
            auto r = parse_command(c.line);
            INFO(c.line);
            REQUIRE(r.ok());
            CHECK(r.command().verb == c.verb);
            CHECK(r.command().address == c.address);
            if (c.verb != Verb::kMail && c.verb != Verb::kRcpt) CHECK(r.command().argument == c.argument);
        }
    }
}

TEST_CASE("smtp_command invalid table", "[unit]") {
    for (const auto& c : kInvalid) {
        SECTION(c.name) {
            // The nul-byte case needs its length; the others are C strings.
            std::string line = std::string(c.name) == "nul byte" ? std::string("MAIL\0 FROM:<a@b>", 16)
                                                                 : std::string(c.line);
            auto r = parse_command(line);
            INFO(line);
            REQUIRE_FALSE(r.ok());
            CHECK(r.error().reply() == c.reply);
            CHECK(r.error().fatal() == c.fatal);
        }
    }
}

TEST_CASE("smtp_command MAIL parameters are decoded", "[unit]") {
    auto r = parse_command("MAIL FROM:<a@example.com> SIZE=12345 BODY=8BITMIME SMTPUTF8 RET=HDRS "
                           "ENVID=QQ+2B314 AUTH=user+2Bx@example.com");
    REQUIRE(r.ok());
    const auto& m = r.command().mail;
    REQUIRE(m.size.has_value());
    CHECK(*m.size == 12345u);
    CHECK(m.body == BodyType::k8BitMime);
    CHECK(m.smtputf8);
    CHECK(m.ret == DsnRet::kHdrs);
    CHECK(m.envid == "QQ+314");
    REQUIRE(m.auth.has_value());
    CHECK(*m.auth == "user+x@example.com");

    auto n = parse_command("mail from:<> body=7bit ret=full auth=<>");
    REQUIRE(n.ok());
    CHECK(n.command().address.empty());
    CHECK(n.command().mail.body == BodyType::k7Bit);
    CHECK(n.command().mail.ret == DsnRet::kFull);
    CHECK(*n.command().mail.auth == "<>");

    auto b = parse_command("MAIL FROM:<a@b> BODY=BINARYMIME");
    REQUIRE(b.ok());
    CHECK(b.command().mail.body == BodyType::kBinaryMime);
}

TEST_CASE("smtp_command RCPT parameters are decoded", "[unit]") {
    auto r = parse_command("RCPT TO:<b@example.com> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;b+2Bx@example.com");
    REQUIRE(r.ok());
    CHECK(r.command().rcpt.notify == (kNotifySuccess | kNotifyFailure));
    CHECK(r.command().rcpt.orcpt_type == "rfc822");
    CHECK(r.command().rcpt.orcpt_address == "b+x@example.com");

    auto n = parse_command("RCPT TO:<b@example.com> notify=never");
    REQUIRE(n.ok());
    CHECK(n.command().rcpt.notify == kNotifyNever);

    auto d = parse_command("RCPT TO:<b@example.com> NOTIFY=DELAY");
    REQUIRE(d.ok());
    CHECK(d.command().rcpt.notify == kNotifyDelay);
}

TEST_CASE("smtp_command BDAT and AUTH arguments", "[unit]") {
    auto b = parse_command("BDAT 1000 LAST");
    REQUIRE(b.ok());
    CHECK(b.command().verb == Verb::kBdat);
    CHECK(b.command().bdat_size == 1000u);
    CHECK(b.command().bdat_last);
    auto b2 = parse_command("bdat 0");
    REQUIRE(b2.ok());
    CHECK(b2.command().bdat_size == 0u);
    CHECK_FALSE(b2.command().bdat_last);

    // Seed: "auth login" without an initial response.
    auto a = parse_command("auth login");
    REQUIRE(a.ok());
    CHECK(a.command().verb == Verb::kAuth);
    CHECK(a.command().auth_mechanism == "LOGIN");
    CHECK_FALSE(a.command().auth_initial.has_value());

    auto p = parse_command("AUTH PLAIN AGhhZG9vcABzZWNyZXQ=");
    REQUIRE(p.ok());
    CHECK(p.command().auth_mechanism == "PLAIN");
    REQUIRE(p.command().auth_initial.has_value());
    CHECK(*p.command().auth_initial == "AGhhZG9vcABzZWNyZXQ=");

    auto e = parse_command("AUTH PLAIN =");
    REQUIRE(e.ok());
    CHECK(*e.command().auth_initial == "=");
}

TEST_CASE("smtp_command strict_rfc821_envelopes", "[unit]") {
    ParseOptions strict;
    strict.strict_rfc821_envelopes = true;
    struct Case {
        const char* line;
        bool lenient_ok;
        const char* strict_reply;  // "" = accepted in strict mode too
    };
    const std::vector<Case> cases = {
        {"mail from:hadoop", true, "501 5.1.7 Bad sender address syntax"},
        {"rcpt to:openstack", true, "501 5.1.3 Bad recipient address syntax"},
        {"mail from:   jerry@qq.com", true, "501 5.1.7 Bad sender address syntax"},
        // Postfix's tokenizer skips blanks after the colon in both modes.
        {"mail from: <a@b.c>", true, ""},
        {"mail from:<a@b.c>", true, ""},
        {"rcpt to:<a@b.c> NOTIFY=NEVER", true, ""},
    };
    for (const auto& c : cases) {
        INFO(c.line);
        CHECK(parse_command(c.line).ok() == c.lenient_ok);
        auto s = parse_command(c.line, strict);
        if (std::string(c.strict_reply).empty()) {
            CHECK(s.ok());
        } else {
            REQUIRE_FALSE(s.ok());
            CHECK(s.error().reply() == c.strict_reply);
        }
    }
}

TEST_CASE("smtp_command line_length_limit is a fatal error", "[unit]") {
    ParseOptions o;
    o.line_length_limit = 64;
    std::string ok_line = "MAIL FROM:<" + std::string(40, 'a') + "@b.c>";
    REQUIRE(ok_line.size() <= 64);
    CHECK(parse_command(ok_line, o).ok());
    std::string long_line = "MAIL FROM:<" + std::string(60, 'a') + "@b.c>";
    auto r = parse_command(long_line, o);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().reply() == "500 5.5.2 Error: line too long");
    CHECK(r.error().fatal());
    // The default limit is 2048 (line_length_limit).
    CHECK(parse_command("HELO " + std::string(2040, 'x')).ok());
    CHECK(parse_command("HELO " + std::string(2050, 'x')).error().reply() == "500 5.5.2 Error: line too long");
}

TEST_CASE("smtp_command xtext decoding", "[unit]") {
    struct Case {
        const char* in;
        const char* out;  // nullptr = invalid
    };
    const std::vector<Case> cases = {
        {"abc", "abc"},         {"a+2Bb", "a+b"},  {"+3D", "="},     {"+41+42", "AB"},
        {"a+2b", nullptr},      {"a+", nullptr},   {"a+4", nullptr}, {"a=b", nullptr},
        {"a b", nullptr},       {"", ""},
    };
    for (const auto& c : cases) {
        INFO(c.in);
        auto r = xtext_decode(c.in);
        if (c.out == nullptr) {
            CHECK_FALSE(r.has_value());
        } else {
            REQUIRE(r.has_value());
            CHECK(*r == c.out);
        }
    }
}

TEST_CASE("smtp_command verb names round-trip", "[unit]") {
    for (const char* v : {"HELO", "EHLO", "MAIL", "RCPT", "DATA", "BDAT", "RSET", "NOOP", "QUIT", "VRFY", "ETRN",
                          "STARTTLS", "AUTH", "HELP"}) {
        auto r = parse_command(std::string(v) + (std::string(v) == "HELO" || std::string(v) == "EHLO" ? " h" : ""));
        INFO(v);
        if (r.ok()) {
            CHECK(verb_name(r.command().verb) == v);
        } else {
            // Verbs that need arguments still were recognised.
            CHECK(r.error().code != 502);
        }
    }
}

TEST_CASE("smtp_command options from main.cf", "[unit]") {
    auto defaults = mailroom::config::Config::from_text("", "/tmp");
    REQUIRE(defaults.ok());
    auto d = parse_options_from_config(*defaults);
    REQUIRE(d.ok());
    CHECK_FALSE(d->strict_rfc821_envelopes);
    CHECK(d->line_length_limit == 2048u);
    auto strict = mailroom::config::Config::from_text("strict_rfc821_envelopes = yes\nline_length_limit = 100\n",
                                                      "/tmp");
    REQUIRE(strict.ok());
    auto s = parse_options_from_config(*strict);
    REQUIRE(s.ok());
    CHECK(s->strict_rfc821_envelopes);
    CHECK(s->line_length_limit == 100u);
    CHECK_FALSE(parse_command("mail from:hadoop", *s).ok());
}
