// smtpd_check_test.cc - the restriction evaluator: every restriction and
// access-map action, smtpd_delay_reject ordering, restriction classes,
// warn_if_reject, lookup failures, and the seed's configurations with the
// exact reply texts the seed shows.
#include "smtpd/smtpd_check.h"

#include <stdlib.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "lib/log/log.h"
#include "lib/util/strings.h"

using namespace mailroom;
using namespace mailroom::smtpd;

namespace {

class TempDir {
public:
    TempDir() {
        char tmpl[] = "/tmp/smtpd_check_test.XXXXXX";
        path_ = mkdtemp(tmpl);
    }
    ~TempDir() {
        for (const auto& f : files_) unlink(f.c_str());
        rmdir(path_.c_str());
    }
    // Writes a postmap-format source file and returns "texthash:PATH".
    std::string texthash(const std::string& name, const std::string& text) {
        std::string p = path_ + "/" + name;
        std::ofstream(p) << text;
        files_.push_back(p);
        return "texthash:" + p;
    }

private:
    std::string path_;
    std::vector<std::string> files_;
};

class FakeDns : public DnsResolver {
public:
    std::map<std::string, DnsStatus> hosts;
    std::map<std::string, DnsStatus> domains;
    std::map<std::string, DnsListAnswer> lists;
    std::vector<std::string> queries;

    DnsStatus lookup_host(std::string_view name) override {
        queries.emplace_back(name);
        auto it = hosts.find(std::string(name));
        return it == hosts.end() ? DnsStatus::kNotFound : it->second;
    }
    DnsStatus lookup_mail_domain(std::string_view domain) override {
        queries.emplace_back(domain);
        auto it = domains.find(std::string(domain));
        return it == domains.end() ? DnsStatus::kNotFound : it->second;
    }
    DnsListAnswer lookup_dnsxl(std::string_view query) override {
        queries.emplace_back(query);
        auto it = lists.find(std::string(query));
        return it == lists.end() ? DnsListAnswer{} : it->second;
    }
};

// A table whose every lookup fails temporarily (a database that is down).
class DownTable : public table::Table {
public:
    DownTable() : Table("mysql", "/etc/down.cf") {}
    table::LookupResult lookup(std::string_view) override { return make_temp_error("server went away"); }
};

// The seed's domains: mydestination = $myhostname, $mydomain, localhost.
AddressClass seed_classify(std::string_view domain) {
    std::string d = util::lowercase(domain);
    if (d == "mail.yuliang.com" || d == "yuliang.com" || d == "localhost") return AddressClass::kLocal;
    if (d == "virt.example") return AddressClass::kVirtualMailbox;
    if (d == "alias.example") return AddressClass::kVirtualAlias;
    if (d == "relayed.example") return AddressClass::kRelay;
    return AddressClass::kDefault;
}

struct Fixture {
    TempDir dir;
    FakeDns dns;
    std::map<std::string, bool> users = {{"openstack@yuliang.com", true}, {"hadoop@yuliang.com", true},
                                         {"root@yuliang.com", true},      {"u@virt.example", true},
                                         {"known@relayed.example", true}};

    CheckHooks hooks() {
        CheckHooks h;
        h.classify_domain = seed_classify;
        h.lookup_user = [this](std::string_view addr, AddressClass) {
            if (addr.find("tempfail") != std::string_view::npos) return UserLookup::kTempFail;
            return users.count(util::lowercase(addr)) ? UserLookup::kFound : UserLookup::kNotFound;
        };
        h.dns = &dns;
        return h;
    }
};

SessionState session(std::string name, std::string addr) {
    SessionState s;
    s.client_name = std::move(name);
    s.client_addr = std::move(addr);
    return s;
}

// Captures log lines for the duration of a test.
struct LogCapture {
    std::vector<std::string> lines;
    LogCapture() {
        log::set_capture([this](log::Level level, const std::string& text) {
            lines.push_back(log::level_prefix(level) + text);
        });
    }
    ~LogCapture() { log::set_capture(nullptr); }
    bool contains(std::string_view needle) const {
        for (const auto& l : lines) {
            if (l.find(needle) != std::string::npos) return true;
        }
        return false;
    }
};

std::string outcome(const CheckResult& r) {
    switch (r.verdict) {
    case Verdict::kPermit:
        return "permit";
    case Verdict::kDunno:
        return "dunno";
    case Verdict::kReject:
        return r.reply.text();
    }
    return "?";
}

}  // namespace

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

TEST_CASE("smtpd_check postmaster is always accepted", "[unit]") {
    Fixture f;
    CheckConfig cfg;
    cfg.client_restrictions = {"reject"};
    Checker checker(cfg, f.hooks());
    SessionState s = session("unknown", "203.0.113.9");
    s.sender = "a@qq.com";
    s.recipient = "Postmaster";
    CHECK(outcome(checker.check_rcpt(s)) == "permit");
    s.recipient = "postmaster@elsewhere.example";
    CHECK(checker.check_rcpt(s).rejected());
}

TEST_CASE("smtpd_check restriction classes", "[unit]") {
    Fixture f;
    CheckConfig cfg;
    cfg.restriction_classes["from_freemail"] = {"reject_unauth_pipelining", "check_sender_access",
                                                 f.dir.texthash("freemail", "trusted@gmail.com OK\n"), "reject"};
    cfg.restriction_classes["permissive"] = {"permit"};
    cfg.restriction_classes["loop"] = {"loop"};
    cfg.sender_restrictions = {"check_sender_access",
                               f.dir.texthash("access", "gmail.com from_freemail\nfriend.example permissive\n")};
    cfg.recipient_restrictions = {"check_recipient_access",
                                  f.dir.texthash("rcpt", "loop@yuliang.com loop\n")};
    cfg.delay_reject = false;
    Checker checker(cfg, f.hooks());
    struct Case {
        const char* sender;
        const char* expected;
    };
    for (const auto& c : std::vector<Case>{
             {"someone@gmail.com", "554 5.7.1 <someone@gmail.com>: Sender address rejected: Access denied"},
             {"trusted@gmail.com", "permit"},
             {"x@friend.example", "permit"},
             {"x@other.example", "dunno"},
         }) {
        SessionState s = session("unknown", "203.0.113.9");
        s.sender = c.sender;
        INFO(c.sender);
        CHECK(outcome(checker.check_mail(s)) == c.expected);
    }
    // A class used directly in a list, and runaway recursion.
    CheckConfig direct;
    direct.restriction_classes["deny"] = {"reject"};
    direct.recipient_restrictions = {"deny"};
    Checker d(direct, f.hooks());
    SessionState s = session("unknown", "203.0.113.9");
    s.sender = "a@qq.com";
    s.recipient = "openstack@yuliang.com";
    CHECK(outcome(d.check_rcpt(s)) == "554 5.7.1 <openstack@yuliang.com>: Recipient address rejected: Access denied");
    s.recipient = "loop@yuliang.com";
    CHECK(outcome(checker.check_rcpt(s)) == "451 4.3.5 Server configuration error");
}

TEST_CASE("smtpd_check reject_unlisted_recipient and sender", "[unit]") {
    Fixture f;
    struct Case {
        const char* name;
        const char* rcpt;
        const char* expected;
    };
    const std::vector<Case> cases = {
        {"known local user", "openstack@yuliang.com", "dunno"},
        {"unknown local user", "nobody@yuliang.com",
         "550 5.1.1 <nobody@yuliang.com>: Recipient address rejected: User unknown in local recipient table"},
        {"unqualified unknown user", "nobody",
         "550 5.1.1 <nobody>: Recipient address rejected: User unknown in local recipient table"},
        {"local postmaster always exists", "postmaster@yuliang.com", "dunno"},
        {"unknown virtual user", "x@virt.example",
         "550 5.1.1 <x@virt.example>: Recipient address rejected: User unknown in virtual mailbox table"},
        {"unknown alias", "x@alias.example",
         "550 5.1.1 <x@alias.example>: Recipient address rejected: User unknown in virtual alias table"},
        {"unknown relay user", "x@relayed.example",
         "550 5.1.1 <x@relayed.example>: Recipient address rejected: User unknown in relay recipient table"},
    };
    for (const auto& c : cases) {
        SECTION(c.name) {
            CheckConfig cfg;
            cfg.relay_restrictions = {};
            Checker checker(cfg, f.hooks());
            SessionState s = session("unknown", "203.0.113.9");
            s.sender = "a@qq.com";
            s.recipient = c.rcpt;
            CHECK(outcome(checker.check_rcpt(s)) == c.expected);
        }
    }
    SECTION("disabled") {
        CheckConfig cfg;
        cfg.relay_restrictions = {};
        cfg.reject_unlisted_recipient = false;
        Checker checker(cfg, f.hooks());
        SessionState s = session("unknown", "203.0.113.9");
        s.sender = "a@qq.com";
        s.recipient = "nobody@yuliang.com";
        CHECK(outcome(checker.check_rcpt(s)) == "dunno");
    }
    SECTION("unlisted sender") {
        CheckConfig cfg;
        cfg.relay_restrictions = {};
        cfg.reject_unlisted_sender = true;
        Checker checker(cfg, f.hooks());
        SessionState s = session("unknown", "203.0.113.9");
        s.sender = "ghost@yuliang.com";
        s.recipient = "openstack@yuliang.com";
        CHECK(outcome(checker.check_rcpt(s)) ==
              "550 5.1.0 <ghost@yuliang.com>: Sender address rejected: User unknown in local recipient table");
    }
}

TEST_CASE("smtpd_check data end-of-data and etrn lists", "[unit]") {
    Fixture f;
    CheckConfig cfg;
    cfg.data_restrictions = {"reject_unauth_pipelining"};
    cfg.end_of_data_restrictions = {"reject"};
    cfg.etrn_restrictions = {"check_etrn_access", f.dir.texthash("etrn", "example.com REJECT no flush\n")};
    Checker checker(cfg, f.hooks());
    SessionState s = session("unknown", "203.0.113.9");
    s.improper_pipelining = true;
    CHECK(outcome(checker.check_data(s)) ==
          "503 5.5.0 <DATA>: Data command rejected: Improper use of SMTP command pipelining");
    CHECK(outcome(checker.check_end_of_data(s)) ==
          "554 5.7.1 <END-OF-MESSAGE>: End-of-data rejected: Access denied");
    s.etrn_domain = "example.com";
    CHECK(outcome(checker.check_etrn(s)) == "554 5.7.1 <example.com>: Etrn command rejected: no flush");
    s.etrn_domain = "other.example";
    CHECK(outcome(checker.check_etrn(s)) == "dunno");
    // A bare type:table needs a check_*_access before it in DATA lists.
    CheckConfig bad;
    bad.data_restrictions = {"hash:/etc/postfix/x"};
    Checker b(bad, f.hooks());
    CHECK(outcome(b.check_data(s)) == "451 4.3.5 Server configuration error");
}

TEST_CASE("smtpd_check implicit access map after check_client_access", "[unit]") {
    Fixture f;
    CheckConfig cfg;
    cfg.delay_reject = false;
    // "check_client_access texthash:a, texthash:b" - the second table uses the same check.
    cfg.client_restrictions = {"check_client_access", f.dir.texthash("a", "192.0.2.1 DUNNO\n"),
                               f.dir.texthash("b", "203.0.113 REJECT listed in b\n")};
    Checker checker(cfg, f.hooks());
    SessionState s = session("unknown", "203.0.113.9");
    CHECK(outcome(checker.check_client(s)) ==
          "554 5.7.1 <unknown[203.0.113.9]>: Client host rejected: listed in b");
}

TEST_CASE("smtpd_check validate requires a relay restriction", "[unit]") {
    Fixture f;
    struct Case {
        std::vector<std::string> relay;
        std::vector<std::string> rcpt;
        bool ok;
    };
    const std::vector<Case> cases = {
        {{"permit_mynetworks", "permit_sasl_authenticated", "defer_unauth_destination"}, {}, true},
        {{}, {"permit_mynetworks", "reject_unauth_destination"}, true},
        {{}, {"permit_mynetworks"}, false},
        {{}, {"permit", "reject_unauth_destination"}, false},
        {{}, {"myclass"}, true},
    };
    for (const auto& c : cases) {
        CheckConfig cfg;
        cfg.relay_restrictions = c.relay;
        cfg.recipient_restrictions = c.rcpt;
        cfg.restriction_classes["myclass"] = {"reject_unauth_destination"};
        Checker checker(cfg, f.hooks());
        Status st = checker.validate();
        CHECK(st.ok() == c.ok);
        if (!st.ok()) CHECK(st.error().message.find("specify at least one working instance of") != std::string::npos);
    }
}

TEST_CASE("smtpd_check configuration from main.cf", "[unit]") {
    Fixture f;
    std::string access = f.dir.texthash("access", "192.168.3.87 REJECT\n");
    std::string text = "smtpd_client_restrictions = check_client_access " + access +
                       "\n"
                       "smtpd_restriction_classes = from_freemail\n"
                       "from_freemail = reject\n"
                       "smtpd_recipient_restrictions = permit_mynetworks, reject_unauth_destination\n"
                       "access_map_reject_code = 550\n"
                       "smtpd_delay_reject = no\n";
    auto cfgfile = config::Config::from_text(text, "/tmp");
    REQUIRE(cfgfile.ok());
    auto cc = CheckConfig::from_config(*cfgfile);
    REQUIRE(cc.ok());
    CHECK(cc->relay_restrictions ==
          std::vector<std::string>{"permit_mynetworks", "permit_sasl_authenticated", "defer_unauth_destination"});
    CHECK(cc->recipient_restrictions == std::vector<std::string>{"permit_mynetworks", "reject_unauth_destination"});
    CHECK(cc->restriction_classes.at("from_freemail") == std::vector<std::string>{"reject"});
    CHECK(cc->access_map_reject_code == 550);
    CHECK_FALSE(cc->delay_reject);
    CHECK(cc->reject_unlisted_recipient);
    CHECK(cc->access_parent_matches_subdomains);
    Checker checker(*cc, f.hooks());
    SessionState s = session("unknown", "192.168.3.87");
    CHECK(outcome(checker.check_client(s)) ==
          "550 5.7.1 <unknown[192.168.3.87]>: Client host rejected: Access denied");

    auto missing = config::Config::from_text("smtpd_restriction_classes = nothing_here\n", "/tmp");
    REQUIRE(missing.ok());
    auto bad = CheckConfig::from_config(*missing);
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.error().message == "restriction class `nothing_here' needs a definition");
}

TEST_CASE("smtpd_check domain lists classify addresses", "[unit]") {
    address::DomainLists l;
    l.mydestination = {"mail.yuliang.com", "yuliang.com", "localhost"};
    l.virtual_mailbox_domains = {"virt.example"};
    l.virtual_alias_domains = {".alias.example"};
    l.relay_domains = {"!private.relayed.example", "relayed.example"};
    auto cls = [&](const char* d) { return l.classify(d).value(); };
    CHECK(cls("YuLiang.com") == AddressClass::kLocal);
    CHECK(cls("sub.yuliang.com") == AddressClass::kDefault);
    CHECK(cls("virt.example") == AddressClass::kVirtualMailbox);
    CHECK(cls("a.alias.example") == AddressClass::kVirtualAlias);
    CHECK(cls("alias.example") == AddressClass::kDefault);
    CHECK(cls("relayed.example") == AddressClass::kRelay);
    CHECK(cls("sub.relayed.example") == AddressClass::kRelay);
    CHECK(cls("private.relayed.example") == AddressClass::kDefault);
    l.relay_parent_matches_subdomains = false;
    CHECK(cls("sub.relayed.example") == AddressClass::kDefault);
    CHECK(cls("whitehouse.com") == AddressClass::kDefault);
}

TEST_CASE("smtpd_check honours ! exclusions in the domain lists", "[unit]") {
    // The exclusion ends the search: the subdomain is neither relayed nor
    // looked up in the table that follows (which would fail here).
    auto l = std::make_shared<address::DomainLists>();
    l->relay_domains = {"!private.relayed.example", ".relayed.example", "fail:down"};
    CheckConfig cfg;
    cfg.relay_restrictions = {"permit_mynetworks", "reject_unauth_destination"};
    cfg.reject_unlisted_recipient = false;
    CheckHooks hooks;
    hooks.classify_domain = address::DomainLists::classifier(l);
    Checker checker(cfg, hooks);
    SessionState s = session("unknown", "203.0.113.9");
    s.sender = "a@qq.com";
    s.recipient = "u@pub.relayed.example";
    CHECK(outcome(checker.check_rcpt(s)) == "dunno");
    s.recipient = "u@private.relayed.example";
    CHECK(outcome(checker.check_rcpt(s)) == "554 5.7.1 <u@private.relayed.example>: Relay access denied");
}

TEST_CASE("smtpd_check judges routing operators as trivial-rewrite does", "[unit]") {
    Fixture f;
    CheckConfig cfg;
    cfg.myorigin = "mail.yuliang.com";
    cfg.relay_restrictions = {"permit_mynetworks", "reject_unauth_destination"};
    cfg.resolve.myhostname = "mail.yuliang.com";
    cfg.resolve.own_addresses = {"127.0.0.1"};
    CheckHooks hooks = f.hooks();
    hooks.lookup_user = [](std::string_view, AddressClass) { return UserLookup::kFound; };
    auto rcpt = [&](const CheckConfig& c, const char* address) {
        Checker checker(c, hooks);
        SessionState s = session("unknown", "203.0.113.9");
        s.sender = "a@qq.com";
        s.recipient = address;
        return outcome(checker.check_rcpt(s));
    };
    // Relay attempts through a local domain: refused, never accepted and bounced later.
    for (const char* a : {"user%outside.example@yuliang.com", "outside.example!user@yuliang.com",
                          "\"user@outside.example\"@yuliang.com", "user%outside.example@[127.0.0.1]"}) {
        INFO(a);
        CHECK(rcpt(cfg, a) == "554 5.7.1 <" + std::string(a) + ">: Relay access denied");
    }
    // Local: a trailing dot, our own address literal, a percent hack that stays local.
    for (const char* a : {"openstack@yuliang.com.", "openstack@[127.0.0.1]", "openstack%localhost@yuliang.com"}) {
        INFO(a);
        CHECK(rcpt(cfg, a) == "dunno");
    }
    // With the rewriting off, the operators stay in a local address: still
    // a source route, refused unless allow_untrusted_routing.
    CheckConfig off = cfg;
    off.resolve.allow_percent_hack = false;
    CHECK(rcpt(off, "user%outside.example@yuliang.com") ==
          "554 5.7.1 <user%outside.example@yuliang.com>: Relay access denied");
    off.resolve.allow_untrusted_routing = true;
    CHECK(rcpt(off, "user%outside.example@yuliang.com") == "dunno");
}

TEST_CASE("smtpd_check host name syntax", "[unit]") {
    struct Case {
        const char* name;
        bool valid;
    };
    const std::string long_label(64, 'a');
    for (const auto& c : std::vector<Case>{{"mail.example.com", true},
                                           {"localhost", true},
                                           {"a_b.example", true},
                                           {"-bad.example", false},
                                           {"bad-.example", false},
                                           {"a..b", false},
                                           {"123.456", false},
                                           {"1a.example", true},
                                           {"", false},
                                           {"sp ace", false},
                                           {long_label.c_str(), false}}) {
        INFO(c.name);
        CHECK(valid_hostname(c.name) == c.valid);
    }
    CHECK(valid_host_address("192.0.2.1"));
    CHECK(valid_host_address("IPv6:2001:db8::1"));
    CHECK_FALSE(valid_host_address("300.1.1.1"));
}

TEST_CASE("smtpd_check random restriction lists never misbehave", "[corpus]") {
    // Deterministic pseudo-random lists built from real and bogus tokens:
    // every outcome must be permit, dunno or a well-formed 4xx/5xx reply.
    Fixture f;
    f.dns.domains["qq.com"] = DnsStatus::kOk;
    const std::string access = f.dir.texthash(
        "access", "qq.com DISCARD\nyuliang.com HOLD\n203.0.113 WARN w\nexample.org loopclass\n<> 550\n");
    const std::vector<std::string> tokens = {
        "permit", "reject", "defer", "warn_if_reject", "permit_mynetworks", "reject_unauth_destination",
        "defer_unauth_destination", "check_sender_access", access, "check_client_access", "check_recipient_access",
        "reject_non_fqdn_sender", "reject_unknown_sender_domain", "reject_rbl_client", "zen.example",
        "loopclass", "nonsense", "reject_unauth_pipelining", "check_helo_access", "reject_invalid_helo_hostname",
        "defer_if_permit", "defer_if_reject", "reject_unlisted_recipient", "texthash:/nonexistent"};
    uint32_t seed = 12345;
    auto next = [&seed]() {
        seed = seed * 1103515245u + 12345u;
        return (seed >> 16) & 0x7fff;
    };
    for (int round = 0; round < 400; ++round) {
        CheckConfig cfg;
        cfg.delay_reject = next() % 2 == 0;
        cfg.restriction_classes["loopclass"] = {"loopclass"};
        std::vector<std::string>* lists[] = {&cfg.client_restrictions, &cfg.helo_restrictions,
                                             &cfg.sender_restrictions, &cfg.relay_restrictions,
                                             &cfg.recipient_restrictions, &cfg.data_restrictions};
        for (auto* l : lists) {
            l->clear();
            int n = next() % 5;
            for (int i = 0; i < n; ++i) l->push_back(tokens[next() % tokens.size()]);
        }
        Checker checker(cfg, f.hooks());
        SessionState s = session(next() % 2 ? "unknown" : "mx.example.org", "203.0.113.9");
        if (next() % 2) s.helo_name = "mail.example.org";
        s.sender = next() % 3 == 0 ? "" : "a@qq.com";
        s.recipient = next() % 2 ? "openstack@yuliang.com" : "x@example.org";
        s.improper_pipelining = next() % 2;
        for (CheckResult r : {checker.check_client(s), checker.check_helo(s), checker.check_mail(s),
                              checker.check_rcpt(s), checker.check_data(s)}) {
            if (!r.rejected()) continue;
            INFO(r.reply.text());
            CHECK(r.reply.code >= 400);
            CHECK(r.reply.code < 600);
            CHECK(r.reply.dsn[0] == static_cast<char>('0' + r.reply.code / 100));
            CHECK(r.reply.format().size() <= 512);
        }
    }
}

TEST_CASE("smtpd_check virtual_alias_maps in recipient validation", "[unit]") {
    Fixture f;
    std::vector<std::string> asked;
    CheckHooks hooks = f.hooks();
    hooks.lookup_rewritten = [&asked](std::string_view addr, AddressClass, bool) {
        asked.emplace_back(addr);
        if (addr.find("aliasdown") != std::string_view::npos) return UserLookup::kTempFail;
        static const std::vector<std::string> listed = {"info@alias.example", "tomcat@yuliang.com",
                                                        "fwd@relayed.example", "box@virt.example"};
        for (const auto& l : listed) {
            if (util::lowercase(addr) == l) return UserLookup::kFound;
        }
        return UserLookup::kNotFound;
    };
    struct Case {
        const char* name;
        const char* rcpt;
        const char* expected;
    };
    const std::vector<Case> cases = {
        {"alias in a virtual alias domain", "info@alias.example", "dunno"},
        {"alias matched without case", "Info@Alias.Example", "dunno"},
        {"unlisted address of a virtual alias domain", "nobody@alias.example",
         "550 5.1.1 <nobody@alias.example>: Recipient address rejected: User unknown in virtual alias table"},
        {"local alias without a local account", "tomcat@yuliang.com", "dunno"},
        {"relay alias without a relay recipient", "fwd@relayed.example", "dunno"},
        {"virtual mailbox alias", "box@virt.example", "dunno"},
        {"local user still known", "openstack@yuliang.com", "dunno"},
        {"unknown local user", "ghost@yuliang.com",
         "550 5.1.1 <ghost@yuliang.com>: Recipient address rejected: User unknown in local recipient table"},
        {"alias table down", "aliasdown@alias.example",
         "451 4.3.0 <aliasdown@alias.example>: Temporary lookup failure"},
    };
    for (const auto& c : cases) {
        SECTION(c.name) {
            CheckConfig cfg;
            cfg.relay_restrictions = {};
            Checker checker(cfg, hooks);
            SessionState s = session("unknown", "203.0.113.9");
            s.sender = "a@qq.com";
            s.recipient = c.rcpt;
            CHECK(outcome(checker.check_rcpt(s)) == c.expected);
        }
    }
    SECTION("unknown_virtual_alias_reject_code") {
        CheckConfig cfg;
        cfg.relay_restrictions = {};
        cfg.unknown_virtual_alias_reject_code = 450;
        Checker checker(cfg, hooks);
        SessionState s = session("unknown", "203.0.113.9");
        s.sender = "a@qq.com";
        s.recipient = "nobody@alias.example";
        CHECK(outcome(checker.check_rcpt(s)) ==
              "450 4.1.1 <nobody@alias.example>: Recipient address rejected: User unknown in virtual alias table");
    }
    SECTION("without alias tables every address of a virtual alias domain is unknown") {
        CheckConfig cfg;
        cfg.relay_restrictions = {};
        Checker checker(cfg, f.hooks());
        SessionState s = session("unknown", "203.0.113.9");
        s.sender = "a@qq.com";
        s.recipient = "info@alias.example";
        CHECK(outcome(checker.check_rcpt(s)) ==
              "550 5.1.1 <info@alias.example>: Recipient address rejected: User unknown in virtual alias table");
    }
    SECTION("VRFY asks the same tables and logs the reject") {
        LogCapture logs;
        CheckConfig cfg;
        Checker checker(cfg, hooks);
        SessionState s = session("localhost", "127.0.0.1");
        s.recipient = "info@alias.example";
        CHECK(outcome(checker.check_vrfy(s)) == "dunno");
        s.recipient = "nobody@alias.example";
        CHECK(outcome(checker.check_vrfy(s)) ==
              "550 5.1.1 <nobody@alias.example>: Recipient address rejected: User unknown in virtual alias table");
        CHECK(logs.contains("NOQUEUE: reject: VRFY from localhost[127.0.0.1]: 550 5.1.1 <nobody@alias.example>"));
    }
}

TEST_CASE("smtpd_check unqualified recipients get myorigin before classification", "[unit]") {
    Fixture f;
    std::vector<std::string> asked;
    CheckHooks hooks = f.hooks();
    hooks.lookup_user = [&](std::string_view addr, AddressClass cls) {
        asked.emplace_back(addr);
        CHECK(cls == AddressClass::kLocal);
        return util::lowercase(addr) == "openstack@mail.yuliang.com" ? UserLookup::kFound : UserLookup::kNotFound;
    };
    SECTION("the seed: rcpt to:openstack with myorigin = $myhostname") {
        CheckConfig cfg;
        cfg.myorigin = "mail.yuliang.com";
        cfg.relay_restrictions = {"permit_mynetworks", "reject_unauth_destination"};
        Checker checker(cfg, hooks);
        SessionState s = session("localhost", "127.0.0.1");
        s.sender = "hadoop";
        s.recipient = "openstack";
        CHECK(outcome(checker.check_rcpt(s)) == "dunno");
        REQUIRE(!asked.empty());
        CHECK(asked.back() == "openstack@mail.yuliang.com");
        s.recipient = "nobody";
        CHECK(outcome(checker.check_rcpt(s)) ==
              "550 5.1.1 <nobody>: Recipient address rejected: User unknown in local recipient table");
        CHECK(asked.back() == "nobody@mail.yuliang.com");
    }
    SECTION("a remote myorigin makes an unqualified recipient remote") {
        CheckConfig cfg;
        cfg.myorigin = "elsewhere.example";
        cfg.relay_restrictions = {"permit_mynetworks", "reject_unauth_destination"};
        Checker checker(cfg, hooks);
        SessionState s = session("unknown", "203.0.113.9");
        s.sender = "a@qq.com";
        s.recipient = "openstack";
        CHECK(outcome(checker.check_rcpt(s)) == "554 5.7.1 <openstack>: Relay access denied");
    }
    SECTION("myorigin is read from main.cf") {
        auto cfgfile = config::Config::from_text("myhostname = mail.yuliang.com\n", "/tmp");
        REQUIRE(cfgfile.ok());
        auto cc = CheckConfig::from_config(*cfgfile);
        REQUIRE(cc.ok());
        CHECK(cc->myorigin == "mail.yuliang.com");
    }
}

TEST_CASE("smtpd_check RecipientTables reads the alias and recipient tables of main.cf", "[unit]") {
    Fixture f;
    std::string virt = f.dir.texthash("virtual", "tomcat@yuliang.com hadoop@yuliang.com\n"
                                                 "info@alias.example root\n"
                                                 "@catchall.example root\n");
    std::string local = f.dir.texthash("local", "openstack x\n");
    std::string text = "myhostname = mail.yuliang.com\n"
                       "mydestination = $myhostname, yuliang.com\n"
                       "virtual_alias_domains = alias.example\n"
                       "recipient_delimiter = +\n"
                       "virtual_alias_maps = " + virt + "\n"
                       "local_recipient_maps = " + local + "\n";
    auto cfgfile = config::Config::from_text(text, "/tmp");
    REQUIRE(cfgfile.ok());
    auto tables = RecipientTables::open(*cfgfile);
    CHECK_FALSE(tables->may_block());
    CHECK(tables->lookup_rewritten("tomcat@yuliang.com", AddressClass::kLocal, false) == UserLookup::kFound);
    CHECK(tables->lookup_rewritten("tomcat+ext@yuliang.com", AddressClass::kLocal, false) == UserLookup::kFound);
    CHECK(tables->lookup_rewritten("anyone@catchall.example", AddressClass::kDefault, false) == UserLookup::kFound);
    CHECK(tables->lookup_rewritten("nobody@alias.example", AddressClass::kVirtualAlias, false) ==
          UserLookup::kNotFound);
    CHECK(tables->lookup_user("openstack@yuliang.com", AddressClass::kLocal) == UserLookup::kFound);
    CHECK(tables->lookup_user("x@relayed.example", AddressClass::kRelay) == UserLookup::kNoTable);

    auto cc = CheckConfig::from_config(*cfgfile);
    REQUIRE(cc.ok());
    cc->relay_restrictions = {};
    CheckHooks hooks;
    hooks.classify_domain = address::DomainLists::classifier(address::DomainLists::from_config(*cfgfile));
    RecipientTables::install(tables, hooks);
    Checker checker(*cc, hooks);
    SessionState s = session("unknown", "203.0.113.9");
    s.sender = "a@qq.com";
    s.recipient = "info@alias.example";
    CHECK(outcome(checker.check_rcpt(s)) == "dunno");
    s.recipient = "nobody@alias.example";
    CHECK(outcome(checker.check_rcpt(s)) ==
          "550 5.1.1 <nobody@alias.example>: Recipient address rejected: User unknown in virtual alias table");
    s.recipient = "openstack";
    CHECK(outcome(checker.check_rcpt(s)) == "dunno");
    s.recipient = "tomcat";  // tomcat@mail.yuliang.com is no alias
    CHECK(outcome(checker.check_rcpt(s)) ==
          "550 5.1.1 <tomcat>: Recipient address rejected: User unknown in local recipient table");
    s.recipient = "ghost";
    CHECK(outcome(checker.check_rcpt(s)) ==
          "550 5.1.1 <ghost>: Recipient address rejected: User unknown in local recipient table");
}

TEST_CASE("smtpd_check domain lists with lookup tables", "[unit]") {
    Fixture f;
    std::string domains = f.dir.texthash("domains", "extmail.org 1\n");
    std::string virt = f.dir.texthash("virtual2", "aliased.example anything\ninfo@aliased.example root\n");
    std::string relay = f.dir.texthash("relay", "relayed.example ok\n");
    std::string text = "myhostname = mail.yuliang.com\n"
                       "mydestination = $myhostname\n"
                       "virtual_mailbox_domains = " + domains + "\n"
                       "virtual_alias_maps = " + virt + "\n"
                       "relay_domains = " + relay + "\n";
    auto cfgfile = config::Config::from_text(text, "/tmp");
    REQUIRE(cfgfile.ok());
    auto lists = address::DomainLists::from_config(*cfgfile);
    CHECK_FALSE(lists->may_block());
    auto cls = [&](const char* d) { return lists->classify(d).value(); };
    CHECK(cls("mail.yuliang.com") == AddressClass::kLocal);
    CHECK(cls("extmail.org") == AddressClass::kVirtualMailbox);
    CHECK(cls("EXTMAIL.ORG.") == AddressClass::kVirtualMailbox);
    CHECK(cls("sub.extmail.org") == AddressClass::kDefault);
    // Postfix's default virtual_alias_domains = $virtual_alias_maps: a
    // domain that is itself a key of the alias table.
    CHECK(cls("aliased.example") == AddressClass::kVirtualAlias);
    CHECK(cls("relayed.example") == AddressClass::kRelay);
    CHECK(cls("sub.relayed.example") == AddressClass::kRelay);  // relay_domains matches subdomains
    CHECK(cls("elsewhere.example") == AddressClass::kDefault);

    SECTION("a table that cannot answer defers") {
        auto broken = config::Config::from_text("myhostname = mail.yuliang.com\nmydestination = $myhostname\n"
                                                "virtual_mailbox_domains = hash:/nonexistent/domains\n",
                                                "/tmp");
        REQUIRE(broken.ok());
        auto bl = address::DomainLists::from_config(*broken);
        CHECK(bl->classify("mail.yuliang.com").value() == AddressClass::kLocal);
        auto failed = bl->classify("extmail.org");
        REQUIRE_FALSE(failed.ok());
        CHECK(failed.error().temporary());
        CheckConfig cfg;
        cfg.relay_restrictions = {"permit_mynetworks", "reject_unauth_destination"};
        CheckHooks hooks = f.hooks();
        hooks.classify_domain = address::DomainLists::classifier(bl);
        Checker checker(cfg, hooks);
        SessionState s = session("unknown", "203.0.113.9");
        s.sender = "a@qq.com";
        s.recipient = "user@extmail.org";
        CHECK(outcome(checker.check_rcpt(s)) == "451 4.3.0 <user@extmail.org>: Temporary lookup failure");
    }
}
