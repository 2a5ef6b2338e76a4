// qmgr_transport_test.cc - recipient -> transport:nexthop (qmgr_transport.h).
#include <catch2/catch.hpp>

#include <algorithm>
#include <map>

#include "qmgr/qmgr_transport.h"

using namespace mailroom;
using qmgr::Route;

namespace {

std::shared_ptr<const address::Resolver> resolver_for(address::DomainClassFn classify) {
    address::ResolveOptions o;
    o.myhostname = "mx.example.com";
    o.myorigin = "mx.example.com";
    return std::make_shared<address::Resolver>(o, std::move(classify));
}

qmgr::RoutingConfig postfix_defaults() {
    qmgr::RoutingConfig c;
    auto lists = std::make_shared<address::DomainLists>();
    lists->mydestination = {"mx.example.com", "localhost.example.com", "localhost"};
    lists->relay_domains = {"relayed.org"};
    c.resolver = resolver_for(address::DomainLists::classifier(lists));
    c.local_transport = "local:mx.example.com";
    c.relay_transport = "relay";
    c.default_transport = "smtp";
    return c;
}

qmgr::TransportLookup fake_table(std::map<std::string, std::string> entries, std::vector<std::string>* keys = nullptr) {
    return [entries, keys](std::string_view key) -> Result<std::optional<std::string>> {
        if (keys) keys->emplace_back(key);
        auto it = entries.find(std::string(key));
        if (it == entries.end()) return std::optional<std::string>();
        return std::optional<std::string>(it->second);
    };
}

// The route of `rcpt` without transport_maps.
Route route(const qmgr::RoutingConfig& cfg, const char* rcpt) {
    auto r = qmgr::resolve_route(cfg, rcpt, nullptr);
    REQUIRE(r);
    return *r;
}

}  // namespace

TEST_CASE("address classes choose local relay or default transport", "[unit]") {
    struct Case {
        const char* rcpt;
        Route want;
    };
    const Case cases[] = {
        {"bob@mx.example.com", {"local", "mx.example.com", true}},
        {"bob@MX.Example.COM", {"local", "mx.example.com", true}},
        {"bob@localhost", {"local", "mx.example.com", true}},
        {"bob", {"local", "mx.example.com", true}},
        {"x@relayed.org", {"relay", "relayed.org", false}},
        {"x@sub.relayed.org", {"relay", "sub.relayed.org", false}},
        {"x@notrelayed.org", {"smtp", "notrelayed.org", false}},
        {"x@elsewhere.net", {"smtp", "elsewhere.net", false}},
        // trivial-rewrite's rules (lib/address): a trailing dot, the
        // percent hack and bang paths in a local domain's local part.
        {"bob@mx.example.com.", {"local", "mx.example.com", true}},
        {"x%elsewhere.net@mx.example.com", {"smtp", "elsewhere.net", false}},
        {"elsewhere.net!x@localhost", {"smtp", "elsewhere.net", false}},
        {"x@127.0.0.1", {"error", "5.1.3 bad address syntax", true}},
    };
    auto cfg = postfix_defaults();
    for (const auto& c : cases) {
        INFO(c.rcpt);
        auto r = qmgr::resolve_route(cfg, c.rcpt, nullptr);
        REQUIRE(r);
        CHECK(*r == c.want);
    }
}

TEST_CASE("the route carries the resolved recipient", "[unit]") {
    auto cfg = postfix_defaults();
    auto r = qmgr::resolve_route(cfg, "bob@mx.example.com.", nullptr);
    REQUIRE(r);
    CHECK(r->recipient == "bob@mx.example.com");
    r = qmgr::resolve_route(cfg, "x%elsewhere.net@mx.example.com", nullptr);
    REQUIRE(r);
    CHECK(r->recipient == "x@elsewhere.net");
}

TEST_CASE("discard and error nexthop syntax in the default transports", "[unit]") {
    auto cfg = postfix_defaults();
    cfg.default_transport = "discard";
    auto r = qmgr::resolve_route(cfg, "a@b.test", nullptr);
    REQUIRE(r);
    CHECK(*r == Route{"discard", "b.test", false});
    cfg.default_transport = "error:mail for remote domains is disabled";
    r = qmgr::resolve_route(cfg, "a@b.test", nullptr);
    REQUIRE(r);
    CHECK(*r == Route{"error", "mail for remote domains is disabled", true});
    cfg.default_transport = "smtp:[relay.example]:587";
    r = qmgr::resolve_route(cfg, "a@b.test", nullptr);
    REQUIRE(r);
    CHECK(*r == Route{"smtp", "[relay.example]:587", true});
}

TEST_CASE("relayhost is the nexthop of relay and default mail only", "[unit]") {
    auto cfg = postfix_defaults();
    cfg.relayhost = "[smarthost.example]:587";
    auto lists = std::make_shared<address::DomainLists>();
    lists->mydestination = {"mx.example.com"};
    lists->relay_domains = {"relayed.org"};
    lists->virtual_mailbox_domains = {"vmail.test"};
    cfg.resolver = resolver_for(address::DomainLists::classifier(lists));
    CHECK(route(cfg, "x@elsewhere.net") == Route{"smtp", "[smarthost.example]:587", true});
    CHECK(route(cfg, "x@relayed.org") == Route{"relay", "[smarthost.example]:587", true});
    CHECK(route(cfg, "bob@mx.example.com") == Route{"local", "mx.example.com", true});
    CHECK(route(cfg, "u@vmail.test") == Route{"virtual", "vmail.test", false});
    // A nexthop in the transport value or in transport_maps wins.
    cfg.default_transport = "smtp:[other.example]";
    CHECK(route(cfg, "x@elsewhere.net") == Route{"smtp", "[other.example]", true});
    auto r = qmgr::resolve_route(cfg, "x@relayed.org", fake_table({{"relayed.org", "smtp:[mx.relayed.org]"}}));
    REQUIRE(r);
    CHECK(*r == Route{"smtp", "[mx.relayed.org]", true});
}

TEST_CASE("transport_maps come first with Postfix's key order", "[unit]") {
    auto cfg = postfix_defaults();
    struct Case {
        const char* rcpt;
        std::map<std::string, std::string> entries;
        Route want;
    };
    const std::vector<Case> cases = {
        {"u@a.b.test", {{"u@a.b.test", "discard:"}, {"a.b.test", "error:no"}}, {"discard", "a.b.test", false}},
        {"u@a.b.test", {{"a.b.test", "error:domain gone"}, {".b.test", "smtp"}}, {"error", "domain gone", true}},
        {"u@a.b.test", {{".b.test", "uucp:gateway"}, {"*", "smtp"}}, {"uucp", "gateway", true}},
        {"u@a.b.test", {{"*", "discard:all of it"}}, {"discard", "all of it", true}},
        {"u@a.b.test", {{"b.test", "error:parent only matches as .b.test"}}, {"smtp", "a.b.test", false}},
        // Empty transport: the class default; empty nexthop: the domain.
        {"u@relayed.org", {{"relayed.org", ":[10.0.0.1]"}}, {"relay", "[10.0.0.1]", true}},
        {"u@mx.example.com", {{"mx.example.com", "virtual:"}}, {"virtual", "mx.example.com", false}},
        {"u@mx.example.com", {}, {"local", "mx.example.com", true}},
    };
    for (const auto& c : cases) {
        INFO(c.rcpt << " -> " << c.want.transport << ":" << c.want.nexthop);
        auto r = qmgr::resolve_route(cfg, c.rcpt, fake_table(c.entries));
        REQUIRE(r);
        CHECK(*r == c.want);
    }
}

TEST_CASE("transport_maps keys are tried in order and lower-cased", "[unit]") {
    std::vector<std::string> keys;
    auto r = qmgr::resolve_route(postfix_defaults(), "User@A.B.Test", fake_table({}, &keys));
    REQUIRE(r);
    CHECK(keys == std::vector<std::string>{"user@a.b.test", "a.b.test", ".b.test", ".test", "*"});
}

TEST_CASE("a failing transport table defers instead of routing elsewhere", "[unit]") {
    auto failing = [](std::string_view) -> Result<std::optional<std::string>> {
        return make_temp_error("database is down");
    };
    auto r = qmgr::resolve_route(postfix_defaults(), "a@b.test", failing);
    REQUIRE_FALSE(r);
    CHECK(r.error().temporary());
}

TEST_CASE("parse_transport_value splits at the first colon", "[unit]") {
    auto v = qmgr::parse_transport_value(" smtp:[h]:25 ");
    CHECK(v.transport == "smtp");
    CHECK(v.nexthop == "[h]:25");
    v = qmgr::parse_transport_value("local");
    CHECK(v.transport == "local");
    CHECK(v.nexthop.empty());
    v = qmgr::parse_transport_value(":x");
    CHECK(v.transport.empty());
    CHECK(v.nexthop == "x");
}

TEST_CASE("virtual alias and virtual mailbox domains come between local and relay", "[unit]") {
    auto cfg = postfix_defaults();
    // The domain lists answer through lib/address (tested there with tables
    // and exclusions); here a fake stands for a mysql: list that is down
    // for one domain.
    cfg.resolver = resolver_for([](std::string_view d) -> Result<address::AddressClass> {
        if (d == "mx.example.com") return address::AddressClass::kLocal;
        if (d == "alias.test") return address::AddressClass::kVirtualAlias;
        if (d == "extmail.org" || d == "plain.test") return address::AddressClass::kVirtualMailbox;
        if (d == "sub.extmail.org") return address::AddressClass::kRelay;
        if (d == "down.test") return make_temp_error("mysql server down");
        return address::AddressClass::kDefault;
    });
    struct Case {
        const char* rcpt;
        Route want;
    } cases[] = {
        {"postmaster@extmail.org", {"virtual", "extmail.org", false}},
        {"u@plain.test", {"virtual", "plain.test", false}},
        {"u@alias.test", {"error", "5.1.1 User unknown in virtual alias table", true}},
        {"u@sub.extmail.org", {"relay", "sub.extmail.org", false}},
        {"u@mx.example.com", {"local", "mx.example.com", true}},
    };
    for (const auto& c : cases) {
        INFO(c.rcpt);
        auto r = qmgr::resolve_route(cfg, c.rcpt, nullptr);
        REQUIRE(r);
        CHECK(*r == c.want);
    }
    // A table that cannot answer now defers the recipient: no other route is taken.
    auto down = qmgr::resolve_route(cfg, "u@down.test", nullptr);
    REQUIRE_FALSE(down);
    CHECK(down.error().temporary());
}

TEST_CASE("domain list negation reaches qmgr", "[unit]") {
    qmgr::RoutingConfig cfg = postfix_defaults();
    auto lists = std::make_shared<address::DomainLists>();
    lists->mydestination = {"!private.example.com", ".example.com", "example.org"};
    cfg.resolver = resolver_for(address::DomainLists::classifier(lists));
    CHECK(qmgr::resolve_route(cfg, "u@a.example.com", nullptr)->transport == "local");
    CHECK(qmgr::resolve_route(cfg, "u@private.example.com", nullptr)->transport == "smtp");
    CHECK(qmgr::resolve_route(cfg, "u@example.com", nullptr)->transport == "smtp");
    CHECK(qmgr::resolve_route(cfg, "u@example.org", nullptr)->transport == "local");
}

TEST_CASE("transport_maps nexthops reach the smtp and lmtp agents as Postfix writes them", "[unit]") {
    auto cfg = postfix_defaults();
    cfg.relayhost = "[smarthost.example]:587";
    auto table = fake_table({{"lmtp.test", "lmtp:unix:private/dovecot-lmtp"},
                             {"inet.test", "lmtp:inet:mailstore.example:2424"},
                             {"port.test", "smtp:[10.0.0.2]:2525"},
                             {"mx.test", "smtp:mx.test:2525"},
                             {"relayed.org", "relay:"},
                             {"list.test", "smtp:[a.example]:25, [b.example]:25"}});
    struct Case {
        const char* rcpt;
        Route want;
    };
    const std::vector<Case> cases = {
        {"u@lmtp.test", {"lmtp", "unix:private/dovecot-lmtp", true}},
        {"u@inet.test", {"lmtp", "inet:mailstore.example:2424", true}},
        {"u@port.test", {"smtp", "[10.0.0.2]:2525", true}},
        {"u@mx.test", {"smtp", "mx.test:2525", true}},
        // A transport without nexthop resets the nexthop to the recipient
        // domain, relayhost or not (transport(5)).
        {"u@relayed.org", {"relay", "relayed.org", false}},
        {"u@list.test", {"smtp", "[a.example]:25, [b.example]:25", true}},
        // No entry: the class default with relayhost.
        {"u@elsewhere.net", {"smtp", "[smarthost.example]:587", true}},
    };
    for (const auto& c : cases) {
        INFO(c.rcpt);
        auto r = qmgr::resolve_route(cfg, c.rcpt, table);
        REQUIRE(r);
        CHECK(*r == c.want);
    }
}
