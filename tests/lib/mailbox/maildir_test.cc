// maildir_test.cc - Maildir delivery and the reading helpers.
#include "lib/mailbox/maildir.h"

#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <regex>
#include <set>

#include "lib/mailbox/mailbox_internal.h"
#include "lib/mailbox/sys_error.h"
#include "tests/lib/mailbox/mailbox_test_util.h"

using namespace mailroom::mailbox;
using mailbox_test::list;
using mailbox_test::slurp;
using mailbox_test::TempDir;

namespace {

DeliveryOptions test_options() {
    DeliveryOptions o;
    o.host = "testhost";
    return o;
}

std::string deliver(const std::string& maildir, const std::string& content, const DeliveryOptions& o) {
    auto w = MaildirWriter::open(maildir, o);
    REQUIRE(w.ok());
    // Feed in uneven chunks to exercise buffering.
    size_t pos = 0;
    size_t step = 1;
    while (pos < content.size()) {
        size_t n = std::min(step, content.size() - pos);
        REQUIRE(w->append(std::string_view(content).substr(pos, n)).ok());
        pos += n;
        step = step * 3 + 1;
    }
    auto path = w->commit();
    REQUIRE(path.ok());
    return path.value();
}

std::string basename_of(const std::string& path) { return path.substr(path.rfind('/') + 1); }

}  // namespace

TEST_CASE("maildir delivery makes exactly one file in new", "[unit]") {
    TempDir t;
    std::string md = t.sub("Maildir");
    std::string msg = "From: a@example.com\nSubject: hi\n\nbody\n";
    std::string path = deliver(md, msg, test_options());
    CHECK(list(md) == std::vector<std::string>{"cur", "new", "tmp"});
    auto names = list(md + "/new");
    REQUIRE(names.size() == 1);
    CHECK(path == md + "/new/" + names[0]);
    CHECK(list(md + "/tmp").empty());
    CHECK(list(md + "/cur").empty());
    std::regex shape(R"(^[0-9]+\.M[0-9]{6}P[0-9]+Q[0-9]+\.testhost,S=([0-9]+)$)");
    std::smatch m;
    REQUIRE(std::regex_match(names[0], m, shape));
    CHECK(m[1] == std::to_string(msg.size()));
    CHECK(slurp(path) == msg);
    struct stat st;
    REQUIRE(::stat(path.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
}

TEST_CASE("maildir delivery streams large messages", "[unit]") {
    TempDir t;
    std::string md = t.sub("Maildir");
    std::string msg;
    for (int i = 0; i < 20000; ++i) msg += "line " + std::to_string(i) + " of a long message\n";
    REQUIRE(msg.size() > 3 * 64 * 1024);
    std::string path = deliver(md, msg, test_options());
    CHECK(slurp(path) == msg);
    CHECK(maildir_name_size(basename_of(path)) == msg.size());
}

TEST_CASE("maildir names are unique under rapid repeated deliveries", "[unit]") {
    TempDir t;
    std::string md = t.sub("Maildir");
    std::set<std::string> seen;
    for (int i = 0; i < 300; ++i) seen.insert(basename_of(deliver(md, "x\n", test_options())));
    CHECK(seen.size() == 300);
    CHECK(list(md + "/new").size() == 300);
    // The in-process counter alone separates deliveries made in one
    // microsecond: every Q value is different.
    std::set<std::string> counters;
    std::regex q(R"(P[0-9]+(Q[0-9]+)\.)");
    for (const std::string& n : seen) {
        std::smatch m;
        REQUIRE(std::regex_search(n, m, q));
        counters.insert(m[1]);
    }
    CHECK(counters.size() == 300);
    uint64_t a = next_delivery_counter();
    CHECK(next_delivery_counter() == a + 1);
}

namespace {

void write_file(const std::string& path, const std::string& text) {
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    REQUIRE(fd >= 0);
    REQUIRE(::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()));
    ::close(fd);
}

ino_t inode_of(const std::string& path) {
    struct stat st;
    REQUIRE(::stat(path.c_str(), &st) == 0);
    return st.st_ino;
}

}  // namespace

TEST_CASE("maildir's move into new/ never replaces an existing name", "[unit]") {
    using internal::MoveMethod;
    TempDir t;
    std::string from = t.sub("from"), taken = t.sub("taken"), free_name = t.sub("free");
    write_file(from, "new message");
    write_file(taken, "old message");
    // Whether this file system takes RENAME_NOREPLACE (else the fallback is
    // what runs, and is checked the same way).
    std::string probe = t.sub("probe");
    write_file(probe, "");
    bool supported = ::renameat2(AT_FDCWD, probe.c_str(), AT_FDCWD, t.sub("probed").c_str(), RENAME_NOREPLACE) == 0;
    if (!supported) WARN("no RENAME_NOREPLACE on " << t.path() << ": the link() fallback is tested");
    ino_t from_inode = inode_of(from);

    MoveMethod method = MoveMethod::kRename;
    CHECK(internal::move_no_replace(from, taken, &method) == EEXIST);
    if (supported) CHECK(method == MoveMethod::kRenameNoReplace);
    CHECK(slurp(taken) == "old message");
    CHECK(slurp(from) == "new message");

    REQUIRE(internal::move_no_replace(from, free_name, &method) == 0);
    CHECK(method == (supported ? MoveMethod::kRenameNoReplace : MoveMethod::kLink));
    CHECK(inode_of(free_name) == from_inode);
    CHECK(slurp(free_name) == "new message");
    struct stat st;
    CHECK(::stat(from.c_str(), &st) < 0);
    CHECK(::stat(free_name.c_str(), &st) == 0);
    CHECK(st.st_nlink == 1);
    CHECK(internal::move_no_replace(t.sub("gone"), t.sub("elsewhere"), &method) == ENOENT);
}

TEST_CASE("maildir commit takes another name when its name in new/ is taken", "[unit]") {
    TempDir t;
    std::string md = t.sub("Maildir");
    auto w = MaildirWriter::open(md, test_options());
    REQUIRE(w.ok());
    REQUIRE(w->append("fresh\n").ok());
    // The name commit() would give the message, held by another file.
    std::string planned = add_maildir_sizes(basename_of(w->tmp_path()), 6, std::nullopt);
    write_file(md + "/new/" + planned, "someone else's\n");
    auto path = w->commit();
    REQUIRE(path.ok());
    CHECK(basename_of(*path) != planned);
    CHECK(slurp(md + "/new/" + planned) == "someone else's\n");
    CHECK(slurp(*path) == "fresh\n");
    CHECK(list(md + "/new").size() == 2);
    CHECK(list(md + "/tmp").empty());
}

TEST_CASE("maildir vsize and host escaping in the final name", "[unit]") {
    TempDir t;
    std::string md = t.sub("Maildir");
    DeliveryOptions o = test_options();
    o.include_vsize = true;
    o.host = "mx/1:2";
    std::string name = basename_of(deliver(md, "a\nb\r\nc\n", o));
    CHECK(name.find(".mx\\0571\\0722,S=7,W=9") != std::string::npos);
    CHECK(name.find('/') == std::string::npos);
    CHECK(name.find(':') == std::string::npos);
}

TEST_CASE("maildir abort leaves nothing behind", "[unit]") {
    TempDir t;
    std::string md = t.sub("Maildir");
    {
        auto w = MaildirWriter::open(md, test_options());
        REQUIRE(w.ok());
        REQUIRE(w->append("partial").ok());
        CHECK(list(md + "/tmp").size() == 1);
        w->abort();
        CHECK(list(md + "/tmp").empty());
        CHECK_FALSE(w->append("more").ok());
        CHECK_FALSE(w->commit().ok());
    }
    CHECK(list(md + "/new").empty());
    CHECK(list(md + "/tmp").empty());
}

TEST_CASE("maildir write failure is reported and leaves nothing", "[unit]") {
    struct Case {
        int err;
        bool temporary;
        size_t message_size;  // small: fails at commit's flush; large: in append
    };
    const Case cases[] = {
        {ENOSPC, true, 10},
        {EDQUOT, true, 10},
        {ENOSPC, true, 300000},
        {EFBIG, false, 300000},
    };
    for (const Case& c : cases) {
        TempDir t;
        std::string md = t.sub("Maildir");
        auto w = MaildirWriter::open(md, test_options());
        REQUIRE(w.ok());
        int err = c.err;
        set_write_fault_for_testing([err](std::string_view) { return err; });
        mailroom::Status appended = w->append(std::string(c.message_size, 'x'));
        auto committed = w->commit();
        set_write_fault_for_testing(nullptr);
        INFO(c.err << " " << c.message_size);
        REQUIRE_FALSE(committed.ok());
        const mailroom::Error& e = appended.ok() ? committed.error() : appended.error();
        CHECK(e.temporary() == c.temporary);
        CHECK(e.message.find(md + "/tmp/") != std::string::npos);
        CHECK(appended.ok() == (c.message_size < 65536));
        CHECK(list(md + "/tmp").empty());
        CHECK(list(md + "/new").empty());
    }
}

TEST_CASE("maildir writer destroyed without commit leaves nothing", "[unit]") {
    TempDir t;
    std::string md = t.sub("Maildir");
    {
        auto w = MaildirWriter::open(md, test_options());
        REQUIRE(w.ok());
        REQUIRE(w->append(std::string(200000, 'x')).ok());
        MaildirWriter moved = std::move(w.value());  // ownership moves; one tmp file
        CHECK(list(md + "/tmp").size() == 1);
    }
    CHECK(list(md + "/new").empty());
    CHECK(list(md + "/tmp").empty());
}

TEST_CASE("maildir delivery killed mid-write leaves nothing in new", "[unit]") {
    TempDir t;
    std::string md = t.sub("Maildir");
    REQUIRE(ensure_maildir(md).ok());
    int ready[2];
    REQUIRE(::pipe(ready) == 0);
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        ::close(ready[0]);
        auto w = MaildirWriter::open(md, test_options());
        if (!w.ok()) ::_exit(2);
        // More than the writer's buffer, so bytes have reached the file.
        if (!w->append(std::string(200000, 'x')).ok()) ::_exit(3);
        (void)!::write(ready[1], "r", 1);
        for (;;) ::pause();
    }
    ::close(ready[1]);
    char c;
    REQUIRE(::read(ready[0], &c, 1) == 1);
    ::close(ready[0]);
    ::kill(pid, SIGKILL);
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    CHECK(list(md + "/new").empty());
    auto tmp = list(md + "/tmp");
    REQUIRE(tmp.size() == 1);
    struct stat st;
    REQUIRE(::stat((md + "/tmp/" + tmp[0]).c_str(), &st) == 0);
    CHECK(st.st_size > 0);  // the crash really happened mid-write
}

TEST_CASE("maildir delivery killed by SIGKILL never leaves a partial file in new", "[unit]") {
    TempDir t;
    std::string md = t.sub("Maildir");
    REQUIRE(ensure_maildir(md).ok());
    std::string msg;
    for (int i = 0; i < 4000; ++i) msg += "0123456789 line " + std::to_string(i) + "\n";
    int ready[2];
    REQUIRE(::pipe(ready) == 0);
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        ::close(ready[0]);
        bool told = false;
        for (;;) {  // deliver until killed, in small chunks so a kill lands mid-write
            auto w = MaildirWriter::open(md, test_options());
            if (!w.ok()) ::_exit(2);
            for (size_t pos = 0; pos < msg.size(); pos += 1000) {
                if (!w->append(std::string_view(msg).substr(pos, 1000)).ok()) ::_exit(3);
                if (!told && pos > 10000) {
                    (void)!::write(ready[1], "r", 1);
                    told = true;
                }
            }
            if (!w->commit().ok()) ::_exit(4);
        }
    }
    ::close(ready[1]);
    char c;
    REQUIRE(::read(ready[0], &c, 1) == 1);
    ::usleep(30000);
    ::kill(pid, SIGKILL);
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    ::close(ready[0]);
    REQUIRE(WIFSIGNALED(status));
    // Every file in new/ is a complete message; at most one partial in tmp/.
    for (const std::string& n : list(md + "/new")) {
        INFO(n);
        CHECK(slurp(md + "/new/" + n) == msg);
        CHECK(maildir_name_size(n) == msg.size());
    }
    CHECK(list(md + "/tmp").size() <= 1);
}

TEST_CASE("maildir creation calls the owner hook and honours the mode", "[unit]") {
    TempDir t;
    std::string md = t.sub("a/b/Maildir");
    std::vector<std::string> created;
    DeliveryOptions o = test_options();
    o.create.dir_mode = 0750;
    o.create.file_mode = 0640;
    o.create.on_create = [&created](const std::string& p) {
        created.push_back(p);
        return mailroom::ok_status();
    };
    ::umask(022);
    std::string path = deliver(md, "x\n", o);
    // a, a/b, Maildir, cur, new, tmp, then the tmp file.
    REQUIRE(created.size() == 7);
    CHECK(created[0] == t.sub("a"));
    CHECK(created[2] == md);
    CHECK(created[5] == md + "/tmp");
    CHECK(created[6].rfind(md + "/tmp/", 0) == 0);
    struct stat st;
    REQUIRE(::stat(md.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0750);
    REQUIRE(::stat(path.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0640);

    // A failing hook aborts the delivery and leaves nothing.
    o.create.on_create = [](const std::string& p) { return mailroom::Status(mailroom::make_error("no " + p)); };
    std::string md2 = t.sub("Maildir2");
    REQUIRE(ensure_maildir(md2).ok());
    auto w = MaildirWriter::open(md2, o);
    REQUIRE_FALSE(w.ok());
    CHECK(list(md2 + "/tmp").empty());
}

TEST_CASE("maildir errors name the path and are permanent for ENOTDIR", "[unit]") {
    TempDir t;
    mailbox_test::spew(t.sub("file"), "x");
    auto w = MaildirWriter::open(t.sub("file/Maildir"), test_options());
    REQUIRE_FALSE(w.ok());
    CHECK_FALSE(w.error().temporary());
    CHECK(w.error().message.find(t.sub("file")) != std::string::npos);
    // A non-directory where cur/ should be.
    std::string md = t.sub("Maildir");
    REQUIRE(::mkdir(md.c_str(), 0700) == 0);
    mailbox_test::spew(md + "/cur", "x");
    mailroom::Status s = ensure_maildir(md);
    REQUIRE_FALSE(s.ok());
    CHECK(s.error().message.find(md + "/cur") != std::string::npos);
    CHECK_FALSE(s.error().temporary());
}

namespace {

// What MaildirWriter::open() says about `md` to a user the permissions
// apply to. Root ignores permissions, so as root the open runs in a child
// that owns `top` as nobody (65534) and has dropped to that user.
struct OpenOutcome {
    bool ok = false;
    bool temporary = false;
    std::string message;
};

OpenOutcome open_unprivileged(const std::string& top, const std::string& md) {
    auto attempt = [&md] {
        auto w = MaildirWriter::open(md, test_options());
        if (w.ok()) return OpenOutcome{true, false, ""};
        return OpenOutcome{false, w.error().temporary(), w.error().message};
    };
    if (::geteuid() != 0) return attempt();
    int p[2];
    REQUIRE(::pipe(p) == 0);
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        ::close(p[0]);
        bool owned = ::chown(top.c_str(), 65534, 65534) == 0;
        for (const char* sub : {"/Maildir", "/Maildir/tmp", "/Maildir/new", "/Maildir/cur"})
            owned = owned && ::chown((top + sub).c_str(), 65534, 65534) == 0;
        if (owned && ::setgroups(0, nullptr) == 0 && ::setgid(65534) == 0 && ::setuid(65534) == 0) {
            OpenOutcome o = attempt();
            std::string out = std::string(o.ok ? "1" : "0") + (o.temporary ? "1" : "0") + o.message;
            (void)!::write(p[1], out.data(), out.size());
        }
        ::_exit(0);
    }
    ::close(p[1]);
    std::string got;
    char buf[512];
    ssize_t n;
    while ((n = ::read(p[0], buf, sizeof(buf))) > 0) got.append(buf, static_cast<std::size_t>(n));
    ::close(p[0]);
    ::waitpid(pid, nullptr, 0);
    REQUIRE(got.size() >= 2);  // the child could not become nobody otherwise
    return OpenOutcome{got[0] == '1', got[1] == '1', got.substr(2)};
}

}  // namespace

TEST_CASE("maildir EACCES is a permanent error", "[unit]") {
    TempDir t;
    std::string md = t.sub("Maildir");
    REQUIRE(ensure_maildir(md).ok());
    REQUIRE(::chmod((md + "/tmp").c_str(), 0500) == 0);
    OpenOutcome o = open_unprivileged(t.path(), md);
    ::chmod((md + "/tmp").c_str(), 0700);
    REQUIRE_FALSE(o.ok);
    CHECK_FALSE(o.temporary);
    CHECK(o.message.find(md + "/tmp/") != std::string::npos);
}

TEST_CASE("maildir scan then move to cur then set flags", "[unit]") {
    TempDir t;
    std::string md = t.sub("Maildir");
    std::string a = basename_of(deliver(md, "aaa\n", test_options()));
    std::string b = basename_of(deliver(md, "bbbbbb\n", test_options()));
    auto entries = scan_maildir(md);
    REQUIRE(entries.ok());
    REQUIRE(entries->size() == 2);
    CHECK((*entries)[0].subdir == "new");
    CHECK((*entries)[0].filename == std::min(a, b));

    auto cur = move_to_cur(md, a);
    REQUIRE(cur.ok());
    CHECK(cur.value() == a + ":2,");
    auto flagged = set_maildir_flags(md, cur.value(), "SR");
    REQUIRE(flagged.ok());
    CHECK(flagged.value() == a + ":2,RS");
    CHECK(list(md + "/cur") == std::vector<std::string>{a + ":2,RS"});
    auto same = set_maildir_flags(md, flagged.value(), "RS");
    REQUIRE(same.ok());
    CHECK(same.value() == flagged.value());

    entries = scan_maildir(md);
    REQUIRE(entries.ok());
    REQUIRE(entries->size() == 2);
    const MaildirEntry& in_cur = (*entries)[1];
    CHECK(in_cur.subdir == "cur");
    CHECK(in_cur.name.flags == "RS");
    CHECK(in_cur.name.base == a);
    CHECK(maildir_message_size(md, in_cur).value() == 4);

    // Without ",S=" the size comes from stat().
    mailbox_test::spew(md + "/cur/plain:2,S", "12345");
    MaildirEntry plain{"cur", "plain:2,S", parse_maildir_name("plain:2,S")};
    CHECK(maildir_message_size(md, plain).value() == 5);

    // A message renamed away by someone else.
    auto gone = set_maildir_flags(md, "nonexistent:2,", "S");
    REQUIRE_FALSE(gone.ok());
    CHECK(gone.error().message.find(md + "/cur/nonexistent:2,") != std::string::npos);
}

TEST_CASE("maildir tmp cleanup removes only old files", "[unit]") {
    TempDir t;
    std::string md = t.sub("Maildir");
    REQUIRE(ensure_maildir(md).ok());
    mailbox_test::spew(md + "/tmp/old", "x");
    mailbox_test::spew(md + "/tmp/new", "x");
    struct timeval tv[2];
    tv[0].tv_sec = tv[1].tv_sec = ::time(nullptr) - 37 * 3600;
    tv[0].tv_usec = tv[1].tv_usec = 0;
    REQUIRE(::utimes((md + "/tmp/old").c_str(), tv) == 0);
    auto removed = clean_maildir_tmp(md);
    REQUIRE(removed.ok());
    CHECK(removed.value() == 1);
    CHECK(list(md + "/tmp") == std::vector<std::string>{"new"});
}
