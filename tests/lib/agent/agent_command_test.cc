// agent_command_test.cc - running commands: status, output, signals, time limits, Postfix's texts.
#include "lib/agent/agent_command.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <catch2/catch.hpp>

using namespace mailroom;
using namespace mailroom::agent;

namespace {

CommandResult run_sh(const std::string& script, int stdin_fd = -1, long limit = 10) {
    CommandSpec spec;
    spec.argv = {"/bin/sh", "-c", script};
    spec.env = {"PATH=/usr/bin:/bin", "RECIPIENT=user@example.com"};
    spec.stdin_fd = stdin_fd;
    spec.time_limit_seconds = limit;
    auto r = run_command(spec);
    REQUIRE(r.ok());
    return *r;
}

}  // namespace

TEST_CASE("command exit status and output are collected", "[unit]") {
    auto ok = run_sh("echo hello; echo oops >&2; exit 0");
    CHECK(ok.kind == CommandResult::Kind::kExited);
    CHECK(ok.code == 0);
    CHECK(ok.output == "hello\noops\n");
    auto seven = run_sh("exit 67");
    CHECK(seven.code == 67);
    auto env = run_sh("echo \"$RECIPIENT\"");
    CHECK(env.output == "user@example.com\n");
}

TEST_CASE("command reads the message from standard input", "[unit]") {
    int fd = ::memfd_create("t", 0);
    REQUIRE(fd >= 0);
    REQUIRE(::write(fd, "line1\nline2\n", 12) == 12);
    REQUIRE(::lseek(fd, 0, SEEK_SET) == 0);
    auto r = run_sh("wc -l", fd);
    ::close(fd);
    CHECK(clean_command_output(r.output) == "2");
}

TEST_CASE("signals time limits and exec failures", "[unit]") {
    auto sig = run_sh("kill -ABRT $$");
    CHECK(sig.kind == CommandResult::Kind::kSignaled);
    CHECK(sig.code == 6);
    auto slow = run_sh("sleep 30 & sleep 30", -1, 1);
    CHECK(slow.kind == CommandResult::Kind::kTimedOut);
    CommandSpec spec;
    spec.argv = {"/nonexistent/program"};
    auto missing = run_command(spec);
    REQUIRE(missing.ok());
    CHECK(missing->code == 69);
    CHECK(missing->output.find("/nonexistent/program") != std::string::npos);
}

TEST_CASE("output is bounded", "[unit]") {
    CommandSpec spec;
    spec.argv = {"/bin/sh", "-c", "i=0; while [ $i -lt 2000 ]; do echo 0123456789; i=$((i+1)); done"};
    spec.output_limit = 100;
    auto r = run_command(spec);
    REQUIRE(r.ok());
    CHECK(r->code == 0);
    CHECK(r->output.size() == 100);
}

TEST_CASE("command outcomes follow Postfix's texts", "[unit]") {
    using K = CommandResult::Kind;
    CHECK(command_outcome({K::kExited, 0, "ignored"}, "/usr/bin/maildrop", "delivered via maildrop service") ==
          sent("delivered via maildrop service"));
    CHECK(command_outcome({K::kExited, 75, "try later\n"}, "x", "") ==
          deferred("temporary failure. Command output: try later", "4.3.0"));
    CHECK(command_outcome({K::kExited, 67, "maildrop: Invalid user specified.\n"}, "x", "") ==
          bounced("user unknown. Command output: maildrop: Invalid user specified.", "5.1.1"));
    CHECK(command_outcome({K::kExited, 69, ""}, "x", "") == bounced("service unavailable", "5.3.0"));
    CHECK(command_outcome({K::kExited, 1, ""}, "/usr/bin/procmail", "") ==
          bounced("Command died with status 1: \"/usr/bin/procmail\"", "5.3.0"));
    CHECK(command_outcome({K::kSignaled, 6, ""}, "/usr/bin/maildrop", "") ==
          deferred("Command died with signal 6: \"/usr/bin/maildrop\"", "4.3.0"));
    CHECK(command_outcome({K::kTimedOut, 0, ""}, "/bin/x", "") ==
          bounced("Command time limit exceeded: \"/bin/x\"", "5.3.0"));
    // An enhanced status code in the output wins over the exit status.
    CHECK(command_outcome({K::kExited, 1, "4.2.2 mailbox full"}, "x", "") ==
          deferred("Command died with status 1: \"x\". Command output: 4.2.2 mailbox full", "4.2.2"));
    CHECK(command_outcome({K::kExited, 75, "5.2.2 over quota"}, "x", "") ==
          bounced("temporary failure. Command output: 5.2.2 over quota", "5.2.2"));
    CHECK(clean_command_output("a\n\tb \x01 c\n") == "a b c");
}
