// mbox_lock_test.cc - lock method parsing, dotlock staleness, and exclusion
// of a second writer by a lock held in another process.
#include "lib/mailbox/mbox_lock.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "lib/mailbox/mbox.h"
#include "tests/lib/mailbox/mailbox_test_util.h"

using namespace mailroom::mailbox;
using mailbox_test::list;
using mailbox_test::slurp;
using mailbox_test::spew;
using mailbox_test::TempDir;

namespace {

LockOptions fast_lock(bool fcntl, bool flock, bool dotlock) {
    LockOptions o;
    o.methods = LockMethods{fcntl, flock, dotlock};
    o.tries = 3;
    o.delay_ms = 10;
    return o;
}

// A child process that holds a lock on `path` until told to exit.
class LockHolder {
public:
    LockHolder(const std::string& path, const LockOptions& options) {
        int ready[2];
        REQUIRE(::pipe(ready) == 0);
        REQUIRE(::pipe(release_) == 0);
        pid_ = ::fork();
        REQUIRE(pid_ >= 0);
        if (pid_ == 0) {
            ::close(ready[0]);
            ::close(release_[1]);
            int fd = ::open(path.c_str(), O_RDWR | O_CREAT, 0600);
            if (fd < 0 || !lock_fd(fd, path, options).ok()) ::_exit(1);
            (void)!::write(ready[1], "l", 1);
            char c;
            (void)!::read(release_[0], &c, 1);  // returns when the parent closes its end
            ::_exit(0);
        }
        ::close(ready[1]);
        ::close(release_[0]);
        char c;
        REQUIRE(::read(ready[0], &c, 1) == 1);
        ::close(ready[0]);
    }
    ~LockHolder() { release(); }
    void release() {
        if (pid_ > 0) {
            ::close(release_[1]);
            int status;
            ::waitpid(pid_, &status, 0);
            pid_ = -1;
        }
    }

private:
    pid_t pid_ = -1;
    int release_[2] = {-1, -1};
};

void age_file(const std::string& path, long seconds) {
    struct timeval tv[2];
    tv[0].tv_sec = tv[1].tv_sec = ::time(nullptr) - seconds;
    tv[0].tv_usec = tv[1].tv_usec = 0;
    REQUIRE(::utimes(path.c_str(), tv) == 0);
}

}  // namespace

TEST_CASE("mailbox_delivery_lock values parse", "[unit]") {
    struct Case {
        const char* value;
        bool ok;
        bool fcntl, flock, dotlock;
    };
    const Case cases[] = {
        {"fcntl, dotlock", true, true, false, true},
        {"flock", true, false, true, false},
        {"FCNTL flock,dotlock", true, true, true, true},
        {"", true, false, false, false},
        {"fcntl, lockf", false, false, false, false},
    };
    for (const Case& c : cases) {
        INFO(c.value);
        auto m = parse_lock_methods(c.value);
        REQUIRE(m.ok() == c.ok);
        if (!c.ok) {
            CHECK(m.error().message.find("lockf") != std::string::npos);
            continue;
        }
        CHECK(m->fcntl == c.fcntl);
        CHECK(m->flock == c.flock);
        CHECK(m->dotlock == c.dotlock);
    }
}

TEST_CASE("dotlock is exclusive and removed on release", "[unit]") {
    TempDir t;
    std::string mbox = t.sub("user");
    LockOptions o = fast_lock(false, false, true);
    auto a = DotLock::acquire(mbox, o);
    REQUIRE(a.ok());
    CHECK(a->path() == mbox + ".lock");
    CHECK(list(t.path()) == std::vector<std::string>{"user.lock"});
    auto b = DotLock::acquire(mbox, o);
    REQUIRE_FALSE(b.ok());
    CHECK(b.error().temporary());
    CHECK(b.error().message.find(mbox) != std::string::npos);
    a->release();
    CHECK(list(t.path()).empty());
    auto c = DotLock::acquire(mbox, o);
    REQUIRE(c.ok());
    DotLock moved = std::move(c.value());
    CHECK(moved.held());
    CHECK_FALSE(c->held());
}

TEST_CASE("dotlock removes a stale lock but not a fresh one", "[unit]") {
    TempDir t;
    std::string mbox = t.sub("user");
    LockOptions o = fast_lock(false, false, true);
    o.stale_seconds = 500;
    o.tries = 1;
    spew(mbox + ".lock", "");
    age_file(mbox + ".lock", 100);
    CHECK_FALSE(DotLock::acquire(mbox, o).ok());  // 100s old: someone is working
    CHECK(list(t.path()) == std::vector<std::string>{"user.lock"});
    age_file(mbox + ".lock", 600);
    auto lock = DotLock::acquire(mbox, o);
    REQUIRE(lock.ok());
    struct stat st;
    REQUIRE(::stat(lock->path().c_str(), &st) == 0);
    CHECK(::time(nullptr) - st.st_mtime < 100);  // our own, fresh lock
}

TEST_CASE("fcntl lock held by another process excludes a second writer", "[unit]") {
    TempDir t;
    std::string mbox = t.sub("user");
    MboxOptions o;
    o.lock = fast_lock(true, false, false);
    {
        LockHolder holder(mbox, o.lock);
        auto w = MboxWriter::open(mbox, "a@b", 0, o);
        REQUIRE_FALSE(w.ok());
        CHECK(w.error().temporary());
        CHECK(w.error().message.find("fcntl") != std::string::npos);
        CHECK(slurp(mbox).empty());
        holder.release();
        auto w2 = MboxWriter::open(mbox, "a@b", 0, o);
        REQUIRE(w2.ok());
        REQUIRE(w2->commit().ok());
    }
    CHECK(index_mbox(mbox).value().size() == 1);
}

TEST_CASE("flock lock held by another process excludes a second writer", "[unit]") {
    TempDir t;
    std::string mbox = t.sub("user");
    MboxOptions o;
    o.lock = fast_lock(false, true, false);
    LockHolder holder(mbox, o.lock);
    auto w = MboxWriter::open(mbox, "a@b", 0, o);
    REQUIRE_FALSE(w.ok());
    CHECK(w.error().temporary());
    holder.release();
    CHECK(MboxWriter::open(mbox, "a@b", 0, o).ok());
}

TEST_CASE("mbox writer waits out a dotlock and fails when it stays", "[unit]") {
    TempDir t;
    std::string mbox = t.sub("user");
    MboxOptions o;
    o.lock = fast_lock(true, false, true);
    spew(mbox + ".lock", "");
    auto w = MboxWriter::open(mbox, "a@b", 0, o);
    REQUIRE_FALSE(w.ok());
    CHECK(w.error().temporary());
    CHECK_FALSE(mailroom::util::path_exists(mbox));  // nothing created while locked out
    ::unlink((mbox + ".lock").c_str());
    auto w2 = MboxWriter::open(mbox, "a@b", 0, o);
    REQUIRE(w2.ok());
    CHECK(mailroom::util::path_exists(mbox + ".lock"));
    REQUIRE(w2->commit().ok());
    CHECK_FALSE(mailroom::util::path_exists(mbox + ".lock"));
}
