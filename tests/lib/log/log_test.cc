#include "lib/log/log.h"

#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <ctime>

#include "lib/util/fs.h"
#include "lib/util/strings.h"

using namespace mailroom;

TEST_CASE("file lines use Postfix's layout", "[unit]") {
    ::setenv("TZ", "UTC", 1);
    ::tzset();
    // 2016-05-05 12:59:05 UTC: a single-digit day is padded with a space.
    long t = 1462453145;
    CHECK(log::format_file_line(t, "PXE1", "mailroom/qmgr", 8446, log::Level::kInfo,
                                "D786582E95: from=<hadoop@example.com>, size=346, nrcpt=1 (queue active)") ==
          "May  5 12:59:05 PXE1 mailroom/qmgr[8446]: D786582E95: from=<hadoop@example.com>, size=346, nrcpt=1 "
          "(queue active)\n");
    CHECK(log::format_file_line(t + 10 * 86400, "h", "postfix/smtpd", 1, log::Level::kWarning, "x") ==
          "May 15 12:59:05 h postfix/smtpd[1]: warning: x\n");
}

TEST_CASE("level prefixes", "[unit]") {
    CHECK(log::level_prefix(log::Level::kInfo) == "");
    CHECK(log::level_prefix(log::Level::kWarning) == "warning: ");
    CHECK(log::level_prefix(log::Level::kError) == "error: ");
    CHECK(log::level_prefix(log::Level::kFatal) == "fatal: ");
    CHECK(log::level_prefix(log::Level::kPanic) == "panic: ");
}

TEST_CASE("log_printable hides control characters", "[unit]") {
    CHECK(log::log_printable("a\r\nb\x01\xff") == "a??b??");
    CHECK(log::log_printable("plain text") == "plain text");
}

TEST_CASE("maillog_file gets syslog_name/program[pid] lines and reopens after rotation", "[unit]") {
    char tmpl[] = "/tmp/mr-log-test-XXXXXX";
    REQUIRE(::mkdtemp(tmpl));
    std::string dir = tmpl;
    std::string path = dir + "/maillog";
    log::init("smtpd", false);
    log::Sinks s;
    s.syslog_name = "postfix";
    s.maillog_file = path;
    log::configure(s);
    log::warn("disk %s", "full");
    std::string content = util::read_file(path).value();
    std::string expect = "postfix/smtpd[" + std::to_string(::getpid()) + "]: warning: disk full\n";
    CHECK(content.size() > expect.size());
    CHECK(content.substr(content.size() - expect.size()) == expect);

    // Rotation: the file is renamed away; after reopen() new lines go to a new file.
    std::string rotated = path + ".1";
    REQUIRE(::rename(path.c_str(), rotated.c_str()) == 0);
    log::request_reopen();
    log::info("after rotation");
    std::string fresh = util::read_file(path).value();
    CHECK(fresh.find("after rotation") != std::string::npos);
    CHECK(util::read_file(rotated).value().find("after rotation") == std::string::npos);

    log::Sinks off;
    off.to_syslog_or_file = false;
    log::configure(off);
    ::unlink(path.c_str());
    ::unlink(rotated.c_str());
    ::rmdir(dir.c_str());
}

TEST_CASE("capture receives level and text", "[unit]") {
    std::vector<std::pair<log::Level, std::string>> got;
    log::set_capture([&](log::Level l, const std::string& t) { got.emplace_back(l, t); });
    log::warn("a %d", 1);
    log::info("b");
    log::set_capture(nullptr);
    REQUIRE(got.size() == 2);
    CHECK(got[0].first == log::Level::kWarning);
    CHECK(got[0].second == "a 1");
    CHECK(got[1].first == log::Level::kInfo);
}

TEST_CASE("process_id is this process's, also in a child after fork", "[unit]") {
    CHECK(log::process_id() == static_cast<long>(::getpid()));
    CHECK(log::process_id() == static_cast<long>(::getpid()));  // kept
    pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) ::_exit(log::process_id() == static_cast<long>(::getpid()) ? 0 : 1);
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
    CHECK(log::process_id() == static_cast<long>(::getpid()));
}

TEST_CASE("maillog_file lines of a forked child carry the child's pid", "[unit]") {
    char tmpl[] = "/tmp/mr-log-fork-XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    std::string path = std::string(tmpl) + "/maillog";
    log::init("forktest", false);
    log::Sinks sinks;
    sinks.maillog_file = path;
    log::configure(sinks);
    log::info("parent line");
    pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        log::info("child line");
        ::_exit(0);
    }
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    log::Sinks off;
    off.to_syslog_or_file = false;
    log::configure(off);
    auto text = util::read_file(path);
    REQUIRE(text.ok());
    CHECK(text->find(util::format("mailroom/forktest[%ld]: parent line", static_cast<long>(::getpid()))) !=
          std::string::npos);
    CHECK(text->find(util::format("mailroom/forktest[%ld]: child line", static_cast<long>(child))) !=
          std::string::npos);
    ::unlink(path.c_str());
    ::rmdir(tmpl);
}
