// agent_identity_test.cc - user lookups and run_as() (files owned by the identity, root's ids back afterwards,
// only the calling thread switched).
#include "lib/agent/agent_identity.h"

#include <grp.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <thread>

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
        // A root identity is refused, and the step does not run.
        bool ran = false;
        CHECK(!run_as(Identity{0, 0, "root", "/", ""}, [&] {
                   ran = true;
                   return ok_status();
               }).ok());
        CHECK(!ran);
    }
    std::filesystem::remove_all(dir);
}

TEST_CASE("run_as switches the effective ids in the process and always switches back", "[unit]") {
    if (!privileged()) {
        // Unprivileged: the step runs as it is.
        uid_t before = ::geteuid();
        CHECK(run_as(Identity{4242, 4242, "", "", ""}, [&] {
                  return ::geteuid() == before ? ok_status() : Status(make_error("euid changed"));
              }).ok());
        return;
    }
    int before_groups = ::getgroups(0, nullptr);
    gid_t before_egid = ::getegid();
    auto expect_root_again = [&] {
        CHECK(::geteuid() == 0);
        CHECK(::getuid() == 0);
        CHECK(::getegid() == before_egid);
        CHECK(::getgroups(0, nullptr) == before_groups);
    };
    Identity first{4201, 4301, "", "", ""};
    Identity second{4202, 4302, "", "", ""};
    pid_t self = ::getpid();
    for (const Identity& who : {first, second}) {
        uid_t seen_uid = 0;
        gid_t seen_gid = 0;
        gid_t seen_groups[4] = {};
        int seen_ngroups = -1;
        pid_t seen_pid = 0;
        auto st = run_as(who, [&] {
            seen_uid = ::geteuid();
            seen_gid = ::getegid();
            seen_ngroups = ::getgroups(4, seen_groups);
            seen_pid = ::getpid();
            return ok_status();
        });
        REQUIRE(st.ok());
        CHECK(seen_uid == who.uid);
        CHECK(seen_gid == who.gid);
        REQUIRE(seen_ngroups == 1);
        CHECK(seen_groups[0] == who.gid);
        CHECK(seen_pid == self);  // no child process
        expect_root_again();
    }
    // The parent-death signal, cleared by the kernel at every switch, is
    // set again.
    int before_sig = 0;
    ::prctl(PR_GET_PDEATHSIG, &before_sig);
    ::prctl(PR_SET_PDEATHSIG, SIGUSR2);
    REQUIRE(run_as(first, [] { return ok_status(); }).ok());
    int after_sig = 0;
    ::prctl(PR_GET_PDEATHSIG, &after_sig);
    CHECK(after_sig == SIGUSR2);
    ::prctl(PR_SET_PDEATHSIG, before_sig);
    // An error from the step, and an exception through it, switch back too.
    CHECK(!run_as(first, [] { return Status(make_temp_error("later")); }).ok());
    expect_root_again();
    CHECK_THROWS(run_as(first, []() -> Status { throw std::runtime_error("thrown"); }));
    expect_root_again();
    {
        ScopedIdentity as(second);
        REQUIRE(as.status().ok());
        CHECK(::geteuid() == second.uid);
        // Root's capabilities are gone while the identity is in force.
        CHECK(::setgroups(0, nullptr) < 0);
    }
    expect_root_again();
}

TEST_CASE("run_as switches only the calling thread", "[unit]") {
    if (!privileged()) {
        WARN("skipped: needs root to switch identities");
        return;
    }
    // A second thread (as the server's accept thread) reports its ids when
    // asked, while the first is inside run_as().
    std::mutex m;
    std::condition_variable cv;
    bool asked = false, answered = false, quit = false;
    uid_t other_euid = 4242, other_uid = 4242;
    gid_t other_egid = 4242;
    std::thread other([&] {
        std::unique_lock<std::mutex> lock(m);
        for (;;) {
            cv.wait(lock, [&] { return asked || quit; });
            if (quit) return;
            other_euid = ::geteuid();
            other_uid = ::getuid();
            other_egid = ::getegid();
            asked = false;
            answered = true;
            cv.notify_all();
        }
    });
    auto ask_other = [&] {
        std::unique_lock<std::mutex> lock(m);
        answered = false;
        asked = true;
        cv.notify_all();
        cv.wait(lock, [&] { return answered; });
    };
    gid_t root_egid = ::getegid();
    Identity who{4203, 4303, "", "", ""};
    uid_t seen_euid = 0;
    auto st = run_as(who, [&] {
        seen_euid = ::geteuid();
        ask_other();
        return ok_status();
    });
    {
        std::lock_guard<std::mutex> lock(m);
        quit = true;
    }
    cv.notify_all();
    other.join();
    REQUIRE(st.ok());
    CHECK(seen_euid == who.uid);
    CHECK(other_euid == 0);
    CHECK(other_uid == 0);
    CHECK(other_egid == root_egid);
    CHECK(::geteuid() == 0);
}

TEST_CASE("a failed switch fails the step and leaves root's ids", "[unit]") {
    if (!privileged()) {
        WARN("skipped: needs root to switch identities");
        return;
    }
    gid_t root_egid = ::getegid();
    int root_groups = ::getgroups(0, nullptr);
    // No such thing as uid -1 (it means "unchanged" to setresuid).
    bool ran = false;
    auto st = run_as(Identity{static_cast<uid_t>(-1), 4304, "", "", ""}, [&] {
        ran = true;
        return ok_status();
    });
    CHECK(!st.ok());
    CHECK(!ran);
    CHECK(::geteuid() == 0);
    CHECK(::getegid() == root_egid);
    CHECK(::getgroups(0, nullptr) == root_groups);
}
