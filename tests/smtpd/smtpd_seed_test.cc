// smtpd_seed_test.cc - the seed's main.cf fragments (tests/data/seed)
// loaded through lib/config with only the table paths changed, and the
// SMTP dialogues of the seed replayed against the parser, the reply table
// and the restriction evaluator, expecting the seed's exact replies.
#include <stdlib.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "lib/config/config.h"
#include "lib/table/table.h"
#include "lib/util/fs.h"
#include "lib/util/strings.h"
#include "smtpd/smtpd_check.h"
#include "smtpd/smtpd_mynetworks.h"
#include "smtpd/smtpd_protocol.h"

using namespace mailroom;
using namespace mailroom::smtpd;

namespace {

std::string seed_fragment(const std::string& name) {
    auto text = util::read_file(std::string(MAILROOM_TEST_DATA) + "/seed/" + name);
    REQUIRE(text.ok());
    return *text;
}

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
    size_t pos = 0;
    while ((pos = s.find(from, pos)) != std::string::npos) {
        s.replace(pos, from.size(), to);
        pos += to.size();
    }
    return s;
}

// A directory standing in for /etc/postfix, holding postmap'd hash tables.
class PostfixDir {
public:
    PostfixDir() {
        char tmpl[] = "/tmp/smtpd_seed_test.XXXXXX";
        path_ = mkdtemp(tmpl);
    }
    ~PostfixDir() {
        for (const auto& f : files_) unlink(f.c_str());
        rmdir(path_.c_str());
    }
    void postmap(const std::string& name, const std::vector<std::pair<std::string, std::string>>& entries) {
        table::OpenOptions o;
        o.for_update = true;
        o.create = true;
        auto t = table::open_table("hash:" + path_ + "/" + name, o);
        REQUIRE(t.ok());
        for (const auto& [k, v] : entries) REQUIRE((*t)->update(k, v).ok());
        REQUIRE((*t)->sync().ok());
        files_.push_back(path_ + "/" + name + ".db");
    }
    // main.cf text with /etc/postfix/ pointing here.
    std::string relocate(const std::string& text) const { return replace_all(text, "/etc/postfix/", path_ + "/"); }

private:
    std::string path_;
    std::vector<std::string> files_;
};

struct SeedSite {
    config::Config cfg;
    std::shared_ptr<address::DomainLists> domains;
    std::unique_ptr<Checker> checker;
    std::optional<Mynetworks> mynetworks;

    explicit SeedSite(const std::string& main_cf) {
        auto c = config::Config::from_text(main_cf, "/tmp");
        REQUIRE(c.ok());
        cfg = std::move(*c);
        domains = address::DomainLists::from_config(cfg);
        auto cc = CheckConfig::from_config(cfg);
        REQUIRE(cc.ok());
        CheckHooks hooks;
        hooks.classify_domain = address::DomainLists::classifier(domains);
        checker = std::make_unique<Checker>(*cc, hooks);
        REQUIRE(checker->validate().ok());
        auto m = Mynetworks::from_config(cfg);
        REQUIRE(m.ok());
        mynetworks = std::move(*m);
    }

    // One SMTP transaction as typed in the seed; returns the reply to RCPT.
    std::string rcpt(const std::string& client_name, const std::string& client_addr, const std::string& mail_line,
                     const std::string& rcpt_line) {
        SessionState s;
        s.client_name = client_name;
        s.client_addr = client_addr;
        s.client_in_mynetworks = *mynetworks->match(client_name, client_addr);
        auto m = parse_command(mail_line);
        REQUIRE(m.ok());
        s.sender = m.command().address;
        CheckResult mr = checker->check_mail(s);
        if (mr.rejected()) return mr.reply.text();
        auto r = parse_command(rcpt_line);
        REQUIRE(r.ok());
        s.recipient = r.command().address;
        CheckResult rr = checker->check_rcpt(s);
        return rr.rejected() ? rr.reply.text() : replies::rcpt_ok().text();
    }
};

// mynetworks = 192.168.3.0/25, 127.0.0.0/8; myhostname = mail.yuliang.com;
// mydestination = $myhostname, $mydomain, localhost, ns.$mydomain
std::string yuliang() { return seed_fragment("02-yuliang.cf"); }

}  // namespace

TEST_CASE("smtpd seed greeting banners", "[unit]") {
    auto plain = config::Config::from_text("myhostname = PXE1.localdomain\nmail_name = Postfix\n", "/tmp");
    REQUIRE(plain.ok());
    CHECK(replies::greeting(*plain->get("smtpd_banner")).format() == "220 PXE1.localdomain ESMTP Postfix\r\n");
    auto sasl = config::Config::from_text(yuliang() + seed_fragment("07-sasl.cf"), "/tmp");
    REQUIRE(sasl.ok());
    CHECK(replies::greeting(*sasl->get("smtpd_banner")).format() ==
          "220 Welcome to our mail.yuliang.com ESMTP,Warning: Version not Available!\r\n");
}

TEST_CASE("smtpd seed relay test with mynetworks 127.0.0.0/8", "[unit]") {
    SeedSite site(yuliang() + seed_fragment("03-mynetworks.cf"));
    // telnet mail.yuliang.com 25 arrives from 192.168.3.111, not 127.0.0.1.
    CHECK(site.rcpt("ns1.yuliang.com", "192.168.3.111", "mail from:abc@qq.com", "rcpt to:obama@whitehouse.com") ==
          "454 4.7.1 <obama@whitehouse.com>: Relay access denied");
    CHECK(site.rcpt("localhost", "127.0.0.1", "mail from:jerry@qq.com", "rcpt to:a@yahoo.com") == "250 2.1.5 Ok");
    CHECK(site.rcpt("ns1.yuliang.com", "192.168.3.111", "mail from:abc@qq.com", "rcpt to:openstack@yuliang.com") ==
          "250 2.1.5 Ok");
}

TEST_CASE("smtpd seed 02 mynetworks lets the LAN relay", "[unit]") {
    SeedSite site(yuliang());  // mynetworks = 192.168.3.0/25, 127.0.0.0/8
    CHECK(site.rcpt("ns1.yuliang.com", "192.168.3.111", "mail from:abc@abc.com", "rcpt to:obama@whitehouse.com") ==
          "250 2.1.5 Ok");
    CHECK(site.rcpt("unknown", "192.168.3.200", "mail from:abc@abc.com", "rcpt to:obama@whitehouse.com") ==
          "454 4.7.1 <obama@whitehouse.com>: Relay access denied");
}

TEST_CASE("smtpd seed 04 access tables", "[unit]") {
    PostfixDir dir;
    dir.postmap("access", {{"192.168.3.87", "REJECT"}, {"whitehouse.com", "REJECT"}});
    dir.postmap("recipient", {{"openstack@", "REJECT"}});
    std::string main_cf = yuliang() +
                          dir.relocate(seed_fragment("04-access.cf"));
    SeedSite site(main_cf);
    CHECK(site.rcpt("unknown", "192.168.3.87", "MAIL FROM:<hadoop@yuliang.com>", "RCPT TO:<openstack@yuliang.com>") ==
          "554 5.7.1 <unknown[192.168.3.87]>: Client host rejected: Access denied");
    CHECK(site.rcpt("ns1.yuliang.com", "192.168.3.111", "mail from:obama@whitehouse.com",
                    "rcpt to:openstack@yuliang.com") ==
          "554 5.7.1 <obama@whitehouse.com>: Sender address rejected: Access denied");
    CHECK(site.rcpt("ns1.yuliang.com", "192.168.3.111", "mail from:1062817308@qq.com",
                    "rcpt to:openstack@yuliang.com ") ==
          "554 5.7.1 <openstack@yuliang.com>: Recipient address rejected: Access denied");
    CHECK(site.rcpt("ns1.yuliang.com", "192.168.3.111", "mail from:root@yuliang.com  ", "rcpt to:tomcat@yuliang.com") ==
          "250 2.1.5 Ok");
}

TEST_CASE("smtpd seed 06 denydstdomains", "[unit]") {
    PostfixDir dir;
    dir.postmap("denydstdomains", {{"microsoft.com", "REJECT"}});
    SeedSite site(yuliang() + "mynetworks = 172.16.0.0/16, 127.0.0.0/8\n" +
                  dir.relocate(seed_fragment("06-denydstdomains.cf")));
    CHECK(site.rcpt("unknown", "172.16.100.66", "mail from:a@yuliang.com", "rcpt to:bill@microsoft.com") ==
          "554 5.7.1 <bill@microsoft.com>: Recipient address rejected: Access denied");
    CHECK(site.rcpt("unknown", "172.16.100.66", "mail from:a@yuliang.com", "rcpt to:x@mail.microsoft.com") ==
          "554 5.7.1 <x@mail.microsoft.com>: Recipient address rejected: Access denied");
    CHECK(site.rcpt("unknown", "172.16.100.66", "mail from:a@yuliang.com", "rcpt to:someone@example.org") ==
          "250 2.1.5 Ok");
    CHECK(site.rcpt("unknown", "203.0.113.5", "mail from:a@example.org", "rcpt to:someone@example.org") ==
          "454 4.7.1 <someone@example.org>: Relay access denied");
}

TEST_CASE("smtpd seed 07 sasl restrictions", "[unit]") {
    SeedSite site(yuliang() + "mynetworks = 127.0.0.0/8\n" + seed_fragment("07-sasl.cf"));
    SessionState s;
    s.client_name = "ns1.yuliang.com";
    s.client_addr = "192.168.3.111";
    s.helo_name = "mail.yuliang.com";
    s.sasl_username = "hadoop";  // after "auth login" and 235 2.7.0
    s.sender = "hadoop@yuliang.com";
    s.recipient = "1062817308@qq.com";
    CHECK_FALSE(site.checker->check_rcpt(s).rejected());
    s.sasl_username.clear();
    CHECK(site.checker->check_rcpt(s).reply.text() == "454 4.7.1 <1062817308@qq.com>: Relay access denied");
}
