// smtpd_mynetworks_test.cc - $mynetworks matching: CIDR (IPv4, IPv6,
// IPv4-mapped), single addresses, names, negation, tables and errors.
#include "smtpd/smtpd_mynetworks.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "lib/util/strings.h"

using namespace mailroom;
using namespace mailroom::smtpd;

TEST_CASE("smtpd_mynetworks matching table", "[unit]") {
    struct Case {
        const char* name;
        const char* mynetworks;
        const char* client_name;
        const char* client_addr;
        bool expected;
    };
    const std::vector<Case> cases = {
        {"seed lan", "192.168.1.0/24, 127.0.0.0/8", "unknown", "192.168.1.77", true},
        {"seed loopback", "192.168.1.0/24, 127.0.0.0/8", "localhost", "127.0.0.1", true},
        {"seed outside", "192.168.1.0/24, 127.0.0.0/8", "unknown", "192.168.3.87", false},
        {"seed /25 inside", "192.168.3.0/25, 127.0.0.0/8", "ns1.yuliang.com", "192.168.3.111", true},
        {"seed /25 outside", "192.168.3.0/25, 127.0.0.0/8", "unknown", "192.168.3.200", false},
        {"seed only loopback", "127.0.0.0/8", "ns1.yuliang.com", "192.168.3.111", false},
        {"single address", "10.1.2.3", "unknown", "10.1.2.3", true},
        {"single address other", "10.1.2.3", "unknown", "10.1.2.4", false},
        {"ipv6 block", "[2001:db8::]/32", "unknown", "2001:db8:1::5", true},
        {"ipv6 block bare", "2001:db8::/32", "unknown", "2001:db9::5", false},
        {"ipv6 loopback", "[::1]/128", "localhost", "::1", true},
        {"ipv4 mapped client", "127.0.0.0/8", "localhost", "::ffff:127.0.0.1", true},
        {"ipv4 mapped pattern", "[::ffff:127.0.0.0]/104", "localhost", "127.0.0.9", true},
        {"ipv4 client vs ipv6 block", "[::]/0", "unknown", "192.0.2.1", false},
        {"negation first wins", "!192.168.1.5, 192.168.1.0/24", "unknown", "192.168.1.5", false},
        {"negation other address", "!192.168.1.5, 192.168.1.0/24", "unknown", "192.168.1.6", true},
        {"domain name", "example.com", "mx.example.com", "198.51.100.1", true},
        {"domain name exact", "example.com", "example.com", "198.51.100.1", true},
        {"domain name other", "example.com", "badexample.com", "198.51.100.1", false},
        {"inline table", "inline:{ 192.0.2.7=ok }", "unknown", "192.0.2.7", true},
        {"inline table miss", "inline:{ 192.0.2.7=ok }", "unknown", "192.0.2.8", false},
        {"zero prefix", "0.0.0.0/0", "unknown", "203.0.113.1", true},
    };
    for (const auto& c : cases) {
        SECTION(c.name) {
            auto m = Mynetworks::parse(util::split_list(c.mynetworks));
            REQUIRE(m.ok());
            auto r = m->match(c.client_name, c.client_addr);
            REQUIRE(r.ok());
            CHECK(*r == c.expected);
        }
    }
}

TEST_CASE("smtpd_mynetworks rejects bad patterns", "[unit]") {
    auto host_bits = Mynetworks::parse({"192.168.1.1/24"});
    REQUIRE_FALSE(host_bits.ok());
    CHECK(host_bits.error().message ==
          "non-null host address bits in \"192.168.1.1/24\", perhaps you should use \"192.168.1.0/24\" instead");
    CHECK_FALSE(Mynetworks::parse({"10.0.0.0/33"}).ok());
    CHECK_FALSE(Mynetworks::parse({"10.0.0.0/x"}).ok());
    CHECK_FALSE(Mynetworks::parse({"[2001:db8::1]/32"}).ok());
    CHECK_FALSE(Mynetworks::parse({"nosuchtype:/x"}).ok());
}

TEST_CASE("smtpd_mynetworks table lookup errors are returned", "[unit]") {
    class Down : public table::Table {
    public:
        Down() : Table("mysql", "x") {}
        table::LookupResult lookup(std::string_view) override { return make_temp_error("down"); }
    };
    auto m = Mynetworks::parse({"mysql:x"}, [](std::string_view) -> Result<table::TablePtr> {
        return table::TablePtr(std::make_unique<Down>());
    });
    REQUIRE(m.ok());
    auto r = m->match("unknown", "192.0.2.1");
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().temporary());
}

TEST_CASE("smtpd_mynetworks from main.cf", "[unit]") {
    auto cfg = config::Config::from_text("mynetworks = 192.168.3.0/25, 127.0.0.0/8\n", "/tmp");
    REQUIRE(cfg.ok());
    auto m = Mynetworks::from_config(*cfg);
    REQUIRE(m.ok());
    CHECK(*m->match("ns1.yuliang.com", "192.168.3.111"));
    CHECK_FALSE(*m->match("unknown", "192.168.3.187"));
    auto bad = config::Config::from_text("mynetworks = 192.168.3.1/24\n", "/tmp");
    REQUIRE(bad.ok());
    auto e = Mynetworks::from_config(*bad);
    REQUIRE_FALSE(e.ok());
    CHECK(e.error().message.rfind("mynetworks: non-null host address bits", 0) == 0);
}
