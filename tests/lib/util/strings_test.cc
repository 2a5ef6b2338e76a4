#include "lib/util/strings.h"

#include <catch2/catch.hpp>

using namespace mailroom::util;

TEST_CASE("trim drops white space at both ends", "[unit]") {
    CHECK(trim("  a b \t\r\n") == "a b");
    CHECK(trim("") == "");
    CHECK(trim(" \t ") == "");
    CHECK(trim_left("  x ") == "x ");
    CHECK(trim_right("  x ") == "  x");
}

TEST_CASE("split_list splits on commas and white space", "[unit]") {
    CHECK(split_list("a, b,c  d,,e") == std::vector<std::string>{"a", "b", "c", "d", "e"});
    CHECK(split_list("").empty());
    CHECK(split_list(" , ,").empty());
}

TEST_CASE("split_list keeps braced groups whole", "[unit]") {
    CHECK(split_list("inline:{ a=b, c=d }, static:x") ==
          std::vector<std::string>{"inline:{ a=b, c=d }", "static:x"});
    CHECK(split_list("unionmap:{inline:{a=1}, static:2} x") ==
          std::vector<std::string>{"unionmap:{inline:{a=1}, static:2}", "x"});
}

TEST_CASE("case helpers", "[unit]") {
    CHECK(lowercase("MiXeD") == "mixed");
    CHECK(iequals("Hash", "hASH"));
    CHECK_FALSE(iequals("hash", "has"));
    CHECK(starts_with_icase("MAIL FROM:<a>", "mail from:"));
    CHECK_FALSE(starts_with_icase("MAIL", "mail from:"));
}

TEST_CASE("format grows past its stack buffer", "[unit]") {
    std::string big(2000, 'x');
    CHECK(format("%s-%d", big.c_str(), 7) == big + "-7");
    CHECK(join({"a", "b", "c"}, ", ") == "a, b, c");
    CHECK(split("a:b::c", ":") == std::vector<std::string>{"a", "b", "c"});
}
