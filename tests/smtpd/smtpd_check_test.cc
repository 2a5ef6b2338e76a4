// smtpd_check_test.cc - the restriction evaluator: every restriction and
// access-map action, smtpd_delay_reject ordering, restriction classes,
// warn_if_reject, lookup failures, and the seed's configurations with the
// exact reply texts the seed shows.
#include "tests/smtpd/smtpd_check_fixture.h"

using namespace mailroom;
using namespace mailroom::smtpd;
using namespace smtpd_check_test;

// ---------------------------------------------------------------------------
// The seed's configurations.

TEST_CASE("smtpd_check seed check_client_access rejects 192.168.3.87", "[unit]") {
    Fixture f;
    LogCapture cap;
    CheckConfig cfg;
    cfg.client_restrictions = {"check_client_access", f.dir.texthash("access", "192.168.3.87    REJECT\n")};
    Checker checker(cfg, f.hooks());
    SessionState s = session("unknown", "192.168.3.87");
    s.helo_name = "372dbe460707424";
    // smtpd_delay_reject = yes: nothing happens before RCPT.
    CHECK(outcome(checker.check_client(s)) == "dunno");
    CHECK(outcome(checker.check_helo(s)) == "dunno");
    s.sender = "hadoop@yuliang.com";
    CHECK(outcome(checker.check_mail(s)) == "dunno");
    s.recipient = "openstack@yuliang.com";
    CHECK(outcome(checker.check_rcpt(s)) ==
          "554 5.7.1 <unknown[192.168.3.87]>: Client host rejected: Access denied");
    CHECK(cap.contains("NOQUEUE: reject: RCPT from unknown[192.168.3.87]: 554 5.7.1 <unknown[192.168.3.87]>: "
                       "Client host rejected: Access denied; from=<hadoop@yuliang.com> to=<openstack@yuliang.com> "
                       "proto=ESMTP helo=<372dbe460707424>"));
    // Another client is not affected; the default relay restrictions still apply.
    SessionState other = session("ns1.yuliang.com", "192.168.3.111");
    other.sender = "hadoop@yuliang.com";
    other.recipient = "openstack@yuliang.com";
    CHECK(outcome(checker.check_rcpt(other)) == "dunno");
}

TEST_CASE("smtpd_check seed client access without delay_reject rejects at connect", "[unit]") {
    Fixture f;
    CheckConfig cfg;
    cfg.delay_reject = false;
    cfg.client_restrictions = {"check_client_access", f.dir.texthash("access", "192.168.3.87 REJECT\n")};
    Checker checker(cfg, f.hooks());
    SessionState s = session("unknown", "192.168.3.87");
    CHECK(outcome(checker.check_client(s)) ==
          "554 5.7.1 <unknown[192.168.3.87]>: Client host rejected: Access denied");
    // Address prefixes match too (192.168.3 covers the /24).
    CheckConfig cfg2 = cfg;
    cfg2.client_restrictions = {"check_client_access", f.dir.texthash("access2", "192.168.3 REJECT\n")};
    Checker c2(cfg2, f.hooks());
    CHECK(c2.check_client(s).rejected());
    // So does the client host name and its parent domains.
    CheckConfig cfg3 = cfg;
    cfg3.client_restrictions = {"check_client_access", f.dir.texthash("access3", "example.net REJECT\n")};
    Checker c3(cfg3, f.hooks());
    SessionState named = session("mx.spam.example.net", "198.51.100.7");
    CHECK(outcome(c3.check_client(named)) ==
          "554 5.7.1 <mx.spam.example.net[198.51.100.7]>: Client host rejected: Access denied");
}

TEST_CASE("smtpd_check seed check_sender_access rejects whitehouse.com", "[unit]") {
    Fixture f;
    CheckConfig cfg;
    cfg.sender_restrictions = {"check_sender_access", f.dir.texthash("access", "whitehouse.com  REJECT\n")};
    Checker checker(cfg, f.hooks());
    SessionState s = session("ns1.yuliang.com", "192.168.3.111");
    s.sender = "obama@whitehouse.com";
    CHECK(outcome(checker.check_mail(s)) == "dunno");  // delayed until RCPT
    s.recipient = "openstack@yuliang.com";
    CHECK(outcome(checker.check_rcpt(s)) ==
          "554 5.7.1 <obama@whitehouse.com>: Sender address rejected: Access denied");
}

TEST_CASE("smtpd_check access maps see an unqualified address with @$myorigin", "[unit]") {
    // Postfix looks the address up after rewriting it in the local context;
    // the reply names it as the client sent it.
    Fixture f;
    CheckConfig cfg;
    cfg.myorigin = "yuliang.com";
    cfg.sender_restrictions = {"check_sender_access", f.dir.texthash("access", "hadoop@yuliang.com REJECT\n")};
    cfg.recipient_restrictions = {"check_recipient_access", f.dir.texthash("rcpt", "yuliang.com REJECT no\n")};
    Checker checker(cfg, f.hooks());
    SessionState s = session("ns1.yuliang.com", "192.168.3.111");
    s.client_in_mynetworks = true;  // past the relay restrictions
    s.sender = "hadoop";
    s.recipient = "openstack@example.org";
    CHECK(outcome(checker.check_rcpt(s)) == "554 5.7.1 <hadoop>: Sender address rejected: Access denied");
    s.sender = "";
    s.recipient = "openstack";
    CHECK(outcome(checker.check_rcpt(s)) == "554 5.7.1 <openstack>: Recipient address rejected: no");
}

TEST_CASE("smtpd_check seed check_recipient_access before permit_mynetworks", "[unit]") {
    Fixture f;
    CheckConfig cfg;
    cfg.recipient_restrictions = {"check_recipient_access", f.dir.texthash("recipient", "openstack@      REJECT\n"),
                                  "permit_mynetworks", "reject_unauth_destination"};
    Checker checker(cfg, f.hooks());
    SessionState s = session("ns1.yuliang.com", "192.168.3.111");
    s.client_in_mynetworks = true;
    s.sender = "1062817308@qq.com";
    s.recipient = "openstack@yuliang.com";
    CHECK(outcome(checker.check_rcpt(s)) ==
          "554 5.7.1 <openstack@yuliang.com>: Recipient address rejected: Access denied");
    s.recipient = "hadoop@yuliang.com";
    CHECK(outcome(checker.check_rcpt(s)) == "permit");
}

TEST_CASE("smtpd_check seed relay control with permit_mynetworks and reject_unauth_destination", "[unit]") {
    Fixture f;
    struct Case {
        const char* name;
        std::vector<std::string> relay;
        std::vector<std::string> recipient;
        bool in_mynetworks;
        const char* rcpt;
        const char* expected;
    };
    const std::vector<std::string> postfix3_relay = {"permit_mynetworks", "permit_sasl_authenticated",
                                                     "defer_unauth_destination"};
    const std::vector<Case> cases = {
        // mynetworks = 127.0.0.0/8 and telnet from 192.168.3.111: the seed's 454.
        {"default relay restrictions deny", postfix3_relay, {}, false, "obama@whitehouse.com",
         "454 4.7.1 <obama@whitehouse.com>: Relay access denied"},
        // The relay list permits; the (empty) recipient list then decides nothing: accepted.
        {"default relay restrictions allow mynetworks", postfix3_relay, {}, true, "obama@whitehouse.com",
         "dunno"},
        {"local domain accepted from outside", postfix3_relay, {}, false, "openstack@yuliang.com", "dunno"},
        {"seed recipient restrictions deny", {}, {"permit_mynetworks", "reject_unauth_destination"}, false,
         "obama@whitehouse.com", "554 5.7.1 <obama@whitehouse.com>: Relay access denied"},
        {"seed recipient restrictions allow", {}, {"permit_mynetworks", "reject_unauth_destination"}, true,
         "a@yahoo.com", "permit"},
        {"relay_domains is authorized", {}, {"reject_unauth_destination"}, false, "known@relayed.example",
         "dunno"},
        {"virtual domain is authorized", {}, {"reject_unauth_destination"}, false, "u@virt.example", "dunno"},
        {"permit_auth_destination", {}, {"permit_auth_destination", "reject"}, false, "openstack@yuliang.com",
         "permit"},
        {"permit_auth_destination falls through", {}, {"permit_auth_destination", "reject"}, false,
         "x@elsewhere.example", "554 5.7.1 <x@elsewhere.example>: Recipient address rejected: Access denied"},
    };
    for (const auto& c : cases) {
        SECTION(c.name) {
            CheckConfig cfg;
            cfg.relay_restrictions = c.relay;
            cfg.recipient_restrictions = c.recipient;
            Checker checker(cfg, f.hooks());
            SessionState s = session("mail.yuliang.com", "192.168.3.111");
            s.client_in_mynetworks = c.in_mynetworks;
            s.sender = "abc@qq.com";
            s.recipient = c.rcpt;
            CHECK(outcome(checker.check_rcpt(s)) == c.expected);
        }
    }
}

TEST_CASE("smtpd_check seed SASL recipient restrictions", "[unit]") {
    Fixture f;
    f.dns.domains["qq.com"] = DnsStatus::kOk;
    f.dns.domains["yuliang.com"] = DnsStatus::kOk;
    f.dns.domains["temp.example"] = DnsStatus::kTempFail;
    CheckConfig cfg;
    cfg.recipient_restrictions = util::split_list(
        "permit_mynetworks,permit_sasl_authenticated,reject_invalid_hostname,reject_non_fqdn_hostname,"
        "reject_unknown_sender_domain,reject_non_fqdn_sender,reject_non_fqdn_recipient,"
        "reject_unknown_recipient_domain,reject_unauth_pipelining,reject_unauth_destination");
    // Only relay restrictions that do not decide, so the recipient list is what is tested.
    cfg.relay_restrictions = {};
    Checker checker(cfg, f.hooks());
    REQUIRE(checker.validate().ok());

    struct Case {
        const char* name;
        const char* helo;
        const char* sasl_user;
        const char* sender;
        const char* rcpt;
        bool pipelining;
        const char* expected;
    };
    const std::vector<Case> cases = {
        {"authenticated relays", "mail.yuliang.com", "hadoop", "hadoop@yuliang.com", "1062817308@qq.com", false,
         "permit"},
        {"unauthenticated relay denied", "mail.yuliang.com", "", "hadoop@yuliang.com", "1062817308@qq.com", false,
         "554 5.7.1 <1062817308@qq.com>: Relay access denied"},
        {"invalid helo", "bad..name", "", "a@qq.com", "openstack@yuliang.com", false,
         "501 5.5.2 <bad..name>: Helo command rejected: Invalid name"},
        {"non fqdn helo", "PXE1", "", "a@qq.com", "openstack@yuliang.com", false,
         "504 5.5.2 <PXE1>: Helo command rejected: need fully-qualified hostname"},
        {"unknown sender domain", "mail.example.org", "", "x@nonexistent.example", "openstack@yuliang.com", false,
         "450 4.1.8 <x@nonexistent.example>: Sender address rejected: Domain not found"},
        {"non fqdn sender", "mail.example.org", "", "hadoop", "openstack@yuliang.com", false,
         "504 5.5.2 <hadoop>: Sender address rejected: need fully-qualified address"},
        {"non fqdn recipient", "mail.example.org", "", "a@qq.com", "openstack", false,
         "504 5.5.2 <openstack>: Recipient address rejected: need fully-qualified address"},
        {"unknown recipient domain", "mail.example.org", "", "a@qq.com", "x@nowhere.example", false,
         "450 4.1.2 <x@nowhere.example>: Recipient address rejected: Domain not found"},
        {"temporary dns failure defers", "mail.example.org", "", "a@temp.example", "openstack@yuliang.com", false,
         "450 4.1.8 <a@temp.example>: Sender address rejected: Domain not found"},
        {"unauth pipelining", "mail.example.org", "", "a@qq.com", "openstack@yuliang.com", true,
         "503 5.5.0 <openstack@yuliang.com>: Recipient address rejected: Improper use of SMTP command pipelining"},
        {"clean local delivery", "mail.example.org", "", "a@qq.com", "openstack@yuliang.com", false, "dunno"},
    };
    for (const auto& c : cases) {
        SECTION(c.name) {
            SessionState s = session("unknown", "192.168.3.87");
            s.helo_name = c.helo;
            s.sasl_username = c.sasl_user;
            s.sender = c.sender;
            s.recipient = c.rcpt;
            s.improper_pipelining = c.pipelining;
            CHECK(outcome(checker.check_rcpt(s)) == c.expected);
        }
    }
}

// ---------------------------------------------------------------------------
// Access-map actions, one per row.

TEST_CASE("smtpd_check access map actions", "[unit]") {
    struct Case {
        const char* name;
        const char* value;
        const char* expected;  // outcome()
        const char* effect;    // "", "hold", "discard", "filter", "redirect", "bcc", "prepend"
        const char* log;       // substring expected in the log, or ""
    };
    const std::vector<Case> cases = {
        {"OK permits", "OK", "permit", "", ""},
        {"RELAY permits", "RELAY", "permit", "", ""},
        {"all-numeric permits", "20160505", "permit", "", ""},
        {"DUNNO continues", "DUNNO", "dunno", "", ""},
        {"REJECT", "REJECT", "554 5.7.1 <x@spam.example>: Sender address rejected: Access denied", "", ""},
        {"REJECT with text", "REJECT go away",
         "554 5.7.1 <x@spam.example>: Sender address rejected: go away", "", ""},
        {"REJECT with dsn", "REJECT 5.7.9 policy",
         "554 5.7.9 <x@spam.example>: Sender address rejected: policy", "", ""},
        {"DEFER", "DEFER", "450 4.7.1 <x@spam.example>: Sender address rejected: Access denied", "", ""},
        {"DEFER with text", "DEFER come back later",
         "450 4.7.1 <x@spam.example>: Sender address rejected: come back later", "", ""},
        {"5NN text", "550 not here", "550 5.7.1 <x@spam.example>: Sender address rejected: not here", "", ""},
        {"4NN text", "451 slow down", "451 4.7.1 <x@spam.example>: Sender address rejected: slow down", "", ""},
        {"5NN with dsn", "550 5.1.8 bad domain",
         "550 5.1.8 <x@spam.example>: Sender address rejected: bad domain", "", ""},
        {"code and dsn class agree", "550 4.7.1 mixed",
         "550 5.7.1 <x@spam.example>: Sender address rejected: mixed", "", ""},
        {"HOLD", "HOLD", "dunno", "hold", "hold: RCPT from"},
        {"DISCARD", "DISCARD", "permit", "discard", "discard: RCPT from"},
        {"FILTER", "FILTER smtp:[127.0.0.1]:10025", "dunno", "filter", "triggers FILTER smtp:[127.0.0.1]:10025"},
        {"FILTER without transport", "FILTER nowhere", "dunno", "", ""},
        {"REDIRECT", "REDIRECT abuse@example.com", "dunno", "redirect", "triggers REDIRECT abuse@example.com"},
        {"BCC", "BCC archive@example.com", "dunno", "bcc", "triggers BCC archive@example.com"},
        {"PREPEND", "PREPEND X-Checked: yes", "dunno", "prepend", ""},
        {"PREPEND needs a header", "PREPEND not a header", "dunno", "", ""},
        {"WARN", "WARN suspicious sender", "dunno", "", "warn: RCPT from unknown[203.0.113.9]: suspicious sender"},
        {"INFO", "INFO noted", "dunno", "", "info: RCPT from unknown[203.0.113.9]: noted"},
        {"restriction class", "deny_all", "554 5.7.1 <x@spam.example>: Sender address rejected: Access denied", "",
         ""},
        {"restriction names", "permit_mynetworks, reject",
         "554 5.7.1 <x@spam.example>: Sender address rejected: Access denied", "", ""},
        {"lookup table in value", "hash:/etc/postfix/other", "451 4.3.5 Server configuration error", "", ""},
        {"unknown word in value", "MAYBE", "451 4.3.5 Server configuration error", "", ""},
        {"DEFER_IF_PERMIT", "DEFER_IF_PERMIT try later",
         "450 4.7.1 <x@spam.example>: Sender address rejected: try later", "", ""},
    };
    for (const auto& c : cases) {
        SECTION(c.name) {
            Fixture f;
            LogCapture cap;
            CheckConfig cfg;
            cfg.restriction_classes["deny_all"] = {"reject"};
            cfg.sender_restrictions = {"check_sender_access",
                                       f.dir.texthash("access", std::string("spam.example ") + c.value + "\n")};
            cfg.relay_restrictions = {};
            Checker checker(cfg, f.hooks());
            SessionState s = session("unknown", "203.0.113.9");
            s.sender = "x@spam.example";
            s.recipient = "openstack@yuliang.com";
            // The sender list's own verdict: delay_reject = no, at MAIL.
            CheckConfig direct = cfg;
            direct.delay_reject = false;
            Checker at_mail(direct, f.hooks());
            SessionState m = s;
            m.recipient.reset();
            CHECK(outcome(at_mail.check_mail(m)) == c.expected);
            // And through RCPT with delay_reject = yes (side effects and logs).
            CheckResult r = checker.check_rcpt(s);
            if (std::string(c.expected).rfind("4", 0) == 0 || std::string(c.expected).rfind("5", 0) == 0) {
                CHECK(outcome(r) == c.expected);
            } else {
                CHECK_FALSE(r.rejected());
            }
            std::string e = c.effect;
            CHECK(s.effects.hold == (e == "hold"));
            CHECK(s.effects.discard == (e == "discard"));
            CHECK((s.effects.filter == "smtp:[127.0.0.1]:10025") == (e == "filter"));
            CHECK((s.effects.redirect == "abuse@example.com") == (e == "redirect"));
            CHECK((s.effects.bcc == std::vector<std::string>{"archive@example.com"}) == (e == "bcc"));
            CHECK((s.effects.prepend == std::vector<std::string>{"X-Checked: yes"}) == (e == "prepend"));
            if (*c.log) CHECK(cap.contains(c.log));
        }
    }
}

TEST_CASE("smtpd_check access map key order and the null sender", "[unit]") {
    Fixture f;
    CheckConfig cfg;
    cfg.delay_reject = false;
    cfg.sender_restrictions = {
        "check_sender_access",
        f.dir.texthash("access", "good@example.com OK\nexample.com REJECT domain\npostmaster@ REJECT user part\n"
                                 "<> REJECT no bounces\nsub.parent.example REJECT sub\nparent.example OK\n")};
    Checker checker(cfg, f.hooks());
    struct Case {
        const char* sender;
        const char* expected;
    };
    const std::vector<Case> cases = {
        {"good@example.com", "permit"},
        {"bad@example.com", "554 5.7.1 <bad@example.com>: Sender address rejected: domain"},
        {"Bad@EXAMPLE.com", "554 5.7.1 <Bad@EXAMPLE.com>: Sender address rejected: domain"},
        {"x@deep.sub.parent.example", "554 5.7.1 <x@deep.sub.parent.example>: Sender address rejected: sub"},
        {"x@other.parent.example", "permit"},
        {"postmaster@elsewhere.example", "554 5.7.1 <postmaster@elsewhere.example>: Sender address rejected: user part"},
        {"", "554 5.7.1 <>: Sender address rejected: no bounces"},
        {"someone@unlisted.example", "dunno"},
    };
    for (const auto& c : cases) {
        SessionState s = session("unknown", "203.0.113.9");
        s.sender = c.sender;
        INFO(c.sender);
        CHECK(outcome(checker.check_mail(s)) == c.expected);
    }
}

// ---------------------------------------------------------------------------
// Built-in restrictions, one per row.

TEST_CASE("smtpd_check built-in restrictions", "[unit]") {
    struct Case {
        const char* name;
        const char* restrictions;  // placed in smtpd_recipient_restrictions
        std::function<void(SessionState&, Fixture&)> setup;
        const char* expected;
    };
    auto none = [](SessionState&, Fixture&) {};
    const std::vector<Case> cases = {
        {"permit", "permit", none, "permit"},
        {"reject", "reject", none, "554 5.7.1 <rcpt@yuliang.com>: Recipient address rejected: Access denied"},
        {"defer", "defer", none, "450 4.3.2 <rcpt@yuliang.com>: Recipient address rejected: Try again later"},
        {"permit_mynetworks no", "permit_mynetworks", none, "dunno"},
        {"permit_mynetworks yes", "permit_mynetworks", [](SessionState& s, Fixture&) { s.client_in_mynetworks = true; },
         "permit"},
        {"permit_sasl_authenticated no", "permit_sasl_authenticated", none, "dunno"},
        {"permit_sasl_authenticated yes", "permit_sasl_authenticated",
         [](SessionState& s, Fixture&) { s.sasl_username = "hadoop"; }, "permit"},
        {"reject_unknown_client_hostname perm", "reject_unknown_client_hostname", none,
         "450 4.7.25 Client host rejected: cannot find your hostname, [203.0.113.9]"},
        {"reject_unknown_client_hostname ok", "reject_unknown_client_hostname",
         [](SessionState& s, Fixture&) { s.client_name_status = PeerStatus::kOk; }, "dunno"},
        {"reject_unknown_client_hostname temp", "reject_unknown_client_hostname",
         [](SessionState& s, Fixture&) { s.client_name_status = PeerStatus::kTempFail; },
         "450 4.7.25 Client host rejected: cannot find your hostname, [203.0.113.9]"},
        {"reject_unknown_reverse_client_hostname", "reject_unknown_reverse_client_hostname", none,
         "450 4.7.1 Client host rejected: cannot find your reverse hostname, [203.0.113.9]"},
        {"reject_invalid_helo_hostname ok", "reject_invalid_helo_hostname", none, "dunno"},
        {"reject_invalid_helo_hostname bad", "reject_invalid_helo_hostname",
         [](SessionState& s, Fixture&) { s.helo_name = "bad_name!"; },
         "501 5.5.2 <bad_name!>: Helo command rejected: Invalid name"},
        {"reject_invalid_helo_hostname literal", "reject_invalid_helo_hostname",
         [](SessionState& s, Fixture&) { s.helo_name = "[300.1.1.1]"; },
         "501 5.5.2 <[300.1.1.1]>: Helo command rejected: invalid ip address"},
        {"reject_invalid_helo_hostname good literal", "reject_invalid_helo_hostname",
         [](SessionState& s, Fixture&) { s.helo_name = "[192.0.2.1]"; }, "dunno"},
        {"reject_non_fqdn_helo_hostname", "reject_non_fqdn_helo_hostname",
         [](SessionState& s, Fixture&) { s.helo_name = "localhost"; },
         "504 5.5.2 <localhost>: Helo command rejected: need fully-qualified hostname"},
        {"reject_non_fqdn_hostname old name", "reject_non_fqdn_hostname",
         [](SessionState& s, Fixture&) { s.helo_name = "localhost"; },
         "504 5.5.2 <localhost>: Helo command rejected: need fully-qualified hostname"},
        {"reject_non_fqdn_helo_hostname trailing dot", "reject_non_fqdn_helo_hostname",
         [](SessionState& s, Fixture&) { s.helo_name = "mail.example.org."; }, "dunno"},
        {"helo restrictions skip without helo", "reject_non_fqdn_helo_hostname",
         [](SessionState& s, Fixture&) { s.helo_name.reset(); }, "dunno"},
        {"reject_unknown_helo_hostname", "reject_unknown_helo_hostname", none,
         "450 4.7.1 <mail.example.org>: Helo command rejected: Host not found"},
        {"reject_unknown_helo_hostname found", "reject_unknown_helo_hostname",
         [](SessionState&, Fixture& f) { f.dns.hosts["mail.example.org"] = DnsStatus::kOk; }, "dunno"},
        {"reject_unknown_hostname old name", "reject_unknown_hostname", none,
         "450 4.7.1 <mail.example.org>: Helo command rejected: Host not found"},
        {"reject_unknown_sender_domain found", "reject_unknown_sender_domain",
         [](SessionState&, Fixture& f) { f.dns.domains["qq.com"] = DnsStatus::kOk; }, "dunno"},
        {"reject_unknown_sender_domain nullmx", "reject_unknown_sender_domain",
         [](SessionState&, Fixture& f) { f.dns.domains["qq.com"] = DnsStatus::kNullMx; },
         "550 5.7.27 <sender@qq.com>: Sender address rejected: Domain qq.com does not accept mail (nullMX)"},
        {"reject_unknown_sender_domain local skips dns", "reject_unknown_sender_domain",
         [](SessionState& s, Fixture&) { s.sender = "root@yuliang.com"; }, "dunno"},
        {"reject_unknown_recipient_domain local", "reject_unknown_recipient_domain", none, "dunno"},
        {"reject_non_fqdn_sender null sender", "reject_non_fqdn_sender",
         [](SessionState& s, Fixture&) { s.sender = ""; }, "dunno"},
        {"reject_non_fqdn_recipient literal", "reject_non_fqdn_recipient",
         [](SessionState& s, Fixture&) { s.recipient = "u@[192.0.2.1]"; }, "dunno"},
        {"reject_plaintext_session", "reject_plaintext_session", none, "450 4.7.1 Session encryption is required"},
        {"reject_plaintext_session tls", "reject_plaintext_session",
         [](SessionState& s, Fixture&) { s.tls_active = true; }, "dunno"},
        {"reject_unauth_pipelining", "reject_unauth_pipelining",
         [](SessionState& s, Fixture&) { s.improper_pipelining = true; },
         "503 5.5.0 <rcpt@yuliang.com>: Recipient address rejected: Improper use of SMTP command pipelining"},
        {"reject_rbl_client listed", "reject_rbl_client zen.example",
         [](SessionState&, Fixture& f) {
             f.dns.lists["9.113.0.203.zen.example"] = DnsListAnswer{DnsStatus::kOk, {"127.0.0.2"}, "listed"};
         },
         "554 5.7.1 Service unavailable; Client host [203.0.113.9] blocked using zen.example; listed"},
        {"reject_rbl_client not listed", "reject_rbl_client zen.example", none, "dunno"},
        {"reject_rbl_client pattern mismatch", "reject_rbl_client zen.example=127.0.0.[10..11]",
         [](SessionState&, Fixture& f) {
             f.dns.lists["9.113.0.203.zen.example"] = DnsListAnswer{DnsStatus::kOk, {"127.0.0.2"}, ""};
         },
         "dunno"},
        {"reject_rbl_client pattern match", "reject_rbl_client zen.example=127.0.0.[1..3]",
         [](SessionState&, Fixture& f) {
             f.dns.lists["9.113.0.203.zen.example"] = DnsListAnswer{DnsStatus::kOk, {"127.0.0.2"}, ""};
         },
         "554 5.7.1 Service unavailable; Client host [203.0.113.9] blocked using zen.example"},
        {"reject_rbl_client hostile pattern", "reject_rbl_client zen.example=127.0.0.[99999999999999999999;1..99999999999]",
         [](SessionState&, Fixture& f) {
             f.dns.lists["9.113.0.203.zen.example"] = DnsListAnswer{DnsStatus::kOk, {"127.0.0.2"}, ""};
         },
         "dunno"},
        {"reject_rbl_client temp failure is dunno", "reject_rbl_client zen.example",
         [](SessionState&, Fixture& f) {
             f.dns.lists["9.113.0.203.zen.example"] = DnsListAnswer{DnsStatus::kTempFail, {}, ""};
         },
         "dunno"},
        {"reject_rhsbl_sender", "reject_rhsbl_sender dbl.example",
         [](SessionState&, Fixture& f) {
             f.dns.lists["qq.com.dbl.example"] = DnsListAnswer{DnsStatus::kOk, {"127.0.1.2"}, ""};
         },
         "554 5.7.1 Service unavailable; Sender address [qq.com] blocked using dbl.example"},
        {"reject_rhsbl_client unknown name skipped", "reject_rhsbl_client dbl.example", none, "dunno"},
        {"reject_rhsbl_helo", "reject_rhsbl_helo dbl.example",
         [](SessionState&, Fixture& f) {
             f.dns.lists["mail.example.org.dbl.example"] = DnsListAnswer{DnsStatus::kOk, {"127.0.1.2"}, "bad helo"};
         },
         "554 5.7.1 Service unavailable; Helo command [mail.example.org] blocked using dbl.example; bad helo"},
        {"reject_rhsbl_recipient", "reject_rhsbl_recipient dbl.example",
         [](SessionState&, Fixture& f) {
             f.dns.lists["yuliang.com.dbl.example"] = DnsListAnswer{DnsStatus::kOk, {"127.0.1.2"}, ""};
         },
         "554 5.7.1 Service unavailable; Recipient address [yuliang.com] blocked using dbl.example"},
        {"reject_multi_recipient_bounce", "reject_multi_recipient_bounce",
         [](SessionState& s, Fixture&) {
             s.sender = "";
             s.rcpt_count = 1;
         },
         "550 5.5.3 <rcpt@yuliang.com>: Recipient address rejected: Multi-recipient bounce"},
        {"permit_dnswl_client listed", "permit_dnswl_client list.dnswl.example reject",
         [](SessionState&, Fixture& f) {
             f.dns.lists["9.113.0.203.list.dnswl.example"] = DnsListAnswer{DnsStatus::kOk, {"127.0.10.0"}, ""};
         },
         "permit"},
        {"permit_dnswl_client never for relaying", "permit_dnswl_client list.dnswl.example reject",
         [](SessionState& s, Fixture& f) {
             s.recipient = "x@elsewhere.example";
             f.dns.lists["9.113.0.203.list.dnswl.example"] = DnsListAnswer{DnsStatus::kOk, {"127.0.10.0"}, ""};
         },
         "554 5.7.1 <x@elsewhere.example>: Recipient address rejected: Access denied"},
        {"permit_dnswl_client failure defers a reject", "permit_dnswl_client list.dnswl.example reject",
         [](SessionState&, Fixture& f) {
             f.dns.lists["9.113.0.203.list.dnswl.example"] = DnsListAnswer{DnsStatus::kTempFail, {}, ""};
         },
         "450 4.7.1 <203.0.113.9>: Client host rejected: Service unavailable"},
        {"permit_rhswl_client", "permit_rhswl_client wl.example reject",
         [](SessionState& s, Fixture& f) {
             s.client_name = "mx.partner.example";
             f.dns.lists["mx.partner.example.wl.example"] = DnsListAnswer{DnsStatus::kOk, {"127.0.0.2"}, ""};
         },
         "permit"},
        {"unknown restriction", "reject_everything_please", none, "451 4.3.5 Server configuration error"},
        {"check_recipient_access without table", "check_recipient_access", none,
         "451 4.3.5 Server configuration error"},
        {"warn_if_reject softens the next reject", "warn_if_reject reject", none, "dunno"},
        {"warn_if_reject applies to one restriction", "warn_if_reject reject_plaintext_session reject", none,
         "554 5.7.1 <rcpt@yuliang.com>: Recipient address rejected: Access denied"},
    };
    for (const auto& c : cases) {
        SECTION(c.name) {
            Fixture f;
            f.users["rcpt@yuliang.com"] = true;
            SessionState s = session("unknown", "203.0.113.9");
            s.helo_name = "mail.example.org";
            s.sender = "sender@qq.com";
            s.recipient = "rcpt@yuliang.com";
            c.setup(s, f);
            CheckConfig cfg;
            cfg.relay_restrictions = {};
            cfg.recipient_restrictions = util::split_list(c.restrictions);
            Checker checker(cfg, f.hooks());
            CHECK(outcome(checker.check_rcpt(s)) == c.expected);
        }
    }
}

TEST_CASE("smtpd_check RBL replies come from rbl_reply_maps or default_rbl_reply", "[unit]") {
    Fixture f;
    f.users["rcpt@yuliang.com"] = true;
    f.dns.lists["9.113.0.203.zen.example"] = DnsListAnswer{DnsStatus::kOk, {"127.0.0.2"}, "see $url"};
    f.dns.lists["9.113.0.203.other.example"] = DnsListAnswer{DnsStatus::kOk, {"127.0.0.2"}, ""};
    CheckConfig cfg;
    cfg.relay_restrictions = {};
    cfg.rbl_reply_maps = {f.dir.texthash("rbl", "zen.example 451 4.7.9 $client_address listed by $rbl_domain "
                                                "(${rbl_reason}) for <$sender>\n")};
    SessionState s = session("unknown", "203.0.113.9");
    s.helo_name = "mail.example.org";
    s.sender = "sender@qq.com";
    s.recipient = "rcpt@yuliang.com";
    cfg.recipient_restrictions = {"reject_rbl_client", "zen.example"};
    Checker zen(cfg, f.hooks());
    // The TXT text is not expanded again ("$url" stays).
    CHECK(outcome(zen.check_rcpt(s)) == "451 4.7.9 203.0.113.9 listed by zen.example (see $url) for <sender@qq.com>");
    cfg.recipient_restrictions = {"reject_rbl_client", "other.example"};
    cfg.default_rbl_reply = "$rbl_code Blocked: $rbl_class [$rbl_what]${rbl_reason?; $rbl_reason}";
    Checker other(cfg, f.hooks());
    CHECK(outcome(other.check_rcpt(s)) == "554 5.7.1 Blocked: Client host [203.0.113.9]");
}

TEST_CASE("smtpd_check side effects end with the transaction", "[unit]") {
    Fixture f;
    CheckConfig cfg;
    cfg.sender_restrictions = {"check_sender_access", f.dir.texthash("access", "qq.com DISCARD\n")};
    cfg.recipient_restrictions = {"reject"};
    Checker checker(cfg, f.hooks());
    SessionState s = session("unknown", "203.0.113.9");
    s.helo_name = "mail.example.org";
    s.sasl_username = "hadoop";
    s.sender = "a@qq.com";
    s.recipient = "x@yuliang.com";
    CHECK_FALSE(checker.check_rcpt(s).rejected());  // DISCARD stops every check
    CHECK(s.effects.discard);
    s.reset_transaction();
    CHECK_FALSE(s.effects.discard);
    CHECK_FALSE(s.sender.has_value());
    CHECK(s.helo_name == std::optional<std::string>("mail.example.org"));
    CHECK(s.sasl_username == "hadoop");
    s.sender = "a@other.example";
    s.recipient = "x@yuliang.com";
    CHECK(outcome(checker.check_rcpt(s)) == "554 5.7.1 <x@yuliang.com>: Recipient address rejected: Access denied");
}

TEST_CASE("smtpd_check check_sasl_access", "[unit]") {
    Fixture f;
    CheckConfig cfg;
    cfg.relay_restrictions = {};
    cfg.recipient_restrictions = {"check_sasl_access", f.dir.texthash("sasl", "spammer REJECT compromised account\n"),
                                  "permit_sasl_authenticated", "reject_unauth_destination"};
    Checker checker(cfg, f.hooks());
    SessionState s = session("unknown", "203.0.113.9");
    s.sender = "a@yuliang.com";
    s.recipient = "x@elsewhere.example";
    s.sasl_username = "spammer";
    CHECK(outcome(checker.check_rcpt(s)) == "554 5.7.1 <spammer>: SASL login name rejected: compromised account");
    s.sasl_username = "hadoop";
    CHECK(outcome(checker.check_rcpt(s)) == "permit");
}

TEST_CASE("smtpd_check sender login maps", "[unit]") {
    Fixture f;
    CheckConfig cfg;
    cfg.relay_restrictions = {};
    cfg.sender_login_maps = {f.dir.texthash("logins", "hadoop@yuliang.com hadoop, admin\n@virt.example carol\n")};
    cfg.recipient_restrictions = {"reject_sender_login_mismatch", "permit"};
    Checker checker(cfg, f.hooks());
    SessionState s = session("unknown", "203.0.113.9");
    s.recipient = "hadoop@yuliang.com";
    s.sender = "hadoop@yuliang.com";
    CHECK(outcome(checker.check_rcpt(s)) == "553 5.7.1 <hadoop@yuliang.com>: Sender address rejected: not logged in");
    s.sasl_username = "hadoop";
    CHECK(outcome(checker.check_rcpt(s)) == "permit");
    s.sasl_username = "Admin";
    CHECK(outcome(checker.check_rcpt(s)) == "permit");
    s.sasl_username = "mallory";
    CHECK(outcome(checker.check_rcpt(s)) ==
          "553 5.7.1 <hadoop@yuliang.com>: Sender address rejected: not owned by user mallory");
    // An address no table lists belongs to nobody: refused for a logged-in
    // client, except with reject_known_sender_login_mismatch.
    s.sender = "someone@elsewhere.example";
    CHECK(outcome(checker.check_rcpt(s)) ==
          "553 5.7.1 <someone@elsewhere.example>: Sender address rejected: not owned by user mallory");
    s.sender = "u@virt.example";
    s.sasl_username = "carol";
    CHECK(outcome(checker.check_rcpt(s)) == "permit");
    s.sender = "";
    s.sasl_username = "mallory";
    CHECK(outcome(checker.check_rcpt(s)) == "permit");
    s.sasl_username.clear();
    s.sender = "someone@elsewhere.example";
    CHECK(outcome(checker.check_rcpt(s)) == "permit");

    CheckConfig known = cfg;
    known.recipient_restrictions = {"reject_known_sender_login_mismatch", "permit"};
    Checker k(known, f.hooks());
    s.sasl_username = "mallory";
    CHECK(outcome(k.check_rcpt(s)) == "permit");
    s.sender = "hadoop@yuliang.com";
    CHECK(outcome(k.check_rcpt(s)) ==
          "553 5.7.1 <hadoop@yuliang.com>: Sender address rejected: not owned by user mallory");

    CheckConfig split = cfg;
    split.recipient_restrictions = {"reject_authenticated_sender_login_mismatch", "permit"};
    Checker a(split, f.hooks());
    s.sasl_username.clear();
    CHECK(outcome(a.check_rcpt(s)) == "permit");  // not logged in: not this restriction's business
    split.recipient_restrictions = {"reject_unauthenticated_sender_login_mismatch", "permit"};
    Checker u(split, f.hooks());
    CHECK(outcome(u.check_rcpt(s)) == "553 5.7.1 <hadoop@yuliang.com>: Sender address rejected: not logged in");
    s.sasl_username = "mallory";
    CHECK(outcome(u.check_rcpt(s)) == "permit");
}

TEST_CASE("smtpd_check seed client access through a hash table", "[unit]") {
    // The seed's exact form: postmap'd hash:/etc/postfix/access.
    char tmpl[] = "/tmp/smtpd_check_hash.XXXXXX";
    std::string dir = mkdtemp(tmpl);
    std::string path = dir + "/access";
    {
        table::OpenOptions o;
        o.for_update = true;
        o.create = true;
        auto t = table::open_table("hash:" + path, o);
        REQUIRE(t.ok());
        REQUIRE((*t)->update("192.168.3.87", "REJECT").ok());
        REQUIRE((*t)->sync().ok());
    }
    Fixture f;
    CheckConfig cfg;
    cfg.client_restrictions = util::split_list("check_client_access hash:" + path);
    Checker checker(cfg, f.hooks());
    SessionState s = session("unknown", "192.168.3.87");
    s.sender = "hadoop@yuliang.com";
    s.recipient = "openstack@yuliang.com";
    CHECK(outcome(checker.check_rcpt(s)) == "554 5.7.1 <unknown[192.168.3.87]>: Client host rejected: Access denied");
    unlink((path + ".db").c_str());
    rmdir(dir.c_str());
}

TEST_CASE("smtpd_check warn_if_reject logs reject_warning", "[unit]") {
    Fixture f;
    LogCapture cap;
    CheckConfig cfg;
    cfg.relay_restrictions = {};
    cfg.recipient_restrictions = {"warn_if_reject", "reject_unknown_client_hostname"};
    Checker checker(cfg, f.hooks());
    SessionState s = session("unknown", "203.0.113.9");
    s.sender = "a@qq.com";
    s.recipient = "openstack@yuliang.com";
    CHECK(outcome(checker.check_rcpt(s)) == "dunno");
    CHECK(cap.contains("NOQUEUE: reject_warning: RCPT from unknown[203.0.113.9]: 450 4.7.25 Client host rejected: "
                       "cannot find your hostname, [203.0.113.9]"));
}

TEST_CASE("smtpd_check unknown restriction is a server configuration error", "[unit]") {
    Fixture f;
    LogCapture cap;
    CheckConfig cfg;
    cfg.client_restrictions = {"permit_mynetwork"};  // a typo
    Checker checker(cfg, f.hooks());
    SessionState s = session("unknown", "203.0.113.9");
    s.sender = "a@qq.com";
    s.recipient = "openstack@yuliang.com";
    CHECK(outcome(checker.check_rcpt(s)) == "451 4.3.5 Server configuration error");
    CHECK(cap.contains("warning: unknown smtpd restriction: \"permit_mynetwork\""));
    // A Postfix restriction mailroom lacks gets the same reply and says why.
    CheckConfig policy = cfg;
    policy.client_restrictions = {"check_policy_service", "unix:private/policy"};
    Checker checker3(policy, f.hooks());
    CHECK(outcome(checker3.check_rcpt(s)) == "451 4.3.5 Server configuration error");
    CHECK(cap.contains("warning: smtpd restriction \"check_policy_service\" is not supported by this mail system"));
    // warn_if_reject cannot soften a configuration error.
    CheckConfig soft = cfg;
    soft.client_restrictions = {"warn_if_reject", "permit_mynetwork"};
    Checker checker2(soft, f.hooks());
    CHECK(outcome(checker2.check_rcpt(s)) == "451 4.3.5 Server configuration error");
}

TEST_CASE("smtpd_check temporary lookup failure", "[unit]") {
    Fixture f;
    CheckHooks hooks = f.hooks();
    hooks.open_table = [](std::string_view spec) -> Result<table::TablePtr> {
        if (spec == "mysql:/etc/down.cf") return table::TablePtr(std::make_unique<DownTable>());
        return table::open_table(spec);
    };
    CheckConfig cfg;
    cfg.sender_restrictions = {"check_sender_access", "mysql:/etc/down.cf"};
    Checker checker(cfg, hooks);
    SessionState s = session("unknown", "203.0.113.9");
    s.sender = "a@qq.com";
    s.recipient = "openstack@yuliang.com";
    CHECK(outcome(checker.check_rcpt(s)) == "451 4.3.0 <a@qq.com>: Temporary lookup failure");
    // A table that cannot be opened is a configuration error.
    CheckConfig broken;
    broken.sender_restrictions = {"check_sender_access", "texthash:/nonexistent/mailroom/access"};
    Checker checker2(broken, f.hooks());
    CHECK(outcome(checker2.check_rcpt(s)) == "451 4.3.5 Server configuration error");
    // Recipient validation that cannot reach its table defers too.
    CheckConfig plain;
    Checker checker3(plain, f.hooks());
    s.recipient = "tempfail@yuliang.com";
    CHECK(outcome(checker3.check_rcpt(s)) == "451 4.3.0 <tempfail@yuliang.com>: Temporary lookup failure");
}

// ---------------------------------------------------------------------------
// Ordering and classes.

TEST_CASE("smtpd_check delay_reject ordering", "[unit]") {
    Fixture f;
    CheckConfig cfg;
    cfg.client_restrictions = {"permit"};  // permits only the client list
    cfg.helo_restrictions = {"reject_non_fqdn_helo_hostname"};
    cfg.sender_restrictions = {"reject"};
    cfg.recipient_restrictions = {"reject"};
    Checker checker(cfg, f.hooks());
    SessionState s = session("unknown", "203.0.113.9");
    s.helo_name = "localhost";
    s.sender = "a@qq.com";
    s.recipient = "openstack@yuliang.com";
    // HELO is evaluated before the sender and recipient lists.
    CHECK(outcome(checker.check_rcpt(s)) == "504 5.5.2 <localhost>: Helo command rejected: need fully-qualified hostname");
    s.helo_name = "mail.example.org";
    CHECK(outcome(checker.check_rcpt(s)) == "554 5.7.1 <a@qq.com>: Sender address rejected: Access denied");
    // Without HELO the HELO list is skipped.
    s.helo_name.reset();
    CHECK(outcome(checker.check_rcpt(s)) == "554 5.7.1 <a@qq.com>: Sender address rejected: Access denied");

    // delay_reject = no: each list answers at its own command.
    CheckConfig now = cfg;
    now.delay_reject = false;
    Checker early(now, f.hooks());
    SessionState e = session("unknown", "203.0.113.9");
    CHECK(outcome(early.check_client(e)) == "permit");
    e.helo_name = "localhost";
    CHECK(outcome(early.check_helo(e)) == "504 5.5.2 <localhost>: Helo command rejected: need fully-qualified hostname");
    e.sender = "a@qq.com";
    CHECK(outcome(early.check_mail(e)) == "554 5.7.1 <a@qq.com>: Sender address rejected: Access denied");
    e.recipient = "openstack@yuliang.com";
    CHECK(outcome(early.check_rcpt(e)) == "554 5.7.1 <openstack@yuliang.com>: Recipient address rejected: Access denied");
}

TEST_CASE("smtpd_check relay restrictions run before recipient restrictions", "[unit]") {
    Fixture f;
    CheckConfig cfg;
    cfg.relay_restrictions = {"reject_unauth_destination"};
    cfg.recipient_restrictions = {"reject"};
    Checker checker(cfg, f.hooks());
    SessionState s = session("unknown", "203.0.113.9");
    s.sender = "a@qq.com";
    s.recipient = "x@elsewhere.example";
    CHECK(outcome(checker.check_rcpt(s)) == "554 5.7.1 <x@elsewhere.example>: Relay access denied");
    cfg.relay_before_recipient = false;
    Checker old(cfg, f.hooks());
    CHECK(outcome(old.check_rcpt(s)) == "554 5.7.1 <x@elsewhere.example>: Recipient address rejected: Access denied");
}
