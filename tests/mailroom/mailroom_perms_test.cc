// mailroom_perms_test.cc - instance directory checks against a temp dir.
#include "mailroom/mailroom_perms.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>

using namespace mailroom::ctl;

namespace {

struct Temp {
    std::string dir;
    Temp() {
        char tmpl[] = "/tmp/mr-perms-XXXXXX";
        REQUIRE(::mkdtemp(tmpl) != nullptr);
        dir = tmpl;
    }
    ~Temp() { std::filesystem::remove_all(dir); }
};

LayoutInput input_for(const std::string& dir) {
    LayoutInput in;
    in.queue_directory = dir + "/queue";
    in.data_directory = dir + "/data";
    Identity me{::geteuid(), ::getegid(), "tester"};
    in.root = me;
    in.owner = me;
    in.check_groups = false;
    return in;
}

bool has(const std::vector<Problem>& ps, Problem::Kind kind, const std::string& path) {
    return std::any_of(ps.begin(), ps.end(), [&](const Problem& p) { return p.kind == kind && p.path == path; });
}

}  // namespace

TEST_CASE("the layout names every queue directory with Postfix's modes", "[unit]") {
    LayoutInput in = input_for("/x");
    in.owner = {100, 101, "mailroom"};
    in.root = {0, 0, "root"};
    in.setgid_group = {0, 200, "mrdrop"};
    in.check_groups = true;
    auto layout = expected_layout(in);
    REQUIRE(layout.size() == 15);
    auto find = [&](const std::string& p) {
        auto it = std::find_if(layout.begin(), layout.end(), [&](const DirSpec& d) { return d.path == p; });
        REQUIRE(it != layout.end());
        return *it;
    };
    CHECK(find("/x/queue").owner.uid == 0);
    CHECK(find("/x/queue/pid").owner.uid == 0);
    CHECK(find("/x/queue/incoming").owner.uid == 100);
    CHECK(find("/x/queue/incoming").mode == 0700);
    CHECK(find("/x/queue/public").mode == 0710);
    CHECK(find("/x/queue/public").check_group);
    CHECK(find("/x/queue/public").group.gid == 200);
    CHECK(find("/x/queue/maildrop").mode == 0730);
    CHECK(find("/x/queue/recycle").owner.uid == 100);
    CHECK(find("/x/queue/recycle").mode == 0700);
    CHECK(find("/x/data").owner.uid == 100);
    for (const char* d : {"maildrop", "incoming", "active", "deferred", "hold", "corrupt", "bounce", "defer",
                          "trace", "private", "public", "pid", "recycle"})
        find(std::string("/x/queue/") + d);
}

TEST_CASE("check reports every missing directory by name, repair creates them", "[unit]") {
    Temp t;
    auto layout = expected_layout(input_for(t.dir));
    auto problems = check_layout(layout);
    CHECK(problems.size() == layout.size());
    CHECK(has(problems, Problem::Kind::kMissing, t.dir + "/queue/public"));
    CHECK(has(problems, Problem::Kind::kMissing, t.dir + "/data"));
    for (const auto& p : problems) CHECK(p.message == "missing directory: " + p.path);

    REQUIRE(repair_layout(layout, false).ok());
    CHECK(check_layout(layout).empty());
}

TEST_CASE("wrong modes and owners are reported and repaired", "[unit]") {
    Temp t;
    auto in = input_for(t.dir);
    auto layout = expected_layout(in);
    REQUIRE(repair_layout(layout, false).ok());
    REQUIRE(::chmod((t.dir + "/queue/private").c_str(), 0755) == 0);
    auto problems = check_layout(layout);
    REQUIRE(problems.size() == 1);
    CHECK(problems[0].kind == Problem::Kind::kMode);
    CHECK(problems[0].message == "wrong mode 0755 (expected 0700): " + t.dir + "/queue/private");

    // start only creates what is missing; set-permissions fixes the rest.
    REQUIRE(repair_layout(layout, false).ok());
    CHECK(check_layout(layout).size() == 1);
    REQUIRE(repair_layout(layout, true).ok());
    CHECK(check_layout(layout).empty());

    // An owner other than the expected one is named in the warning.
    auto other = in;
    other.owner = {::geteuid() + 1, ::getegid(), "mailroom"};
    auto wrong = check_layout(expected_layout(other));
    CHECK(has(wrong, Problem::Kind::kOwner, t.dir + "/queue/public"));
    bool named = false;
    for (const auto& p : wrong)
        if (p.message == "not owned by mailroom: " + t.dir + "/queue/public") named = true;
    CHECK(named);
    CHECK_FALSE(has(wrong, Problem::Kind::kOwner, t.dir + "/queue/pid"));  // pid/ belongs to root

    // A file where a directory belongs.
    std::filesystem::remove_all(t.dir + "/queue/hold");
    { FILE* f = std::fopen((t.dir + "/queue/hold").c_str(), "w"); std::fclose(f); }
    CHECK(has(check_layout(layout), Problem::Kind::kNotDirectory, t.dir + "/queue/hold"));
    CHECK_FALSE(repair_layout(layout, true).ok());
}
