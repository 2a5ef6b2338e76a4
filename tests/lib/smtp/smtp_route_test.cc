// smtp_route_test.cc - nexthop syntax, MX ordering, address preference,
// null MX, loops to myself and the classification of lookup failures.
//
// The Router asks a fake zone (Lookups) that answers on the next loop
// turn, and draws its shuffle from a seeded generator, so every order is
// repeatable. One test drives the real c-ares path against fake_dns.py.
#include "lib/smtp/smtp_route.h"

#include <catch2/catch.hpp>
#include <map>
#include <optional>
#include <random>
#include <set>

#include "tests/support/fake_dns.h"
#include "tests/support/loop_util.h"

using namespace mailroom;
using namespace mailroom::smtp_route;

namespace {

// A zone: (name, type) -> answer; anything else is NXDOMAIN.
struct Zone {
    std::map<std::pair<std::string, dns::Type>, dns::Answer> answers;
    std::map<std::string, dns::Answer> native;
    std::vector<std::string> asked;

    void a(const std::string& name, std::vector<std::string> addrs, dns::Type t = dns::Type::kA) {
        dns::Answer x;
        x.outcome = dns::Outcome::kFound;
        x.addresses = std::move(addrs);
        answers[{name, t}] = x;
    }
    void mx(const std::string& name, std::vector<dns::Mx> list) {
        dns::Answer x;
        x.outcome = dns::Outcome::kFound;
        x.mx = std::move(list);
        answers[{name, dns::Type::kMX}] = x;
    }
    void nodata(const std::string& name, dns::Type t) {
        dns::Answer x;
        x.outcome = dns::Outcome::kNotFound;
        answers[{name, t}] = x;
    }
    void servfail(const std::string& name, dns::Type t) {
        dns::Answer x;
        x.outcome = dns::Outcome::kTempFail;
        x.error = "Server failure";
        answers[{name, t}] = x;
    }
    dns::Answer answer(const std::string& name, dns::Type t) const {
        auto it = answers.find({name, t});
        if (it != answers.end()) return it->second;
        dns::Answer x;
        x.outcome = dns::Outcome::kNotFound;
        x.nxdomain = true;
        return x;
    }
};

RouterConfig base_config() {
    RouterConfig c;
    c.ipv6 = false;  // most tests: inet_protocols = ipv4
    c.myhostname = "mx.self.example";
    c.own_addresses = {"192.0.2.99"};
    auto engine = std::make_shared<std::mt19937>(12345);
    c.random = [engine]() { return static_cast<uint32_t>((*engine)()); };
    return c;
}

// Resolves `nexthop` against `zone` and returns the result.
RouteResult route(Zone& zone, RouterConfig config, const std::string& nexthop) {
    event::Loop loop;
    Lookups l;
    l.dns = [&](const std::string& name, dns::Type t, std::function<void(dns::Answer)> done) {
        zone.asked.push_back(name + "/" + dns::type_name(t));
        loop.defer([a = zone.answer(name, t), done = std::move(done)]() { done(a); });
    };
    l.native = [&](const std::string& name, std::function<void(dns::Answer)> done) {
        zone.asked.push_back(name + "/native");
        dns::Answer a;
        a.outcome = dns::Outcome::kNotFound;
        a.error = "Name or service not known";
        if (auto it = zone.native.find(name); it != zone.native.end()) a = it->second;
        loop.defer([a, done = std::move(done)]() { done(a); });
    };
    bool lmtp = config.lmtp;
    Router router(loop, std::move(config), std::move(l));
    auto hop = parse_nexthop(nexthop, lmtp);
    REQUIRE(hop.ok());
    std::optional<RouteResult> result;
    router.resolve(*hop, [&](RouteResult r) { result = std::move(r); });
    REQUIRE(testing::run_until(loop, [&] { return result.has_value(); }));
    return *result;
}

std::vector<std::string> addresses(const RouteResult& r) {
    std::vector<std::string> out;
    for (const auto& t : r.targets) out.push_back(t.address);
    return out;
}

}  // namespace

TEST_CASE("parse_nexthop reads Postfix's nexthop forms", "[unit]") {
    auto n = parse_nexthop("[mail.example.com]:587", false);
    REQUIRE(n.ok());
    CHECK(n->kind == Nexthop::Kind::kInet);
    CHECK(n->host == "mail.example.com");
    CHECK(n->port == 587);
    CHECK_FALSE(n->mx_lookup);

    n = parse_nexthop("example.com:2525", false);
    REQUIRE(n.ok());
    CHECK(n->host == "example.com");
    CHECK(n->port == 2525);
    CHECK(n->mx_lookup);  // host:port still looks up MX records

    n = parse_nexthop("example.com", false);
    REQUIRE(n.ok());
    CHECK(n->port == 25);
    CHECK(n->mx_lookup);

    n = parse_nexthop("[192.0.2.1]:smtp", false);
    REQUIRE(n.ok());
    CHECK(n->host == "192.0.2.1");
    CHECK(n->port == 25);

    n = parse_nexthop("[2001:db8::1]", false);
    REQUIRE(n.ok());
    CHECK(n->host == "2001:db8::1");
    CHECK(n->port == 25);
    n = parse_nexthop("[ipv6:2001:db8::1]:submission", false);
    REQUIRE(n.ok());
    CHECK(n->host == "2001:db8::1");
    CHECK(n->port == 587);

    n = parse_nexthop("[relay.example]:", false);
    REQUIRE(n.ok());
    CHECK(n->port == 25);
}

TEST_CASE("parse_nexthop reads LMTP's inet: and unix: forms", "[unit]") {
    auto n = parse_nexthop("unix:/var/run/dovecot/lmtp", true);
    REQUIRE(n.ok());
    CHECK(n->kind == Nexthop::Kind::kUnix);
    CHECK(n->path == "/var/run/dovecot/lmtp");
    CHECK_FALSE(n->mx_lookup);

    n = parse_nexthop("inet:lmtp.example:2424", true);
    REQUIRE(n.ok());
    CHECK(n->kind == Nexthop::Kind::kInet);
    CHECK(n->host == "lmtp.example");
    CHECK(n->port == 2424);
    CHECK_FALSE(n->mx_lookup);  // LMTP never asks for MX records

    n = parse_nexthop("inet:[127.0.0.1]", true);
    REQUIRE(n.ok());
    CHECK(n->port == 24);
    n = parse_nexthop("lmtp.example", true);
    REQUIRE(n.ok());
    CHECK(n->port == 24);
    CHECK(parse_nexthop("lmtp.example:lmtp", true)->port == 24);
}

TEST_CASE("parse_nexthop refuses what is not a nexthop", "[unit]") {
    CHECK_FALSE(parse_nexthop("", false).ok());
    CHECK_FALSE(parse_nexthop("[mail.example.com", false).ok());
    CHECK_FALSE(parse_nexthop("[mail.example.com]x", false).ok());
    CHECK_FALSE(parse_nexthop("example.com:0", false).ok());
    CHECK_FALSE(parse_nexthop("example.com:65536", false).ok());
    CHECK_FALSE(parse_nexthop("example.com:nosuchservice", false).ok());
    CHECK_FALSE(parse_nexthop("exa mple.com", false).ok());
    CHECK_FALSE(parse_nexthop("unix:", true).ok());
    // SMTP has no unix: prefix: "unix" would be a host with a bad port.
    CHECK_FALSE(parse_nexthop("unix:/path", false).ok());
    // The nexthops qmgr hands over (tests/qmgr/qmgr_transport_test.cc).
    CHECK(parse_nexthop("unix:private/dovecot-lmtp", true)->path == "private/dovecot-lmtp");
    CHECK(parse_nexthop("inet:mailstore.example:2424", true)->port == 2424);
    CHECK(parse_nexthop("[10.0.0.2]:2525", false)->host == "10.0.0.2");
    CHECK(parse_nexthop("mx.test:2525", false)->mx_lookup);
    auto list = parse_nexthop_list("[a.example]:587, b.example", false, 25);
    REQUIRE(list.ok());
    REQUIRE(list->size() == 2);
    CHECK(list->at(1).host == "b.example");
}

TEST_CASE("MX hosts come in preference order, equal preferences shuffled by the seeded generator", "[unit]") {
    Zone zone;
    zone.mx("example.com", {{20, "c.example.com"}, {10, "a.example.com"}, {10, "b.example.com"}});
    zone.a("a.example.com", {"192.0.2.1"});
    zone.a("b.example.com", {"192.0.2.2"});
    zone.a("c.example.com", {"192.0.2.3"});
    std::set<std::vector<std::string>> orders;
    for (int i = 0; i < 20; ++i) {
        RouterConfig c = base_config();
        auto engine = std::make_shared<std::mt19937>(i);
        c.random = [engine]() { return static_cast<uint32_t>((*engine)()); };
        RouteResult r = route(zone, c, "example.com");
        REQUIRE(r.ok);
        auto a = addresses(r);
        REQUIRE(a.size() == 3);
        CHECK(a[2] == "192.0.2.3");  // preference 20 always last
        CHECK(r.targets[0].preference == 10);
        CHECK(r.targets[0].best_mx);
        CHECK_FALSE(r.targets[2].best_mx);
        CHECK(r.targets[0].port == 25);
        orders.insert(a);
    }
    // Both orders of the two preference-10 hosts occur.
    CHECK(orders.size() == 2);
    // The same seed gives the same order.
    RouteResult once = route(zone, base_config(), "example.com");
    RouteResult again = route(zone, base_config(), "example.com");
    CHECK(addresses(once) == addresses(again));
    // Without smtp_randomize_addresses: the order of the answer.
    RouterConfig fixed = base_config();
    fixed.randomize_addresses = false;
    CHECK(addresses(route(zone, fixed, "example.com")) ==
          std::vector<std::string>{"192.0.2.1", "192.0.2.2", "192.0.2.3"});
    CHECK(route(zone, fixed, "example.com").targets[0].hostname == "a.example.com");
}

TEST_CASE("a domain without MX records is its own host, a bracketed host skips the MX lookup", "[unit]") {
    Zone zone;
    zone.a("plain.example", {"192.0.2.7"});
    zone.nodata("plain.example", dns::Type::kMX);
    RouteResult r = route(zone, base_config(), "plain.example");
    REQUIRE(r.ok);
    CHECK(addresses(r) == std::vector<std::string>{"192.0.2.7"});
    CHECK(r.targets[0].hostname == "plain.example");

    zone.mx("relay.example", {{10, "mx.relay.example"}});
    zone.a("mx.relay.example", {"192.0.2.8"});
    zone.a("relay.example", {"192.0.2.9"});
    zone.asked.clear();
    r = route(zone, base_config(), "[relay.example]:2525");
    REQUIRE(r.ok);
    CHECK(addresses(r) == std::vector<std::string>{"192.0.2.9"});
    CHECK(r.targets[0].port == 2525);
    CHECK(std::find(zone.asked.begin(), zone.asked.end(), "relay.example/MX") == zone.asked.end());

    r = route(zone, base_config(), "relay.example:2525");
    REQUIRE(r.ok);
    CHECK(addresses(r) == std::vector<std::string>{"192.0.2.8"});
    CHECK(r.targets[0].port == 2525);

    // disable_dns_lookups: no MX, the system resolver.
    RouterConfig nodns = base_config();
    nodns.dns_enabled = false;
    nodns.host_lookup_dns = false;
    nodns.host_lookup_native = true;
    dns::Answer hosts;
    hosts.outcome = dns::Outcome::kFound;
    hosts.addresses = {"192.0.2.10"};
    zone.native["relay.example"] = hosts;
    zone.asked.clear();
    r = route(zone, nodns, "relay.example");
    REQUIRE(r.ok);
    CHECK(addresses(r) == std::vector<std::string>{"192.0.2.10"});
    CHECK(zone.asked == std::vector<std::string>{"relay.example/native"});
}

TEST_CASE("smtp_address_preference orders the families within one preference", "[unit]") {
    Zone zone;
    zone.mx("dual.example", {{10, "mx.dual.example"}, {20, "mx2.dual.example"}});
    zone.a("mx.dual.example", {"192.0.2.1"});
    zone.a("mx.dual.example", {"2001:db8::1"}, dns::Type::kAAAA);
    zone.a("mx2.dual.example", {"192.0.2.2"});
    zone.a("mx2.dual.example", {"2001:db8::2"}, dns::Type::kAAAA);
    RouterConfig c = base_config();
    c.ipv6 = true;
    c.address_preference = AddressPreference::kIPv6;
    CHECK(addresses(route(zone, c, "dual.example")) ==
          std::vector<std::string>{"2001:db8::1", "192.0.2.1", "2001:db8::2", "192.0.2.2"});
    c.address_preference = AddressPreference::kIPv4;
    CHECK(addresses(route(zone, c, "dual.example")) ==
          std::vector<std::string>{"192.0.2.1", "2001:db8::1", "192.0.2.2", "2001:db8::2"});
    // inet_protocols = ipv4: no AAAA question at all.
    RouterConfig v4 = base_config();
    zone.asked.clear();
    CHECK(addresses(route(zone, v4, "dual.example")) == std::vector<std::string>{"192.0.2.1", "192.0.2.2"});
    for (const auto& q : zone.asked) CHECK(q.find("/AAAA") == std::string::npos);
}

TEST_CASE("smtp_mx_address_limit bounds a nexthop's targets, keeping both families", "[unit]") {
    std::vector<Address> list;
    for (int i = 0; i < 6; ++i) list.push_back(Address{"h", "2001:db8::" + std::to_string(i + 1), 10});
    list.push_back(Address{"h", "192.0.2.1", 10});
    list.push_back(Address{"h", "192.0.2.2", 10});
    balance_families(&list, 4);
    REQUIRE(list.size() == 4);
    int v4 = 0;
    for (const auto& a : list) v4 += a.ipv6() ? 0 : 1;
    CHECK(v4 == 2);
    CHECK(list[0].address == "2001:db8::1");  // relative order kept

    Zone zone;
    std::vector<std::string> many;
    for (int i = 1; i <= 8; ++i) many.push_back("192.0.2." + std::to_string(i));
    zone.a("big.example", many);
    zone.nodata("big.example", dns::Type::kMX);
    RouterConfig c = base_config();
    c.mx_address_limit = 3;
    CHECK(route(zone, c, "big.example").targets.size() == 3);
    c.mx_address_limit = 0;
    CHECK(route(zone, c, "big.example").targets.size() == 8);
}

TEST_CASE("a null MX bounces with Postfix's text", "[unit]") {
    Zone zone;
    dns::Answer null_mx;
    null_mx.outcome = dns::Outcome::kFound;
    null_mx.mx = {{0, ""}};
    null_mx.null_mx = true;
    zone.answers[{"nomail.example", dns::Type::kMX}] = null_mx;
    RouteResult r = route(zone, base_config(), "nomail.example");
    CHECK_FALSE(r.ok);
    CHECK(r.status == deliver::DeliveryStatus::kBounced);
    CHECK(r.dsn == "5.1.0");
    CHECK(r.reason == "Domain nomail.example does not accept mail (nullMX)");
}

TEST_CASE("mail for a domain whose best MX is this host loops back to myself", "[unit]") {
    Zone zone;
    zone.mx("self.example", {{10, "mx.self.example"}, {20, "backup.example"}});
    zone.a("mx.self.example", {"192.0.2.99"});
    zone.a("backup.example", {"192.0.2.50"});
    RouterConfig c = base_config();
    c.myhostname = "other.example";  // found by its address alone
    c.fallback_relays = {*parse_nexthop("[fallback.example]", false)};
    zone.a("fallback.example", {"192.0.2.77"});
    RouteResult r = route(zone, c, "self.example");
    CHECK_FALSE(r.ok);
    CHECK(r.status == deliver::DeliveryStatus::kBounced);
    CHECK(r.dsn == "5.4.6");
    CHECK(r.reason == "mail for self.example loops back to myself");

    // As a backup MX: only the better MX hosts, and no fallback relay.
    zone.mx("backup.example.net", {{5, "primary.example"}, {10, "mx.self.example"}, {20, "worse.example"}});
    zone.a("primary.example", {"192.0.2.5"});
    zone.a("worse.example", {"192.0.2.6"});
    r = route(zone, c, "backup.example.net");
    REQUIRE(r.ok);
    CHECK(addresses(r) == std::vector<std::string>{"192.0.2.5"});

    // The better MX has no address: no primary relay (deferred).
    zone.mx("lost.example", {{5, "gone.example"}, {10, "mx.self.example"}});
    r = route(zone, c, "lost.example");
    CHECK_FALSE(r.ok);
    CHECK(r.dsn == "4.4.4");
    CHECK(r.reason == "unable to find primary relay for lost.example");

    // $myhostname among the MX hosts counts as this host too.
    RouterConfig named = base_config();
    named.own_addresses.clear();
    r = route(zone, named, "self.example");
    CHECK(r.dsn == "5.4.6");

    // [address]:25 of our own address loops; another port does not.
    r = route(zone, c, "[192.0.2.99]");
    CHECK(r.dsn == "5.4.6");
    CHECK(r.reason == "mail for 192.0.2.99 loops back to myself");
    r = route(zone, c, "[192.0.2.99]:10025");
    REQUIRE(r.ok);
    CHECK(addresses(r) == std::vector<std::string>{"192.0.2.99", "192.0.2.77"});
}

TEST_CASE("lookup failures are classified and worded as Postfix does", "[unit]") {
    Zone zone;
    // NXDOMAIN: the MX question, then the address questions.
    RouteResult r = route(zone, base_config(), "nowhere.example");
    CHECK_FALSE(r.ok);
    CHECK(r.status == deliver::DeliveryStatus::kBounced);
    CHECK(r.dsn == "5.4.4");
    CHECK(r.reason ==
          "Host or domain name not found. Name service error for name=nowhere.example type=A: Host not found");
    // Both families on: the last question's text (AAAA).
    RouterConfig dual = base_config();
    dual.ipv6 = true;
    r = route(zone, dual, "nowhere.example");
    CHECK(r.reason ==
          "Host or domain name not found. Name service error for name=nowhere.example type=AAAA: Host not found");

    // NODATA.
    zone.nodata("empty.example", dns::Type::kMX);
    zone.nodata("empty.example", dns::Type::kA);
    r = route(zone, base_config(), "empty.example");
    CHECK(r.dsn == "5.4.4");
    CHECK(r.reason == "Host or domain name not found. Name service error for name=empty.example type=A: "
                      "Host found but no data record of requested type");

    // SERVFAIL of the MX question defers.
    zone.servfail("broken.example", dns::Type::kMX);
    r = route(zone, base_config(), "broken.example");
    CHECK(r.status == deliver::DeliveryStatus::kDeferred);
    CHECK(r.dsn == "4.4.3");
    CHECK(r.reason == "Host or domain name not found. Name service error for name=broken.example type=MX: "
                      "Host not found, try again");
    // ... unless ignore_mx_lookup_error: then the domain's addresses.
    zone.a("broken.example", {"192.0.2.30"});
    RouterConfig ignore = base_config();
    ignore.ignore_mx_lookup_error = true;
    CHECK(addresses(route(zone, ignore, "broken.example")) == std::vector<std::string>{"192.0.2.30"});

    // One MX host fails temporarily, the other does not exist: temporary wins.
    zone.mx("mixed.example", {{10, "tmp.example"}, {20, "nx.example"}});
    zone.servfail("tmp.example", dns::Type::kA);
    r = route(zone, base_config(), "mixed.example");
    CHECK(r.status == deliver::DeliveryStatus::kDeferred);
    CHECK(r.dsn[0] == '4');
    // One MX host without an address is skipped when another has one.
    zone.mx("half.example", {{10, "nx.example"}, {20, "ok.example"}});
    zone.a("ok.example", {"192.0.2.40"});
    CHECK(addresses(route(zone, base_config(), "half.example")) == std::vector<std::string>{"192.0.2.40"});
    // No MX host has an address: bounce, or defer when asked to.
    zone.mx("noaddr.example", {{10, "nx.example"}});
    CHECK(route(zone, base_config(), "noaddr.example").dsn == "5.4.4");
    RouterConfig defer = base_config();
    defer.defer_if_no_mx_address_found = true;
    CHECK(route(zone, defer, "noaddr.example").dsn == "4.4.4");
}

TEST_CASE("fallback relays follow the destination's own servers", "[unit]") {
    Zone zone;
    zone.mx("dest.example", {{10, "mx.dest.example"}});
    zone.a("mx.dest.example", {"192.0.2.1"});
    zone.a("fb.example", {"192.0.2.200"});
    RouterConfig c = base_config();
    c.fallback_relays = {*parse_nexthop("[fb.example]:2526", false)};
    RouteResult r = route(zone, c, "dest.example");
    REQUIRE(r.ok);
    REQUIRE(r.targets.size() == 2);
    CHECK_FALSE(r.targets[0].fallback);
    CHECK(r.targets[1].fallback);
    CHECK(r.targets[1].address == "192.0.2.200");
    CHECK(r.targets[1].port == 2526);
    CHECK(r.targets[1].site == 1);

    // A destination that does not exist still goes to the fallback relay.
    r = route(zone, c, "nowhere.example");
    REQUIRE(r.ok);
    CHECK(addresses(r) == std::vector<std::string>{"192.0.2.200"});

    // A fallback relay that does not resolve either: a configuration
    // problem, deferred with the lookup's text.
    c.fallback_relays = {*parse_nexthop("[nofb.example]", false)};
    r = route(zone, c, "nowhere.example");
    CHECK_FALSE(r.ok);
    CHECK(r.status == deliver::DeliveryStatus::kDeferred);
    CHECK(r.dsn == "4.3.5");
    CHECK(r.reason.find("name=nofb.example") != std::string::npos);

    // So is a relayhost that does not resolve.
    RouterConfig relay = base_config();
    relay.relayhosts = {*parse_nexthop("[smarthost.example]", false)};
    r = route(zone, relay, "[smarthost.example]");
    CHECK(r.dsn == "4.3.5");
}

TEST_CASE("an LMTP unix: nexthop is one target with its path", "[unit]") {
    Zone zone;
    RouterConfig c = base_config();
    c.lmtp = true;
    RouteResult r = route(zone, c, "unix:private/dovecot-lmtp");
    REQUIRE(r.ok);
    REQUIRE(r.targets.size() == 1);
    CHECK(r.targets[0].path == "private/dovecot-lmtp");
    CHECK(r.targets[0].address.empty());
    CHECK(r.targets[0].hostname == "mx.self.example");
    CHECK(zone.asked.empty());

    zone.a("lmtp.example", {"192.0.2.24"});
    r = route(zone, c, "inet:lmtp.example");
    REQUIRE(r.ok);
    CHECK(r.targets[0].port == 24);
    CHECK(std::find(zone.asked.begin(), zone.asked.end(), "lmtp.example/MX") == zone.asked.end());
}

TEST_CASE("the Router asks lib/dns on the loop (fake_dns.py)", "[unit]") {
    testing::FakeDns fake({"yuliang.com MX 10 mail.yuliang.com", "mail.yuliang.com A 127.0.0.2",
                           "nomx.yuliang.com MX 0 .", "bad.yuliang.com SERVFAIL"});
    RouterConfig c = base_config();
    c.dns = fake.options();
    event::Loop loop;
    Router router(loop, c);
    std::optional<RouteResult> r1, r2, r3;
    router.resolve(*parse_nexthop("yuliang.com", false), [&](RouteResult r) { r1 = std::move(r); });
    router.resolve(*parse_nexthop("nomx.yuliang.com", false), [&](RouteResult r) { r2 = std::move(r); });
    router.resolve(*parse_nexthop("bad.yuliang.com", false), [&](RouteResult r) { r3 = std::move(r); });
    REQUIRE(testing::run_until(loop, [&] { return r1 && r2 && r3; }, std::chrono::milliseconds(10000)));
    REQUIRE(r1->ok);
    CHECK(r1->targets[0].hostname == "mail.yuliang.com");
    CHECK(r1->targets[0].address == "127.0.0.2");
    CHECK(r2->dsn == "5.1.0");
    CHECK(r3->dsn == "4.4.3");
}

TEST_CASE("RouterConfig reads the smtp_ or lmtp_ parameters", "[unit]") {
    auto cfg = config::Config::from_text(
        "myhostname = mx.example.org\ninet_interfaces = 127.0.0.2\ninet_protocols = ipv4\n"
        "smtp_address_preference = ipv6\nsmtp_mx_address_limit = 3\nfallback_relay = [fb.example]:2525\n"
        "relayhost = [smart.example]\nsmtp_tcp_port = 2500\ndns_servers = 127.0.0.1:5353\n"
        "lmtp_tcp_port = lmtp\n",
        "/nonexistent");
    REQUIRE(cfg.ok());
    auto smtp = RouterConfig::from_config(*cfg, false);
    REQUIRE(smtp.ok());
    CHECK(smtp->ipv4);
    CHECK_FALSE(smtp->ipv6);
    CHECK(smtp->address_preference == AddressPreference::kIPv6);
    CHECK(smtp->mx_address_limit == 3);
    CHECK(smtp->mx_session_limit == 2);
    CHECK(smtp->default_port == 2500);
    REQUIRE(smtp->fallback_relays.size() == 1);  // smtp_fallback_relay = $fallback_relay
    CHECK(smtp->fallback_relays[0].port == 2525);
    REQUIRE(smtp->relayhosts.size() == 1);
    CHECK(smtp->myhostname == "mx.example.org");
    CHECK(smtp->own_addresses == std::vector<std::string>{"127.0.0.2"});
    CHECK(smtp->dns.servers == "127.0.0.1:5353");
    CHECK(smtp->dns_enabled);
    auto lmtp = RouterConfig::from_config(*cfg, true);
    REQUIRE(lmtp.ok());
    CHECK(lmtp->default_port == 24);
    CHECK(lmtp->address_preference == AddressPreference::kAny);
    CHECK(lmtp->fallback_relays.empty());

    for (auto name : RouterConfig::parameters()) {
        INFO(name);
        CHECK(config::find_param(name) != nullptr);
    }

    auto nodns = config::Config::from_text("disable_dns_lookups = yes\n", "/nonexistent");
    REQUIRE(nodns.ok());
    auto c = RouterConfig::from_config(*nodns, false);
    REQUIRE(c.ok());
    CHECK_FALSE(c->dns_enabled);
    CHECK(c->host_lookup_native);
    CHECK_FALSE(c->host_lookup_dns);
}

TEST_CASE("without DNS the system resolver answers on a worker thread", "[unit]") {
    // /etc/hosts names localhost on every system the tests run on.
    RouterConfig c = base_config();
    c.dns_enabled = false;
    c.host_lookup_dns = false;
    c.host_lookup_native = true;
    c.dns.servers = "127.0.0.1:1";  // never asked
    event::Loop loop;
    Router router(loop, c);
    std::optional<RouteResult> found;
    router.resolve(*parse_nexthop("localhost:2525", false), [&](RouteResult r) { found = std::move(r); });
    REQUIRE(testing::run_until(loop, [&] { return found.has_value(); }, std::chrono::milliseconds(20000)));
    REQUIRE(found->ok);
    CHECK(found->targets[0].hostname == "localhost");
    CHECK(found->targets[0].address == "127.0.0.1");
    CHECK(found->targets[0].port == 2525);
}
