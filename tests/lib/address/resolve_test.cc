// resolve_test.cc - the address resolver (trivial-rewrite) and the domain
// lists, rule by rule, and a table of tricky addresses with the class and
// final address Postfix's documentation gives them.
#include "lib/address/resolve.h"

#include <catch2/catch.hpp>

using namespace mailroom;
using namespace mailroom::address;

namespace {

const AddressClass L = AddressClass::kLocal;
const AddressClass A = AddressClass::kVirtualAlias;
const AddressClass M = AddressClass::kVirtualMailbox;
const AddressClass R = AddressClass::kRelay;
const AddressClass D = AddressClass::kDefault;

std::shared_ptr<DomainLists> site_lists() {
    auto l = std::make_shared<DomainLists>();
    l->mydestination = {"mx.example.test", "localhost", "!excluded.example.test", ".example.test"};
    l->virtual_alias_domains = {"alias.example", "inline:{aliases.example=yes}"};
    l->virtual_mailbox_domains = {"!nomail.vmail.example", "vmail.example", ".vmail.example"};
    l->relay_domains = {"relay.example"};
    return l;
}

ResolveOptions site_options() {
    ResolveOptions o;
    o.myhostname = "mx.example.test";
    o.myorigin = "example.test";
    o.own_addresses = {"127.0.0.1", "::1", "198.51.100.7"};
    o.recipient_delimiter = "+";
    return o;
}

Resolver site(ResolveOptions o = site_options()) { return Resolver(std::move(o), DomainLists::classifier(site_lists())); }

Resolution must(const Resolver& r, std::string_view address) {
    auto res = r.resolve(address);
    REQUIRE(res.ok());
    return *res;
}

}  // namespace

TEST_CASE("resolver: 40+ tricky addresses, class and final address", "[unit]") {
    struct Case {
        const char* address;
        AddressClass cls;
        const char* recipient;
        bool routed;
        bool bad_syntax;
    };
    // Defaults: allow_percent_hack, swap_bangpath, resolve_dequoted_address
    // on; resolve_numeric_domain off.
    const Case cases[] = {
        {"user@mx.example.test", L, "user@mx.example.test", false, false},
        {"USER@MX.EXAMPLE.TEST", L, "USER@MX.EXAMPLE.TEST", false, false},
        {"user@mx.example.test.", L, "user@mx.example.test", false, false},       // one trailing dot dropped
        {"user@MX.Example.Test.", L, "user@MX.Example.Test", false, false},
        {"user@mx.example.test..", D, "user@mx.example.test..", false, true},    // never two
        {"user@localhost", L, "user@localhost", false, false},
        {"postmaster@localhost.", L, "postmaster@localhost", false, false},
        {"user", L, "user@mx.example.test", false, false},                        // no domain: $myhostname
        {"user@", L, "user@mx.example.test", false, false},                       // trailing @ dropped
        {"user@sub.example.test", L, "user@sub.example.test", false, false},      // .example.test
        {"user@excluded.example.test", D, "user@excluded.example.test", false, false},  // ! exclusion
        {"user@alias.example", A, "user@alias.example", false, false},
        {"user+tag@alias.example", A, "user+tag@alias.example", false, false},
        {"user@aliases.example", A, "user@aliases.example", false, false},        // type:table element
        {"user@vmail.example", M, "user@vmail.example", false, false},
        {"user@a.vmail.example", M, "user@a.vmail.example", false, false},
        {"user@nomail.vmail.example", D, "user@nomail.vmail.example", false, false},
        {"user@relay.example", R, "user@relay.example", false, false},
        {"user@sub.relay.example", R, "user@sub.relay.example", false, false},   // parent matches subdomains
        {"user@sub.relay.example.", R, "user@sub.relay.example", false, false},
        {"user@outside.example", D, "user@outside.example", false, false},
        // Routing operators in a local domain's local part: resolved on.
        {"user%outside.example@mx.example.test", D, "user@outside.example", false, false},
        {"outside.example!user@mx.example.test", D, "user@outside.example", false, false},
        {"\"user@outside.example\"@mx.example.test", D, "user@outside.example", false, false},
        {"\"user%outside.example\"@mx.example.test", D, "user@outside.example", false, false},
        {"\"outside.example!user\"@mx.example.test", D, "user@outside.example", false, false},
        {"user%alias.example@mx.example.test", A, "user@alias.example", false, false},
        {"user%localhost@mx.example.test", L, "user@localhost", false, false},
        {"user%outside.example@[127.0.0.1]", D, "user@outside.example", false, false},
        {"user%relay.example@localhost", R, "user@relay.example", false, false},
        // ... but not in a remote domain's: the next hop decides (routed).
        {"user%outside.example@other.example", D, "user%outside.example@other.example", true, false},
        {"\"joe@smith\"@outside.example", D, "\"joe@smith\"@outside.example", true, false},
        {"a!b!user@mx.example.test", D, "b!user@a", true, false},                // first '!' first
        {"user%a%b@mx.example.test", D, "user%a@b", true, false},                // last '%' first
        // Address literals of our own addresses are local.
        {"user@[127.0.0.1]", L, "user@[127.0.0.1]", false, false},
        {"user@[127.0.0.1].", L, "user@[127.0.0.1]", false, false},
        {"user@[IPv6:::1]", L, "user@[IPv6:::1]", false, false},
        {"user@[198.51.100.7]", L, "user@[198.51.100.7]", false, false},        // proxy_interfaces
        {"user@[192.0.2.99]", D, "user@[192.0.2.99]", false, false},
        {"user@127.0.0.1", D, "user@127.0.0.1", false, true},                    // resolve_numeric_domain = no
        {"user@[300.1.1.1]", D, "user@[300.1.1.1]", false, true},
        {"user@-bad-.example", D, "user@-bad-.example", false, true},
        // Empty local parts are MAILER-DAEMON.
        {"@mx.example.test", L, "MAILER-DAEMON@mx.example.test", false, false},
        {"\"\"@mx.example.test", L, "MAILER-DAEMON@mx.example.test", false, false},
        // A quoted local part without routing operators stays as it is.
        {"\"joe smith\"@mx.example.test", L, "\"joe smith\"@mx.example.test", false, false},
    };
    static_assert(sizeof(cases) / sizeof(cases[0]) >= 40);
    Resolver r = site();
    for (const Case& c : cases) {
        INFO(c.address);
        Resolution got = must(r, c.address);
        CHECK(class_name(got.cls) == std::string(class_name(c.cls)));
        CHECK(got.recipient == c.recipient);
        CHECK(got.routed == c.routed);
        CHECK(got.bad_syntax == c.bad_syntax);
    }
}

TEST_CASE("resolver: allow_percent_hack = no", "[unit]") {
    ResolveOptions o = site_options();
    o.allow_percent_hack = false;
    Resolution r = must(site(o), "user%outside.example@mx.example.test");
    CHECK(r.cls == L);
    CHECK(r.recipient == "user%outside.example@mx.example.test");
    CHECK(r.routed);  // still a relay attempt for an untrusted client
    CHECK(must(site(o), "\"user%outside.example\"@mx.example.test").cls == L);
}

TEST_CASE("resolver: swap_bangpath = no", "[unit]") {
    ResolveOptions o = site_options();
    o.swap_bangpath = false;
    Resolution r = must(site(o), "outside.example!user@mx.example.test");
    CHECK(r.cls == L);
    CHECK(r.recipient == "outside.example!user@mx.example.test");
    CHECK(r.routed);
}

TEST_CASE("resolver: resolve_dequoted_address = no", "[unit]") {
    ResolveOptions o = site_options();
    o.resolve_dequoted_address = false;
    Resolution r = must(site(o), "\"user@outside.example\"@mx.example.test");
    CHECK(r.cls == L);
    CHECK(r.recipient == "\"user@outside.example\"@mx.example.test");
    CHECK(r.routed);
    // An unquoted percent hack is not a quoted local part.
    CHECK(must(site(o), "user%outside.example@mx.example.test").cls == D);
}

TEST_CASE("resolver: resolve_numeric_domain = yes", "[unit]") {
    ResolveOptions o = site_options();
    o.resolve_numeric_domain = true;
    Resolution own = must(site(o), "user@127.0.0.1");
    CHECK(own.cls == L);
    CHECK(own.recipient == "user@[127.0.0.1]");
    CHECK(!own.bad_syntax);
    Resolution other = must(site(o), "user@192.0.2.99");
    CHECK(other.cls == D);
    CHECK(other.recipient == "user@[192.0.2.99]");
    CHECK(!other.bad_syntax);
}

TEST_CASE("resolver: empty_address_recipient and myhostname", "[unit]") {
    ResolveOptions o = site_options();
    o.empty_address_recipient = "postmaster";
    CHECK(must(site(o), "@localhost").recipient == "postmaster@localhost");
    CHECK(must(site(o), "joe").recipient == "joe@mx.example.test");
}

TEST_CASE("resolver: a failing domain table is a temporary error", "[unit]") {
    auto lists = std::make_shared<DomainLists>();
    lists->virtual_mailbox_domains = {"fail:broken"};
    Resolver r(site_options(), DomainLists::classifier(lists));
    auto res = r.resolve("user@example.org");
    REQUIRE(!res.ok());
    CHECK(res.error().temporary());
    // Our own literals never ask the tables.
    CHECK(r.resolve("user@[127.0.0.1]").ok());
}

TEST_CASE("domain lists: exclusions, subdomains, tables, order", "[unit]") {
    auto l = site_lists();
    CHECK(*l->classify("mx.example.test") == L);
    CHECK(*l->classify("deep.sub.example.test") == L);
    CHECK(*l->classify("example.test") == D);  // ".example.test" is subdomains only
    CHECK(*l->classify("excluded.example.test") == D);
    CHECK(*l->classify("aliases.example") == A);
    CHECK(*l->classify("nomail.vmail.example") == D);
    CHECK(*l->classify("x.relay.example") == R);
    l->relay_parent_matches_subdomains = false;
    CHECK(*l->classify("x.relay.example") == D);
    // The first list that matches decides: mydestination before the others.
    l->virtual_alias_domains.push_back("localhost");
    CHECK(*l->classify("localhost") == L);
}

TEST_CASE("domain lists from main.cf", "[unit]") {
    auto cfg = config::Config::from_text(
        "myhostname = mx.example.test\n"
        "mydestination = $myhostname, !no.example.test, .example.test\n"
        "virtual_alias_domains = alias.example\n"
        "relay_domains = relay.example\n"
        "parent_domain_matches_subdomains =\n",
        "/tmp");
    REQUIRE(cfg.ok());
    std::shared_ptr<DomainLists> lists;
    auto r = resolver_from_config(*cfg, &lists);
    REQUIRE(r.ok());
    REQUIRE(lists);
    CHECK(!lists->may_block());
    CHECK(must(**r, "a@mx.example.test").cls == L);
    CHECK(must(**r, "a@no.example.test").cls == D);
    CHECK(must(**r, "a@yes.example.test").cls == L);
    CHECK(must(**r, "a@alias.example").cls == A);
    CHECK(must(**r, "a@relay.example").cls == R);
    CHECK(must(**r, "a@x.relay.example").cls == D);  // not listed in parent_domain_matches_subdomains
    // Defaults: percent hack, bang path and dequoting on, numeric domains off.
    CHECK((*r)->options().allow_percent_hack);
    CHECK((*r)->options().swap_bangpath);
    CHECK((*r)->options().resolve_dequoted_address);
    CHECK(!(*r)->options().resolve_numeric_domain);
    CHECK(!(*r)->options().allow_untrusted_routing);
}

TEST_CASE("find: local-part keys for $myorigin and local domains", "[unit]") {
    Resolver r = site();
    auto t = table::open_table("inline:{user=found}");
    REQUIRE(t.ok());
    auto lookup = table_lookup(**t);
    auto hit = [&](const char* a) {
        auto f = r.find(a, lookup);
        REQUIRE(f.ok());
        return f->has_value();
    };
    CHECK(hit("user+tag@mx.example.test"));  // mydestination, extension cut off
    CHECK(hit("user@example.test"));         // $myorigin, though not in mydestination
    CHECK(hit("user@[127.0.0.1]"));          // our own literal
    CHECK(!hit("user@outside.example"));
    CHECK(!hit("user@alias.example"));       // virtual alias domains are not local
}
