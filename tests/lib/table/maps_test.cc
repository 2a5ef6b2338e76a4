// maps_test.cc - a list of tables searched in order.
#include "lib/table/maps.h"

#include <catch2/catch.hpp>

using namespace mailroom;
using namespace mailroom::table;

TEST_CASE("Maps: first answer wins, errors stop the search", "[unit]") {
    auto m = Maps::open("inline:{a=1}, inline:{a=2, b=3}");
    REQUIRE(m.ok());
    CHECK(m->tables().size() == 2);
    CHECK(**m->lookup("a") == "1");
    CHECK(**m->lookup("b") == "3");
    CHECK(!m->lookup("c")->has_value());
    CHECK(!m->may_block());

    auto f = Maps::open("inline:{a=1} fail:x inline:{b=2}");
    REQUIRE(f.ok());
    CHECK(**f->lookup("a") == "1");
    auto r = f->lookup("b");
    REQUIRE(!r.ok());
    CHECK(r.error().temporary());

    CHECK(Maps::open("")->empty());
    CHECK(!Maps::open("nosuch:x").ok());
    CHECK(!Maps::open("/no/such/file").ok());  // hash:/no/such/file has no .db
}
