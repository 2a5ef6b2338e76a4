// access_match_test.cc - the order of check_*_access lookups.
#include "lib/table/access_match.h"

#include <catch2/catch.hpp>
#include <map>

using namespace mailroom;
using namespace mailroom::table;

using Keys = std::vector<std::string>;

TEST_CASE("address keys: full, domain and parents, then user@", "[unit]") {
    CHECK(access_address_keys("joe@mail.example.com", true) ==
          Keys{"joe@mail.example.com", "mail.example.com", "example.com", "com", "joe@"});
    CHECK(access_address_keys("joe@mail.example.com", false) ==
          Keys{"joe@mail.example.com", "mail.example.com", ".example.com", ".com", "joe@"});
    CHECK(access_address_keys("", true) == Keys{"<>"});
    CHECK(access_address_keys("localonly", true) == Keys{"localonly"});
    CHECK(access_address_keys("@example.com", true) == Keys{"@example.com", "example.com", "com"});
}

TEST_CASE("client keys: host name and parents, then the address and its prefixes", "[unit]") {
    CHECK(access_client_keys("mx.example.com", "192.0.2.7", true) ==
          Keys{"mx.example.com", "example.com", "com", "192.0.2.7", "192.0.2", "192.0", "192"});
    CHECK(access_client_keys("mx.example.com", "192.0.2.7", false) ==
          Keys{"mx.example.com", ".example.com", ".com", "192.0.2.7", "192.0.2", "192.0", "192"});
    CHECK(access_client_keys("", "2001:db8:1::7", true) ==
          Keys{"2001:db8:1::7", "2001:db8:1:", "2001:db8:1", "2001:db8", "2001"});
    CHECK(access_client_keys("", "[2001:db8::1]", true) ==
          Keys{"2001:db8::1", "2001:db8:", "2001:db8", "2001"});
}

TEST_CASE("match_keys: first hit wins and an error stops the search", "[unit]") {
    std::vector<std::string> asked;
    std::map<std::string, std::string> data = {{"example.com", "REJECT"}, {"joe@", "OK"}};
    LookupFn fn = [&](std::string_view k) -> LookupResult {
        asked.emplace_back(k);
        if (k == ".com") return make_temp_error("db down");
        auto it = data.find(std::string(k));
        if (it == data.end()) return std::optional<std::string>();
        return std::optional<std::string>(it->second);
    };
    AccessResult r = match_keys(access_address_keys("joe@mail.example.com", true), fn);
    REQUIRE(r.ok());
    REQUIRE(r->has_value());
    CHECK((*r)->key == "example.com");
    CHECK((*r)->value == "REJECT");
    CHECK(asked == Keys{"joe@mail.example.com", "mail.example.com", "example.com"});

    // Without parent matching the bare "example.com" is not tried; ".com"
    // fails temporarily, and "joe@" (which would match) is never asked.
    asked.clear();
    r = match_keys(access_address_keys("joe@mail.example.com", false), fn);
    REQUIRE(!r.ok());
    CHECK(r.error().temporary());
    CHECK(asked == Keys{"joe@mail.example.com", "mail.example.com", ".example.com", ".com"});
}

TEST_CASE("match_*_access over real tables", "[unit]") {
    auto t = open_table("inline:{joe@=OK, 192.0.2=REJECT, .example.org=DISCARD, <>=HOLD}");
    REQUIRE(t.ok());
    auto r = match_address_access(**t, "joe@elsewhere.net", true);
    REQUIRE(r.ok());
    REQUIRE(r->has_value());
    CHECK((*r)->value == "OK");
    r = match_address_access(**t, "", true);
    REQUIRE(r.ok());
    CHECK((*r)->value == "HOLD");
    r = match_domain_access(**t, "a.example.org", false);
    REQUIRE(r.ok());
    REQUIRE(r->has_value());
    CHECK((*r)->key == ".example.org");
    r = match_domain_access(**t, "a.example.org", true);
    REQUIRE(r.ok());
    CHECK(!r->has_value());
    r = match_client_access(**t, "unknown", "192.0.2.55", true);
    REQUIRE(r.ok());
    REQUIRE(r->has_value());
    CHECK((*r)->key == "192.0.2");
    auto f = open_table("fail:x");
    REQUIRE(f.ok());
    CHECK(!match_client_access(**f, "h", "1.2.3.4", true).ok());
}

TEST_CASE("parent_domain_matches_subdomains list", "[unit]") {
    const char* def =
        "debug_peer_list,fast_flush_domains,mynetworks,permit_mx_backup_networks,qmqpd_authorized_clients,"
        "relay_domains,smtpd_access_maps";
    CHECK(parent_domain_matches_subdomains(def, "smtpd_access_maps"));
    CHECK(parent_domain_matches_subdomains(def, "relay_domains"));
    CHECK(!parent_domain_matches_subdomains(def, "transport_maps"));
    CHECK(!parent_domain_matches_subdomains("", "smtpd_access_maps"));
}
