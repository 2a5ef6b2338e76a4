#include "lib/table/domain_list.h"

#include <catch2/catch.hpp>
#include <stdlib.h>
#include <unistd.h>

#include <cstdio>

using namespace mailroom;

TEST_CASE("domain lists match names, subdomains, exclusions and tables", "[unit]") {
    table::DomainTables tables;
    auto lookup = tables.lookup_function();
    std::vector<std::string> list = {"!bad.example.com", "example.com", "inline:{ mapped.test=yes }"};
    CHECK(table::in_domain_list(list, "example.com", false, lookup).value());
    CHECK_FALSE(table::in_domain_list(list, "sub.example.com", false, lookup).value());
    CHECK(table::in_domain_list(list, "sub.example.com", true, lookup).value());
    CHECK_FALSE(table::in_domain_list(list, "bad.example.com", true, lookup).value());
    CHECK(table::in_domain_list(list, "mapped.test", false, lookup).value());
    CHECK_FALSE(table::in_domain_list(list, "other.test", false, lookup).value());
}

TEST_CASE("DomainTables opens each table once and reports bad specs", "[unit]") {
    table::DomainTables tables;
    auto first = tables.open("inline:{ a.test=1 }");
    REQUIRE(first.ok());
    auto again = tables.open("inline:{ a.test=1 }");
    REQUIRE(again.ok());
    CHECK(*first == *again);
    CHECK(tables.lookup("inline:{ a.test=1 }", "a.test").value() == std::optional<std::string>("1"));
    CHECK_FALSE(tables.lookup("nosuchtype:/x", "a.test").ok());
    CHECK_FALSE(table::in_domain_list({"nosuchtype:/x"}, "a.test", false, tables.lookup_function()).ok());
}

TEST_CASE("/file/name list elements are replaced by the file's names", "[unit]") {
    char dir[] = "/tmp/domain-list-XXXXXX";
    REQUIRE(mkdtemp(dir));
    std::string file = std::string(dir) + "/domains";
    FILE* f = fopen(file.c_str(), "w");
    REQUIRE(f);
    fputs("# local domains\na.example, b.example\n  c.example\nd.example\n", f);
    fclose(f);
    std::vector<std::string> warnings;
    auto list = table::expand_list_files({"first.example", file, "!x.example", std::string(dir) + "/missing"},
                                         &warnings);
    CHECK(list == std::vector<std::string>{"first.example", "a.example", "b.example", "c.example", "d.example",
                                           "!x.example"});
    REQUIRE(warnings.size() == 1);
    CHECK(warnings[0].find("/missing") != std::string::npos);
    CHECK(table::in_domain_list(list, "c.example", false, nullptr).value());
    ::unlink(file.c_str());
    ::rmdir(dir);
}
