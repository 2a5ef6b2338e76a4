// smtpd_check_lists_test.cc - the restriction evaluator, continued: postmaster,
// restriction classes, unlisted recipients and senders, the data, end-of-data
// and ETRN lists, configuration from main.cf, domain classes and routing
// operators, host name syntax, random restriction lists, virtual aliases in
// recipient validation and the recipient tables.
#include "tests/smtpd/smtpd_check_fixture.h"

using namespace mailroom;
using namespace mailroom::smtpd;
using namespace smtpd_check_test;
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
