// cleanup_addr_test.cc - canonical lookup order and classes, masquerading,
// virtual alias expansion (cleanup_addr.h), over in-memory tables.
#include <catch2/catch.hpp>
#include <map>
#include <string>
#include <vector>

#include "cleanup/cleanup_addr.h"

using namespace mailroom;
using namespace mailroom::cleanup;

namespace {

// A table that records the keys it was asked; "!temp" values fail temporarily.
struct FakeTable {
    std::map<std::string, std::string> entries;
    std::vector<std::string> asked;
    KeyLookup fn() {
        return [this](std::string_view key, bool) -> table::LookupResult {
            asked.emplace_back(key);
            auto it = entries.find(std::string(key));
            if (it == entries.end()) return std::optional<std::string>();
            if (it->second == "!temp") return make_temp_error("table down");
            return std::optional<std::string>(it->second);
        };
    }
};

std::shared_ptr<const table::Maps> maps_of(const char* spec) {
    auto m = table::Maps::open(spec);
    REQUIRE(m);
    return std::make_shared<const table::Maps>(std::move(m.value()));
}

// o.test and mx.o.test are local ($myorigin, $mydestination); with `delim`
// as recipient_delimiter.
std::shared_ptr<const address::Resolver> resolver(const char* delim = "") {
    auto lists = std::make_shared<address::DomainLists>();
    lists->mydestination = {"o.test", "mx.o.test"};
    lists->virtual_alias_domains = {"alias.example"};
    address::ResolveOptions o;
    o.myhostname = "mx.o.test";
    o.myorigin = "o.test";
    o.recipient_delimiter = delim;
    return std::make_shared<address::Resolver>(o, address::DomainLists::classifier(lists));
}

const std::shared_ptr<const address::Resolver> kLocalResolver = resolver();
const address::Resolver& kLocal = *kLocalResolver;

}  // namespace

TEST_CASE("canonical lookup tries user@domain, user (local domains only), then @domain", "[unit]") {
    struct Row {
        const char* address;
        std::vector<std::string> keys;
    };
    const Row rows[] = {
        {"joe@o.test", {"joe@o.test", "joe", "@o.test"}},
        {"joe@MX.o.test", {"joe@MX.o.test", "joe", "@MX.o.test"}},
        {"joe@remote.test", {"joe@remote.test", "@remote.test"}},
        {"joe", {"joe"}},
    };
    for (const auto& row : rows) {
        CAPTURE(row.address);
        FakeTable t;
        auto r = canonical_lookup(row.address, kLocal, t.fn());
        REQUIRE(r);
        CHECK_FALSE(r->has_value());
        CHECK(t.asked == row.keys);
    }
}

TEST_CASE("canonical lookup: first key found wins, @domain answers keep the user", "[unit]") {
    struct Row {
        std::map<std::string, std::string> entries;
        const char* address;
        const char* expected;  // nullptr = not found
    };
    const Row rows[] = {
        {{{"joe@o.test", "joe.full@o.test"}, {"joe", "wrong"}}, "joe@o.test", "joe.full@o.test"},
        {{{"joe", "joseph@o.test"}, {"@o.test", "wrong"}}, "joe@o.test", "joseph@o.test"},
        {{{"joe", "wrong"}, {"@remote.test", "@new.test"}}, "joe@remote.test", "joe@new.test"},
        {{{"@remote.test", "all@new.test"}}, "ann@remote.test", "all@new.test"},
        {{{"joe", "wrong"}}, "joe@remote.test", nullptr},
        {{{"", "x"}}, "", nullptr},  // the null sender is never looked up
    };
    for (const auto& row : rows) {
        CAPTURE(row.address);
        FakeTable t{row.entries, {}};
        auto r = canonical_lookup(row.address, kLocal, t.fn());
        REQUIRE(r);
        if (row.expected == nullptr) {
            CHECK_FALSE(r->has_value());
        } else {
            REQUIRE(r->has_value());
            CHECK(**r == row.expected);
        }
    }
}

TEST_CASE("canonical lookup passes a table error on", "[unit]") {
    FakeTable t{{{"joe", "!temp"}}, {}};
    auto r = canonical_lookup("joe@o.test", kLocal, t.fn());
    REQUIRE_FALSE(r);
    CHECK(r.error().temporary());
}

TEST_CASE("address classes parse and select which maps apply", "[unit]") {
    auto all = parse_address_classes("envelope_sender, envelope_recipient header_sender,header_recipient");
    REQUIRE(all);
    CHECK(*all == (kEnvelopeSender | kEnvelopeRecipient | kHeaderSender | kHeaderRecipient));
    CHECK_FALSE(parse_address_classes("envelope_sender, bogus"));

    auto canonical = maps_of("inline:{ joe@o.test=c-joe@o.test, s-joe@o.test=c2@o.test }");
    auto sender = maps_of("inline:{ joe@o.test=s-joe@o.test }");
    auto recipient = maps_of("inline:{ joe@o.test=r-joe@o.test }");
    RewriteConfig cfg;
    cfg.canonical = canonical;
    cfg.sender_canonical = sender;
    cfg.recipient_canonical = recipient;
    cfg.masquerade_classes = 0;
    cfg.resolver = resolver();

    struct Row {
        unsigned canonical_classes;
        unsigned sender_classes;
        unsigned recipient_classes;
        AddressClass cls;
        const char* expected;
    };
    const unsigned kAll = kEnvelopeSender | kEnvelopeRecipient | kHeaderSender | kHeaderRecipient;
    const Row rows[] = {
        // sender_canonical first, then canonical_maps on its result
        {kAll, kEnvelopeSender | kHeaderSender, 0, kEnvelopeSender, "c2@o.test"},
        {kAll, kEnvelopeSender, 0, kHeaderSender, "c-joe@o.test"},
        {kAll, 0, kEnvelopeRecipient, kEnvelopeRecipient, "r-joe@o.test"},
        {kAll, 0, 0, kHeaderRecipient, "c-joe@o.test"},
        {kEnvelopeSender, 0, 0, kEnvelopeRecipient, "joe@o.test"},
        {0, 0, kHeaderRecipient, kHeaderRecipient, "r-joe@o.test"},
    };
    for (const auto& row : rows) {
        CAPTURE(row.cls, row.canonical_classes, row.sender_classes, row.recipient_classes);
        cfg.canonical_classes = row.canonical_classes;
        cfg.sender_canonical_classes = row.sender_classes;
        cfg.recipient_canonical_classes = row.recipient_classes;
        auto r = rewrite_address("joe@o.test", row.cls, cfg);
        REQUIRE(r);
        CHECK(*r == row.expected);
    }
}

TEST_CASE("header addresses are rewritten by the header classes", "[unit]") {
    RewriteConfig cfg;
    cfg.canonical = maps_of("inline:{ @old.test=@new.test }");
    cfg.masquerade.domains = {"o.test"};
    cfg.canonical_classes = kHeaderSender;
    auto from = rewrite_header_addresses("From: Joe <joe@old.test>, ann@host.o.test", cfg);
    REQUIRE(from);
    CHECK(*from == "From: Joe <joe@new.test>, ann@o.test");
    auto to = rewrite_header_addresses("To: joe@old.test,\n\tann@host.o.test", cfg);
    REQUIRE(to);
    CHECK(*to == "To: joe@old.test,\n\tann@o.test");  // canonical: senders only; masquerade: header_recipient too
    auto subject = rewrite_header_addresses("Subject: joe@old.test", cfg);
    REQUIRE(subject);
    CHECK(*subject == "Subject: joe@old.test");
}

TEST_CASE("masquerading strips subdomains, with ! exceptions and user exceptions", "[unit]") {
    Masquerade m;
    m.domains = {"!sub.example.com", "example.com", "o.test"};
    m.exceptions = {"root"};
    struct Row {
        const char* in;
        const char* out;
    };
    const Row rows[] = {
        {"joe@host.example.com", "joe@example.com"},
        {"joe@a.b.example.com", "joe@example.com"},
        {"joe@example.com", "joe@example.com"},
        {"joe@sub.example.com", "joe@sub.example.com"},
        {"joe@host.sub.example.com", "joe@host.sub.example.com"},
        {"joe@notexample.com", "joe@notexample.com"},
        {"root@host.example.com", "root@host.example.com"},
        {"joe@mx.O.TEST", "joe@o.test"},
        {"joe", "joe"},
    };
    for (const auto& row : rows) {
        CAPTURE(row.in);
        CHECK(masquerade_address(row.in, m) == row.out);
    }
}

TEST_CASE("virtual alias expansion: recursion, duplicates, loops, catch-all", "[unit]") {
    struct Row {
        const char* name;
        std::map<std::string, std::string> entries;
        const char* address;
        std::vector<std::string> expected;
    };
    const Row rows[] = {
        {"not an alias", {}, "joe@o.test", {"joe@o.test"}},
        {"one level", {{"tomcat@o.test", "hadoop@o.test"}}, "tomcat@o.test", {"hadoop@o.test"}},
        {"list split on commas and white space",
         {{"team@o.test", "a@o.test, b@o.test\tc@o.test ,d@x.test"}},
         "team@o.test",
         {"a@o.test", "b@o.test", "c@o.test", "d@x.test"}},
        {"recursive", {{"a@o.test", "b@o.test"}, {"b@o.test", "c@x.test"}}, "a@o.test", {"c@x.test"}},
        {"duplicates dropped",
         {{"team@o.test", "a@o.test, b@o.test, a@o.test"}, {"b@o.test", "a@o.test"}},
         "team@o.test",
         {"a@o.test"}},
        {"self reference kept", {{"joe@o.test", "joe@o.test, copy@x.test"}}, "joe@o.test", {"joe@o.test", "copy@x.test"}},
        {"loop a->b->a keeps a recipient", {{"a@o.test", "b@o.test"}, {"b@o.test", "a@o.test"}}, "a@o.test", {"a@o.test"}},
        {"user key for a local domain", {{"joe", "joseph@x.test"}}, "joe@o.test", {"joseph@x.test"}},
        {"user key not for a remote domain", {{"joe", "joseph@x.test"}}, "joe@remote.test", {"joe@remote.test"}},
        {"@domain catch-all", {{"@v.test", "catch@x.test"}}, "anyone@v.test", {"catch@x.test"}},
        {"@domain to @domain keeps the user", {{"@v.test", "@w.test"}}, "ann@v.test", {"ann@w.test"}},
        {"unqualified result gets myorigin", {{"a@v.test", "bob"}}, "a@v.test", {"bob@o.test"}},
    };
    for (const auto& row : rows) {
        CAPTURE(row.name);
        FakeTable t{row.entries, {}};
        auto r = expand_virtual_alias(row.address, kLocal, t.fn(), AliasLimits{}, "o.test");
        REQUIRE(r);
        CHECK(*r == row.expected);
    }
}

TEST_CASE("virtual alias expansion: limits and table errors are temporary failures", "[unit]") {
    // A chain a0 -> a1 -> ... -> a9.
    FakeTable chain;
    for (int i = 0; i < 9; ++i) chain.entries["a" + std::to_string(i) + "@o.test"] = "a" + std::to_string(i + 1) + "@o.test";
    auto ok = expand_virtual_alias("a0@o.test", kLocal, chain.fn(), AliasLimits{9, 1000}, "o.test");
    REQUIRE(ok);
    CHECK(*ok == std::vector<std::string>{"a9@o.test"});
    auto deep = expand_virtual_alias("a0@o.test", kLocal, chain.fn(), AliasLimits{8, 1000}, "o.test");
    REQUIRE_FALSE(deep);
    CHECK(deep.error().temporary());
    CHECK(deep.error().message.find("nesting") != std::string::npos);

    FakeTable wide{{{"all@o.test", "a@x.test b@x.test c@x.test"}}, {}};
    CHECK(expand_virtual_alias("all@o.test", kLocal, wide.fn(), AliasLimits{1000, 3}, "o.test"));
    auto big = expand_virtual_alias("all@o.test", kLocal, wide.fn(), AliasLimits{1000, 2}, "o.test");
    REQUIRE_FALSE(big);
    CHECK(big.error().temporary());
    CHECK(big.error().message.find("expansion size") != std::string::npos);

    FakeTable broken{{{"a@o.test", "b@o.test"}, {"b@o.test", "!temp"}}, {}};
    auto err = expand_virtual_alias("a@o.test", kLocal, broken.fn(), AliasLimits{}, "o.test");
    REQUIRE_FALSE(err);
    CHECK(err.error().temporary());
}

TEST_CASE("an address extension is cut off to match and put back (propagate_unmatched_extensions)", "[unit]") {
    auto local = resolver("+");
    // virtual_alias_maps: user@alias.example, the case of the bug where
    // user+tag@alias.example was accepted by smtpd and never expanded.
    FakeTable virt{{{"user@alias.example", "target@mx.o.test"}, {"list@alias.example", "a@x.test, b"}}, {}};
    auto r = expand_virtual_alias("user+tag@alias.example", *local, virt.fn(), AliasLimits{}, "o.test");
    REQUIRE(r);
    CHECK(*r == std::vector<std::string>{"target+tag@mx.o.test"});
    REQUIRE(virt.asked.size() >= 2);
    CHECK(std::vector<std::string>(virt.asked.begin(), virt.asked.begin() + 2) ==
          std::vector<std::string>{"user+tag@alias.example", "user@alias.example"});
    auto list = expand_virtual_alias("list+x@alias.example", *local, virt.fn(), AliasLimits{}, "o.test");
    REQUIRE(list);
    CHECK(*list == std::vector<std::string>{"a+x@x.test", "b+x@o.test"});
    auto kept = expand_virtual_alias("user+tag@alias.example", *local, virt.fn(), AliasLimits{}, "o.test", false);
    REQUIRE(kept);
    CHECK(*kept == std::vector<std::string>{"target@mx.o.test"});
    // An exact match keeps nothing to put back.
    FakeTable exact{{{"user+tag@alias.example", "other@x.test"}}, {}};
    auto e = expand_virtual_alias("user+tag@alias.example", *local, exact.fn(), AliasLimits{}, "o.test");
    REQUIRE(e);
    CHECK(*e == std::vector<std::string>{"other@x.test"});

    // canonical_maps: the local part alone in a local domain, extension kept.
    FakeTable canon{{{"joe", "joseph@o.test"}}, {}};
    auto c = canonical_lookup("joe+news@mx.o.test", *local, canon.fn());
    REQUIRE(c);
    REQUIRE(c->has_value());
    CHECK(**c == "joseph+news@o.test");
    CHECK(canon.asked == std::vector<std::string>{"joe+news@mx.o.test", "joe@mx.o.test", "joe+news", "joe"});
    auto off = canonical_lookup("joe+news@mx.o.test", *local, canon.fn(), false);
    REQUIRE(off);
    CHECK(**off == "joseph@o.test");
}
