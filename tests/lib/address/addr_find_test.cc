// addr_find_test.cc - the key sequence of address tables (Postfix's mail_addr_find).
#include "lib/address/addr_find.h"

#include <catch2/catch.hpp>

#include "lib/table/regexp_table.h"

using namespace mailroom;
using namespace mailroom::address;

using Keys = std::vector<std::string>;

namespace {

Keys texts(const std::vector<Key>& keys) {
    Keys out;
    for (const auto& k : keys) out.push_back(k.text);
    return out;
}

FindOptions opts(const char* delim, bool local, unsigned strategy = kFindDefault) {
    FindOptions o;
    o.recipient_delimiter = delim;
    o.domain_is_local = local;
    o.strategy = strategy;
    return o;
}

}  // namespace

TEST_CASE("lookup_keys: table of cases", "[unit]") {
    struct Case {
        const char* name;
        const char* address;
        FindOptions options;
        Keys want;
    };
    const Case cases[] = {
        {"remote, no delimiter", "joe+x@example.com", opts("", false), {"joe+x@example.com", "@example.com"}},
        {"remote, delimiter",
         "joe+x@example.com",
         opts("+", false),
         {"joe+x@example.com", "joe@example.com", "@example.com"}},
        {"local, delimiter",
         "joe+x@example.com",
         opts("+", true),
         {"joe+x@example.com", "joe@example.com", "joe+x", "joe", "@example.com"}},
        {"local, no extension", "joe@example.com", opts("+", true), {"joe@example.com", "joe", "@example.com"}},
        {"several delimiters", "a-b+c@d", opts("+-", false), {"a-b+c@d", "a@d", "@d"}},
        {"leading delimiter is not an extension", "+x@d", opts("+", false), {"+x@d", "@d"}},
        {"owner- is not split at '-'", "owner-list@d", opts("-", true), {"owner-list@d", "owner-list", "@d"}},
        {"-request is not split at '-'", "list-request@d", opts("+-", false), {"list-request@d", "@d"}},
        {"bare local part", "joe+x", opts("+", false), {"joe+x", "joe"}},
        {"localpart@ when local",
         "joe+x@d",
         opts("+", true, kFindFull | kFindNoExt | kFindLocalpartAtIfLocal | kFindAtDomain),
         {"joe+x@d", "joe@d", "joe+x@", "joe@", "@d"}},
        {"localpart@ whatever the domain",
         "joe@remote.example",
         opts("+", false, kFindFull | kFindLocalpartAt),
         {"joe@remote.example", "joe@"}},
        {"virtual(8): no local-part keys",
         "joe+x@d",
         opts("+", true, kFindVirtualMailbox),
         {"joe+x@d", "joe@d", "@d"}},
        {"no extension keys without kFindNoExt",
         "joe+x@d",
         opts("+", true, kFindFull | kFindLocalpartIfLocal | kFindAtDomain),
         {"joe+x@d", "joe+x", "@d"}},
    };
    for (const Case& c : cases) {
        SECTION(c.name) { CHECK(texts(lookup_keys(c.address, c.options)) == c.want); }
    }
}

TEST_CASE("only the whole address is a full key", "[unit]") {
    auto keys = lookup_keys("joe+x@d", opts("+", true));
    REQUIRE(keys.size() == 5);
    CHECK(!keys[0].partial);
    for (std::size_t i = 1; i < keys.size(); ++i) CHECK(keys[i].partial);
    CHECK(keys[1].extension == "+x");
    CHECK(keys[2].extension.empty());
    CHECK(keys[3].extension == "+x");
}

TEST_CASE("find reports the extension and stops on errors", "[unit]") {
    auto t = table::open_table("inline:{joe@example.com=joe@mailbox, @other.org=catchall}");
    REQUIRE(t.ok());
    auto r = find("joe+news@example.com", opts("+", false), table_lookup(**t));
    REQUIRE(r.ok());
    REQUIRE(r->has_value());
    CHECK((*r)->value == "joe@mailbox");
    CHECK((*r)->extension == "+news");
    r = find("anyone@other.org", opts("+", false), table_lookup(**t));
    REQUIRE(r.ok());
    CHECK((*r)->key == "@other.org");
    CHECK((*r)->extension.empty());

    int calls = 0;
    auto down = plain_lookup([&](std::string_view) -> table::LookupResult {
        ++calls;
        return make_temp_error("down");
    });
    r = find("joe+x@example.com", opts("+", true), down);
    REQUIRE(!r.ok());
    CHECK(r.error().temporary());
    CHECK(calls == 1);
}

TEST_CASE("pattern tables see the whole address only", "[unit]") {
    std::vector<std::string> w;
    auto re = table::open_regexp_text("regexp", "/^joe/ hit\n/^@/ catchall\n", "f", &w);
    REQUIRE(re.ok());
    CHECK((*re)->is_pattern());
    auto r = find("joe+x@d", opts("+", true), table_lookup(**re));
    REQUIRE(r.ok());
    REQUIRE(r->has_value());
    CHECK((*r)->key == "joe+x@d");
    // "@d" is a partial key: the regexp that would match it is never asked.
    auto none = find("ann@d", opts("+", true), table_lookup(**re));
    REQUIRE(none.ok());
    CHECK(!none->has_value());

    auto in = table::open_table("inline:{joe=local-joe}");
    REQUIRE(in.ok());
    CHECK(!(*in)->is_pattern());
    auto maps = table::Maps::open("inline:{joe=local-joe}");
    REQUIRE(maps.ok());
    auto m = find("joe+x@d", opts("+", true), maps_lookup(*maps));
    REQUIRE(m.ok());
    REQUIRE(m->has_value());
    CHECK((*m)->key == "joe");
    CHECK((*m)->extension == "+x");
}
