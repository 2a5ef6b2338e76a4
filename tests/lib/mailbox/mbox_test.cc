// mbox_test.cc - From lines, mboxrd quoting, delivery, truncation, reading.
#include "lib/mailbox/mbox.h"

#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <cstdlib>

#include "lib/mailbox/sys_error.h"
#include "tests/lib/mailbox/mailbox_test_util.h"

using namespace mailroom::mailbox;
using mailbox_test::list;
using mailbox_test::slurp;
using mailbox_test::spew;
using mailbox_test::TempDir;

namespace {

MboxOptions fast_options() {
    MboxOptions o;
    o.lock.tries = 3;
    o.lock.delay_ms = 10;
    return o;
}

// 2026-11-24 05:06:07 UTC, a Tuesday.
constexpr time_t kWhen = 1795496767;

void use_utc() {
    ::setenv("TZ", "UTC", 1);
    ::tzset();
}

mailroom::Status deliver(const std::string& path, const std::string& sender, const std::string& msg,
                         const MboxOptions& o = fast_options()) {
    auto w = MboxWriter::open(path, sender, kWhen, o);
    if (!w.ok()) return w.error();
    for (size_t pos = 0; pos < msg.size(); pos += 7) {
        mailroom::Status s = w->append(std::string_view(msg).substr(pos, 7));
        if (!s.ok()) return s;
    }
    return w->commit();
}

}  // namespace

TEST_CASE("mbox From line uses asctime form and MAILER-DAEMON", "[unit]") {
    std::tm tm{};
    tm.tm_year = 2026 - 1900;
    tm.tm_mon = 10;
    tm.tm_mday = 4;
    tm.tm_wday = 3;
    tm.tm_hour = 5;
    tm.tm_min = 6;
    tm.tm_sec = 7;
    CHECK(format_from_line("alice@example.com", tm) == "From alice@example.com  Wed Nov  4 05:06:07 2026\n");
    CHECK(format_from_line("", tm) == "From MAILER-DAEMON  Wed Nov  4 05:06:07 2026\n");
    CHECK(format_from_line("a b@x", tm) == "From a_b@x  Wed Nov  4 05:06:07 2026\n");
    tm.tm_mday = 24;
    tm.tm_wday = 2;
    CHECK(format_from_line("x@y", tm) == "From x@y  Tue Nov 24 05:06:07 2026\n");
    use_utc();
    CHECK(format_from_line("x@y", kWhen) == "From x@y  Tue Nov 24 05:06:07 2026\n");
}

TEST_CASE("mboxrd quoting adds one greater-than sign", "[unit]") {
    struct Case {
        const char* in;
        const char* quoted;
    };
    const Case cases[] = {
        {"From x\n", ">From x\n"},
        {">From x\n", ">>From x\n"},
        {">>>From x\n", ">>>>From x\n"},
        {"a\nFrom b\nc\n", "a\n>From b\nc\n"},
        {"From", "From"},          // no space: not a From line
        {"From:x\n", "From:x\n"},  // a header, not a From line
        {"x From y\n", "x From y\n"},
        {"> From x\n", "> From x\n"},
        {">>Fro", ">>Fro"},  // input ending mid-prefix is flushed as is
        {"\n\nFrom \n", "\n\n>From \n"},
        {"from x\n", "from x\n"},
        {"", ""},
    };
    for (const Case& c : cases) {
        INFO(c.in);
        CHECK(mbox_quote(c.in) == c.quoted);
        CHECK(mbox_unquote(c.quoted) == c.in);
    }
    CHECK(mbox_unquote("From x\n") == "From x\n");  // unquoted From stays
}

TEST_CASE("mboxrd quoting is the same for any chunking", "[unit]") {
    std::string text = "From a\n>From b\nx\n>>From c\nFro\nFrom\n>>\nFrom ";
    std::string whole = mbox_quote(text);
    for (size_t split = 0; split <= text.size(); ++split) {
        for (FromFilter::Mode mode : {FromFilter::Mode::kQuote, FromFilter::Mode::kUnquote}) {
            std::string in = mode == FromFilter::Mode::kQuote ? text : whole;
            std::string expect = mode == FromFilter::Mode::kQuote ? whole : text;
            FromFilter f(mode);
            std::string out;
            f.feed(std::string_view(in).substr(0, split), &out);
            f.feed(std::string_view(in).substr(split), &out);
            f.finish(&out);
            INFO(split);
            CHECK(out == expect);
        }
    }
    FromFilter bytewise(FromFilter::Mode::kQuote);
    std::string out;
    for (char c : text) bytewise.feed(std::string_view(&c, 1), &out);
    bytewise.finish(&out);
    CHECK(out == whole);
}

TEST_CASE("mboxrd quoting round trips random text in random chunks", "[unit]") {
    // A fixed-seed generator over the bytes that matter to the filter.
    const char alphabet[] = {'>', 'F', 'r', 'o', 'm', ' ', '\n', 'x'};
    uint32_t seed = 12345;
    auto next = [&seed](uint32_t n) {
        seed = seed * 1103515245u + 12345u;
        return (seed >> 16) % n;
    };
    for (int round = 0; round < 2000; ++round) {
        std::string text;
        size_t len = next(60);
        for (size_t i = 0; i < len; ++i) {
            // Bias towards "From " so that real From lines occur often.
            if (next(6) == 0) {
                text += "From ";
            } else {
                text.push_back(alphabet[next(sizeof(alphabet))]);
            }
        }
        std::string quoted;
        FromFilter q(FromFilter::Mode::kQuote);
        for (size_t pos = 0; pos < text.size();) {
            size_t n = 1 + next(9);
            q.feed(std::string_view(text).substr(pos, n), &quoted);
            pos += n;
        }
        q.finish(&quoted);
        INFO(text);
        CHECK(quoted == mbox_quote(text));
        CHECK(mbox_unquote(quoted) == text);
        // After quoting, no line starts with "From ": a reader cannot split there.
        CHECK(quoted.rfind("From ", 0) != 0);
        CHECK(quoted.find("\nFrom ") == std::string::npos);
    }
}

TEST_CASE("mbox delivery writes From line quoted body and blank line", "[unit]") {
    use_utc();
    TempDir t;
    std::string mbox = t.sub("user");
    REQUIRE(deliver(mbox, "a@b", "Subject: x\n\nFrom me\n>From you\n").ok());
    CHECK(slurp(mbox) == "From a@b  Tue Nov 24 05:06:07 2026\nSubject: x\n\n>From me\n>>From you\n\n");
    // No lock file left behind; a second message follows the blank line.
    CHECK(list(t.path()) == std::vector<std::string>{"user"});
    REQUIRE(deliver(mbox, "", "no newline at end").ok());
    CHECK(slurp(mbox) ==
          "From a@b  Tue Nov 24 05:06:07 2026\nSubject: x\n\n>From me\n>>From you\n\n"
          "From MAILER-DAEMON  Tue Nov 24 05:06:07 2026\nno newline at end\n\n");
    struct stat st;
    REQUIRE(::stat(mbox.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
}

TEST_CASE("mbox reader round trips delivered messages", "[unit]") {
    TempDir t;
    std::string mbox = t.sub("user");
    std::string big;
    for (int i = 0; i < 5000; ++i) big += (i % 7 == 0 ? "From line " : ">From quoted ") + std::to_string(i) + "\n";
    const std::vector<std::pair<std::string, std::string>> msgs = {
        {"a@example.com", "Subject: one\n\nFrom the start\n"},
        {"", "Subject: bounce\n\n>From already\n\n\nFrom \n"},
        {"b@example.com", ""},
        {"c@example.com", big},
        {"d@example.com", "Subject: last\n\nbody\n"},
    };
    for (const auto& [sender, body] : msgs) REQUIRE(deliver(mbox, sender, body).ok());
    auto index = index_mbox(mbox);
    REQUIRE(index.ok());
    REQUIRE(index->size() == msgs.size());
    for (size_t i = 0; i < msgs.size(); ++i) {
        INFO(i);
        const MboxMessage& m = (*index)[i];
        CHECK(m.sender == (msgs[i].first.empty() ? "MAILER-DAEMON" : msgs[i].first));
        CHECK(m.from_line.rfind("From " + m.sender + " ", 0) == 0);
        auto content = read_mbox_message(mbox, m);
        REQUIRE(content.ok());
        CHECK(content.value() == msgs[i].second);
    }
}

TEST_CASE("mbox delivery adds a newline when the mailbox lacks one", "[unit]") {
    TempDir t;
    std::string mbox = t.sub("user");
    spew(mbox, "From x@y  Tue Nov 24 05:06:07 2026\ntruncated");
    REQUIRE(deliver(mbox, "a@b", "new\n").ok());
    auto index = index_mbox(mbox);
    REQUIRE(index.ok());
    REQUIRE(index->size() == 2);
    CHECK(read_mbox_message(mbox, (*index)[1]).value() == "new\n");
}

TEST_CASE("mbox abort and destruction leave the mailbox as it was", "[unit]") {
    TempDir t;
    std::string mbox = t.sub("user");
    REQUIRE(deliver(mbox, "a@b", "first\n").ok());
    std::string before = slurp(mbox);
    {
        auto w = MboxWriter::open(mbox, "x@y", kWhen, fast_options());
        REQUIRE(w.ok());
        CHECK(w->original_size() == before.size());
        REQUIRE(w->append(std::string(300000, 'z')).ok());  // forces writes to the file
        w->abort();
        CHECK(slurp(mbox) == before);
    }
    {
        auto w = MboxWriter::open(mbox, "x@y", kWhen, fast_options());
        REQUIRE(w.ok());
        REQUIRE(w->append(std::string(300000, 'z')).ok());
    }
    CHECK(slurp(mbox) == before);
    CHECK(list(t.path()) == std::vector<std::string>{"user"});  // dotlock released
}

TEST_CASE("mbox write failure truncates back via fault hook", "[unit]") {
    TempDir t;
    std::string mbox = t.sub("user");
    REQUIRE(deliver(mbox, "a@b", "first\n").ok());
    std::string before = slurp(mbox);
    int writes = 0;
    int fail_with = GENERATE(ENOSPC, EDQUOT, EFBIG);
    set_write_fault_for_testing([&writes, fail_with](std::string_view) { return ++writes < 3 ? 0 : fail_with; });
    std::string big(400000, 'y');
    big += "\n";
    mailroom::Status s = deliver(mbox, "x@y", big);
    set_write_fault_for_testing(nullptr);
    REQUIRE_FALSE(s.ok());
    CHECK(writes == 3);  // two writes went through before the failure
    CHECK(s.error().message.find(mbox) != std::string::npos);
    CHECK(s.error().temporary() == (fail_with != EFBIG));
    CHECK(slurp(mbox) == before);
    CHECK(list(t.path()) == std::vector<std::string>{"user"});
    // The mailbox is usable afterwards.
    REQUIRE(deliver(mbox, "x@y", "ok\n").ok());
    CHECK(index_mbox(mbox).value().size() == 2);
}

TEST_CASE("mbox file size limit in a child truncates back", "[unit]") {
    TempDir t;
    std::string mbox = t.sub("user");
    REQUIRE(deliver(mbox, "a@b", "first\n").ok());
    std::string before = slurp(mbox);
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        ::signal(SIGXFSZ, SIG_IGN);
        struct rlimit rl;
        rl.rlim_cur = rl.rlim_max = before.size() + 100000;
        if (::setrlimit(RLIMIT_FSIZE, &rl) < 0) ::_exit(10);
        auto w = MboxWriter::open(mbox, "x@y", kWhen, fast_options());
        if (!w.ok()) ::_exit(11);
        std::string chunk(50000, 'q');
        chunk.back() = '\n';
        for (int i = 0; i < 10; ++i) {
            mailroom::Status s = w->append(chunk);
            if (!s.ok()) ::_exit(s.error().message.find("File too large") != std::string::npos ? 0 : 12);
        }
        mailroom::Status s = w->commit();
        ::_exit(s.ok() ? 13 : 0);
    }
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
    CHECK(slurp(mbox) == before);
}

TEST_CASE("mbox refuses symlinks directories and hard links", "[unit]") {
    TempDir t;
    spew(t.sub("real"), "");
    REQUIRE(::symlink(t.sub("real").c_str(), t.sub("link").c_str()) == 0);
    REQUIRE(::mkdir(t.sub("dir").c_str(), 0700) == 0);
    REQUIRE(::link(t.sub("real").c_str(), t.sub("hard").c_str()) == 0);
    for (const char* name : {"link", "dir", "hard"}) {
        INFO(name);
        auto w = MboxWriter::open(t.sub(name), "a@b", kWhen, fast_options());
        REQUIRE_FALSE(w.ok());
        CHECK_FALSE(w.error().temporary());
        CHECK(w.error().message.find(t.sub(name)) != std::string::npos);
    }
    CHECK(slurp(t.sub("real")).empty());
    MboxOptions no_create = fast_options();
    no_create.create_file = false;
    no_create.lock.methods.dotlock = false;
    auto w = MboxWriter::open(t.sub("missing"), "a@b", kWhen, no_create);
    REQUIRE_FALSE(w.ok());
    CHECK(w.error().message.find("missing") != std::string::npos);
}
