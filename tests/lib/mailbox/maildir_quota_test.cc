// maildir_quota_test.cc - Maildir++ quota strings, maildirsize parsing,
// appending, recalculation and over-quota decisions.
#include "lib/mailbox/maildir_quota.h"

#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "lib/mailbox/maildir_folder.h"
#include "tests/lib/mailbox/mailbox_test_util.h"

using namespace mailroom::mailbox;
using mailbox_test::list;
using mailbox_test::slurp;
using mailbox_test::spew;
using mailbox_test::TempDir;

namespace {

void deliver(const std::string& maildir, const std::string& msg) {
    DeliveryOptions o;
    o.host = "h";
    auto w = MaildirWriter::open(maildir, o);
    REQUIRE(w.ok());
    REQUIRE(w->append(msg).ok());
    REQUIRE(w->commit().ok());
}

void age_file(const std::string& path, long seconds) {
    struct timeval tv[2];
    tv[0].tv_sec = tv[1].tv_sec = ::time(nullptr) - seconds;
    tv[0].tv_usec = tv[1].tv_usec = 0;
    REQUIRE(::utimes(path.c_str(), tv) == 0);
}

}  // namespace

TEST_CASE("quota strings in Extmail and Maildir++ forms", "[unit]") {
    struct Case {
        const char* spec;
        bool ok;
        uint64_t bytes;
        uint64_t count;
    };
    const Case cases[] = {
        {"104857600S", true, 104857600, 0},
        {"20971520", true, 20971520, 0},
        {"100S,10C", true, 100, 10},
        {"10C,100S", true, 100, 10},
        {"10C", true, 0, 10},
        {" 5S , 3C ", true, 5, 3},
        {"", true, 0, 0},
        {"0S", true, 0, 0},
        {"5s,3c", true, 5, 3},
        {"abc", false, 0, 0},
        {"10X", false, 0, 0},
        {"S", false, 0, 0},
        {"10S,20S", false, 0, 0},
        {"10S,20", false, 0, 0},
        {"-5S", false, 0, 0},
        {"10S,,3C", false, 0, 0},
        {"99999999999999999999999S", false, 0, 0},
    };
    for (const Case& c : cases) {
        INFO(c.spec);
        auto r = parse_quota_spec(c.spec);
        REQUIRE(r.ok() == c.ok);
        if (!c.ok) {
            CHECK_FALSE(r.error().temporary());
            continue;
        }
        CHECK(r->bytes == c.bytes);
        CHECK(r->count == c.count);
    }
    CHECK(format_quota_spec({100, 10}) == "100S,10C");
    CHECK(format_quota_spec({100, 0}) == "100S");
    CHECK(format_quota_spec({0, 10}) == "10C");
    CHECK(format_quota_spec({0, 0}) == "");
}

TEST_CASE("maildirsize content parsing", "[unit]") {
    struct Case {
        const char* content;
        bool ok;
        QuotaLimits limits;
        QuotaUsage usage;
    };
    const Case cases[] = {
        {"100S,10C\n50 2\n-10 -1\n", true, {100, 10}, {40, 1}},
        {"100S\n       12345      3\n", true, {100, 0}, {12345, 3}},
        {"\n10 1\n", true, {0, 0}, {10, 1}},
        {"1000C\n", true, {0, 1000}, {0, 0}},
        {"100S\n5 1\n\n6 1\n", true, {100, 0}, {11, 2}},
        {"100S\n5 1", false, {}, {}},  // torn last line
        {"", false, {}, {}},
        {"100S\nabc 1\n", false, {}, {}},
        {"100S\n5\n", false, {}, {}},
        {"100S\n5 1 2\n", false, {}, {}},
        {"100X\n5 1\n", false, {}, {}},
    };
    for (const Case& c : cases) {
        INFO(c.content);
        auto r = parse_maildirsize(c.content);
        REQUIRE(r.ok() == c.ok);
        if (!c.ok) continue;
        CHECK(r->limits == c.limits);
        CHECK(r->usage == c.usage);
    }
    CHECK(format_maildirsize({100, 10}, {40, 1}) == "100S,10C\n40 1\n");
    CHECK(format_quota_delta(-10, -1) == "-10 -1\n");
}

TEST_CASE("maildirsize recalculation rule", "[unit]") {
    struct Case {
        bool exists;
        uint64_t size;
        long age;
        bool over;
        bool recalc;
    };
    const Case cases[] = {
        {false, 0, 0, false, true},        // missing
        {true, 100, 0, false, false},      // small and fresh
        {true, 5120, 0, false, false},     // at the limit
        {true, 5121, 0, false, true},      // larger than 5120 bytes
        {true, 100, 3600, false, false},   // old but under quota
        {true, 100, 901, true, true},      // old and over quota
        {true, 100, 60, true, false},      // over quota but fresh
    };
    for (const Case& c : cases) {
        CHECK(maildirsize_needs_recalc(c.exists, c.size, c.age, c.over) == c.recalc);
    }
}

TEST_CASE("over quota decisions", "[unit]") {
    struct Case {
        QuotaLimits limits;
        QuotaUsage usage;
        uint64_t msg;
        bool exceed;
    };
    const Case cases[] = {
        {{1000, 0}, {0, 0}, 1000, false},    // exactly fills the quota
        {{1000, 0}, {0, 0}, 1001, true},
        {{1000, 0}, {900, 5}, 100, false},
        {{1000, 0}, {900, 5}, 101, true},
        {{0, 0}, {999999, 99999}, 1 << 30, false},  // unlimited
        {{0, 3}, {10, 2}, 1, false},
        {{0, 3}, {10, 3}, 1, true},
        {{1000, 3}, {10, 3}, 1, true},      // count limit hit first
        {{1000, 0}, {-50, -1}, 1000, false},  // negative drift counts as zero
        {{1000, 0}, {0, 0}, UINT64_MAX, true},
    };
    for (const Case& c : cases) {
        CHECK(quota_would_exceed(c.limits, c.usage, c.msg) == c.exceed);
    }
    CHECK(quota_exceeded({100, 0}, {101, 1}));
    CHECK_FALSE(quota_exceeded({100, 0}, {100, 1}));
}

TEST_CASE("maildirsize append adds one line and skips a missing file", "[unit]") {
    TempDir t;
    std::string md = t.sub("Maildir");
    REQUIRE(ensure_maildir(md).ok());
    REQUIRE(append_quota_delta(md, 100, 1).ok());
    CHECK_FALSE(mailroom::util::path_exists(md + "/maildirsize"));
    spew(md + "/maildirsize", "1000S\n0 0\n");
    REQUIRE(append_quota_delta(md, 100, 1).ok());
    REQUIRE(append_quota_delta(md, -40, -1).ok());
    CHECK(slurp(md + "/maildirsize") == "1000S\n0 0\n100 1\n-40 -1\n");
    auto c = parse_maildirsize(slurp(md + "/maildirsize"));
    REQUIRE(c.ok());
    CHECK(c->usage == QuotaUsage{60, 0});
}

TEST_CASE("maildirsize appends from concurrent processes never interleave", "[unit]") {
    TempDir t;
    std::string md = t.sub("Maildir");
    REQUIRE(ensure_maildir(md).ok());
    spew(md + "/maildirsize", "100000000S\n0 0\n");
    std::vector<pid_t> kids;
    for (int k = 0; k < 4; ++k) {
        pid_t pid = ::fork();
        REQUIRE(pid >= 0);
        if (pid == 0) {
            for (int i = 0; i < 200; ++i) {
                if (!append_quota_delta(md, 1000 + k, 1).ok()) ::_exit(1);
            }
            ::_exit(0);
        }
        kids.push_back(pid);
    }
    for (pid_t pid : kids) {
        int status = 0;
        REQUIRE(::waitpid(pid, &status, 0) == pid);
        CHECK((WIFEXITED(status) && WEXITSTATUS(status) == 0));
    }
    auto c = parse_maildirsize(slurp(md + "/maildirsize"));
    REQUIRE(c.ok());
    CHECK(c->delta_lines == 801);
    CHECK(c->usage == QuotaUsage{200 * (1000 + 1001 + 1002 + 1003), 800});
}

TEST_CASE("maildirsize recalculation counts every folder", "[unit]") {
    TempDir t;
    std::string md = t.sub("Maildir");
    REQUIRE(ensure_maildir(md).ok());
    deliver(md, std::string(100, 'a'));
    deliver(md, std::string(200, 'b'));
    REQUIRE(create_folder(md, "Sent").ok());
    deliver(md + "/.Sent", std::string(300, 'c'));
    REQUIRE(create_folder(md, "Trash").ok());
    deliver(md + "/.Trash", std::string(400, 'd'));
    spew(md + "/cur/nosize:2,S", std::string(50, 'e'));  // size from stat()
    spew(md + "/tmp/ignored", std::string(999, 'f'));    // tmp/ is not counted
    spew(md + "/new/.hidden", std::string(999, 'g'));    // dot files are not messages

    auto all = calculate_maildir_usage(md);
    REQUIRE(all.ok());
    CHECK(all.value() == QuotaUsage{1050, 5});
    QuotaOptions no_trash;
    no_trash.exclude_trash = true;
    CHECK(calculate_maildir_usage(md, no_trash).value() == QuotaUsage{650, 4});

    auto usage = recalculate_maildirsize(md, {2000, 100});
    REQUIRE(usage.ok());
    CHECK(slurp(md + "/maildirsize") == "2000S,100C\n1050 5\n");
    CHECK(list(md + "/tmp") == std::vector<std::string>{"ignored"});  // temp file renamed away
}

TEST_CASE("reading the quota rebuilds maildirsize when needed", "[unit]") {
    TempDir t;
    std::string md = t.sub("Maildir");
    REQUIRE(ensure_maildir(md).ok());
    deliver(md, std::string(100, 'a'));
    QuotaLimits limits{1000, 0};

    SECTION("missing file is rebuilt") {
        auto s = read_maildir_quota(md, limits);
        REQUIRE(s.ok());
        CHECK(s->recalculated);
        CHECK(s->usage == QuotaUsage{100, 1});
        CHECK(slurp(md + "/maildirsize") == "1000S\n100 1\n");
    }
    SECTION("deltas are summed without a rebuild") {
        spew(md + "/maildirsize", "1000S\n100 1\n");
        REQUIRE(append_quota_delta(md, 250, 1).ok());
        auto s = read_maildir_quota(md, limits);
        REQUIRE(s.ok());
        CHECK_FALSE(s->recalculated);
        CHECK(s->usage == QuotaUsage{350, 2});
        CHECK(quota_would_exceed(s->limits, s->usage, 651));
        CHECK_FALSE(quota_would_exceed(s->limits, s->usage, 650));
    }
    SECTION("limits come from the header when none are configured") {
        spew(md + "/maildirsize", "500S,7C\n100 1\n");
        auto s = read_maildir_quota(md, std::nullopt);
        REQUIRE(s.ok());
        CHECK(s->limits == QuotaLimits{500, 7});
        CHECK_FALSE(s->recalculated);
    }
    SECTION("a file over 5120 bytes is rebuilt") {
        std::string content = "1000S\n";
        while (content.size() <= 5120) content += "1 0\n";
        spew(md + "/maildirsize", content);
        auto s = read_maildir_quota(md, limits);
        REQUIRE(s.ok());
        CHECK(s->recalculated);
        CHECK(s->usage == QuotaUsage{100, 1});
        CHECK(slurp(md + "/maildirsize") == "1000S\n100 1\n");
    }
    SECTION("an old file showing over quota is rebuilt but a fresh one is trusted") {
        spew(md + "/maildirsize", "1000S\n5000 3\n");
        auto fresh = read_maildir_quota(md, limits);
        REQUIRE(fresh.ok());
        CHECK_FALSE(fresh->recalculated);
        CHECK(quota_exceeded(fresh->limits, fresh->usage));
        age_file(md + "/maildirsize", 16 * 60);
        auto old = read_maildir_quota(md, limits);
        REQUIRE(old.ok());
        CHECK(old->recalculated);
        CHECK(old->usage == QuotaUsage{100, 1});
    }
    SECTION("changed limits rewrite the header") {
        spew(md + "/maildirsize", "500S\n100 1\n");
        auto s = read_maildir_quota(md, limits);
        REQUIRE(s.ok());
        CHECK(s->recalculated);
        CHECK(slurp(md + "/maildirsize") == "1000S\n100 1\n");
    }
    SECTION("a torn file is rebuilt") {
        spew(md + "/maildirsize", "1000S\n100 1\n5");
        auto s = read_maildir_quota(md, limits);
        REQUIRE(s.ok());
        CHECK(s->recalculated);
    }
    SECTION("no limits means no maildirsize is created") {
        auto s = read_maildir_quota(md, QuotaLimits{});
        REQUIRE(s.ok());
        CHECK(s->limits.unlimited());
        CHECK_FALSE(s->recalculated);
        CHECK_FALSE(mailroom::util::path_exists(md + "/maildirsize"));
    }
}
