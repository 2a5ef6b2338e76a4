// addr_find_test.cc - the lookup order of address maps.
#include "lib/table/addr_find.h"

#include "lib/table/regexp_table.h"

#include <catch2/catch.hpp>

using namespace mailroom;
using namespace mailroom::table;

using Keys = std::vector<std::string>;

TEST_CASE("address_lookup_keys: table of cases", "[unit]") {
    struct Case {
        const char* name;
        const char* address;
        AddressLookupOptions options;
        Keys want;
    };
    const Case cases[] = {
        {"remote, no delimiter", "joe+x@example.com", {"", false, false}, {"joe+x@example.com", "@example.com"}},
        {"remote, delimiter",
         "joe+x@example.com",
         {"+", false, false},
         {"joe+x@example.com", "joe@example.com", "@example.com"}},
        {"local, delimiter",
         "joe+x@example.com",
         {"+", true, false},
         {"joe+x@example.com", "joe@example.com", "joe+x", "joe", "@example.com"}},
        {"local, no extension", "joe@example.com", {"+", true, false}, {"joe@example.com", "joe", "@example.com"}},
        {"several delimiters", "a-b+c@d", {"+-", false, false}, {"a-b+c@d", "a@d", "@d"}},
        {"leading delimiter is not an extension", "+x@d", {"+", false, false}, {"+x@d", "@d"}},
        {"pattern table", "joe+x@example.com", {"+", true, true}, {"joe+x@example.com"}},
        {"bare local part", "joe+x", {"+", false, false}, {"joe+x", "joe"}},
    };
    for (const Case& c : cases) {
        SECTION(c.name) { CHECK(address_lookup_keys(c.address, c.options) == c.want); }
    }
}

TEST_CASE("find_address reports the extension and stops on errors", "[unit]") {
    auto t = open_table("inline:{joe@example.com=joe@mailbox, @other.org=catchall}");
    REQUIRE(t.ok());
    LookupFn fn = [&](std::string_view k) { return (*t)->lookup(k); };
    std::string ext;
    AccessResult r = find_address("joe+news@example.com", {"+", false, false}, fn, &ext);
    REQUIRE(r.ok());
    REQUIRE(r->has_value());
    CHECK((*r)->value == "joe@mailbox");
    CHECK(ext == "news");
    r = find_address("anyone@other.org", {"+", false, false}, fn, &ext);
    REQUIRE(r.ok());
    CHECK((*r)->key == "@other.org");
    CHECK(ext.empty());

    LookupFn down = [](std::string_view) -> LookupResult { return make_temp_error("down"); };
    r = find_address("joe@example.com", {}, down);
    REQUIRE(!r.ok());
    CHECK(r.error().temporary());
}

TEST_CASE("pattern tables say so", "[unit]") {
    auto in = open_table("inline:{a=b}");
    REQUIRE(in.ok());
    CHECK(!(*in)->is_pattern());
    std::vector<std::string> w;
    auto re = open_regexp_text("pcre", "/a/ b\n", "f", &w);
    REQUIRE(re.ok());
    CHECK((*re)->is_pattern());
}
