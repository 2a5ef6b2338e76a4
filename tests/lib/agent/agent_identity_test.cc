// agent_identity_test.cc - user lookups and run_as() (files owned by the identity, no way back to root).
#include "lib/agent/agent_identity.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

using namespace mailroom;
using namespace mailroom::agent;

TEST_CASE("users resolve by name and number", "[unit]") {
    auto root = resolve_user("root");
    REQUIRE(root.ok());
    CHECK(root->uid == 0);
    auto numeric = resolve_user("4242");
    REQUIRE(numeric.ok());
    CHECK(numeric->uid == 4242);
    CHECK(!resolve_user("no-such-user-mailroom").ok());
    auto none = lookup_user("no-such-user-mailroom");
    REQUIRE(none.ok());
    CHECK(!*none);
    auto g = resolve_group("0");
    REQUIRE(g.ok());
    CHECK(*g == 0);
}

TEST_CASE("run_as reports the step's status", "[unit]") {
    char tmpl[] = "/tmp/mr-agent-id-XXXXXX";
    REQUIRE(::mkdtemp(tmpl));
    std::string dir = tmpl;
    ::chmod(dir.c_str(), 0777);
    Identity who{::getuid(), ::getgid(), "", "", ""};
    if (privileged()) {
        auto nobody = resolve_user("nobody");
        REQUIRE(nobody.ok());
        who = *nobody;
    }
    std::string file = dir + "/made";
    auto st = run_as(who, [&]() -> Status {
        std::ofstream(file) << "x";
        return ok_status();
    });
    REQUIRE(st.ok());
    struct stat sb;
    REQUIRE(::stat(file.c_str(), &sb) == 0);
    CHECK(sb.st_uid == who.uid);
    auto temp = run_as(who, [] { return Status(make_temp_error("later")); });
    REQUIRE(!temp.ok());
    CHECK(temp.error().temporary());
    CHECK(temp.error().message == "later");
    auto perm = run_as(who, [] { return Status(make_error("never")); });
    REQUIRE(!perm.ok());
    CHECK(!perm.error().temporary());
    // errno and code come back unchanged, also from the child when root,
    // and a message that starts with digits or blanks is kept as is.
    auto full = run_as(who, [] { return Status(make_sys_error(" 12 34 disk full", EDQUOT)); });
    REQUIRE(!full.ok());
    CHECK(full.error().sys_errno == EDQUOT);
    CHECK(full.error().message == " 12 34 disk full");
    auto quota = run_as(who, [] { return Status(make_coded_error(ErrorCode::kOverQuota, "over", ErrorKind::kTemporary)); });
    REQUIRE(!quota.ok());
    CHECK(quota.error().is(ErrorCode::kOverQuota));
    CHECK(quota.error().temporary());
    CHECK(quota.error().message == "over");
    if (privileged()) {
        // The step cannot get root back.
        auto back = run_as(who, [] { return ::setuid(0) == 0 ? Status(make_error("regained root")) : ok_status(); });
        CHECK(back.ok());
        // A root identity is refused.
        CHECK(!run_as(Identity{0, 0, "root", "/", ""}, [] { return ok_status(); }).ok());
    }
    std::filesystem::remove_all(dir);
}
