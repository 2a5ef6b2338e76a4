#include "lib/util/result.h"

#include <cerrno>
#include <catch2/catch.hpp>

using namespace mailroom;

namespace {
Result<int> half(int n) {
    if (n % 2) return make_error("odd");
    return n / 2;
}
}  // namespace

TEST_CASE("Result carries a value or an error", "[unit]") {
    auto a = half(4);
    REQUIRE(a.ok());
    CHECK(*a == 2);
    auto b = half(3);
    REQUIRE_FALSE(b.ok());
    CHECK(b.error().message == "odd");
    CHECK_FALSE(b.error().temporary());
    Status t = make_temp_error("db down");
    REQUIRE_FALSE(t.ok());
    CHECK(t.error().temporary());
    CHECK(ok_status().ok());
}

TEST_CASE("Error::prefixed keeps kind, errno and code", "[unit]") {
    Error e = make_sys_error("write x: No space left on device", ENOSPC, ErrorKind::kTemporary);
    e.code = ErrorCode::kOverQuota;
    Error p = e.prefixed("delivery: ");
    CHECK(p.message == "delivery: write x: No space left on device");
    CHECK(p.sys_errno == ENOSPC);
    CHECK(p.temporary());
    CHECK(p.is(ErrorCode::kOverQuota));
}
