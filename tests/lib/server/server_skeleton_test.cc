// server_skeleton_test.cc - the child side of the master protocol, end to end.
//
// Plays master for one mr-testd process (tests/support/mr_testd.cc, a multi
// server on the skeleton): hands it a listening UNIX socket on descriptor 6
// and the status pipe on descriptor 5, then checks its busy/available
// reports, max_use and SIGTERM.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "lib/server/master_proto.h"
#include "lib/util/unique_fd.h"
#include "tests/support/fake_master.h"

using namespace mailroom;
using namespace mailroom::server;
using util::UniqueFd;

namespace {

// mr-testd's echo service in a temporary instance, under a fake master.
struct FakeMaster {
    std::string dir;
    std::optional<testing::FakeMaster> master;
    pid_t child = -1;

    explicit FakeMaster(const std::vector<std::string>& extra_args) {
        char tmpl[] = "/tmp/mr-skel-XXXXXX";
        REQUIRE(::mkdtemp(tmpl) != nullptr);
        dir = tmpl;
        std::ofstream(dir + "/main.cf") << "queue_directory = " << dir << "\nmaillog_file = " << dir
                                        << "/maillog\n";
        std::vector<std::string> args = extra_args;
        args.insert(args.end(), {"--", "echo"});
        master.emplace(MR_TESTD_PATH, dir, "echo", dir + "/echo", args);
        child = master->child();
    }

    ~FakeMaster() {
        master.reset();
        std::filesystem::remove_all(dir);
    }

    std::optional<proto::StatusMessage> next_status(int ms = 10000) { return master->next_status(ms); }
    UniqueFd connect_client() { return master->connect_client(); }
    int wait_exit() { return master->wait_exit(); }
};

std::string ask(int fd, const std::string& line) {
    std::string out = line + "\n";
    REQUIRE(::write(fd, out.data(), out.size()) == static_cast<ssize_t>(out.size()));
    std::string reply;
    char c;
    while (::read(fd, &c, 1) == 1 && c != '\n') reply += c;
    return reply;
}

}  // namespace

TEST_CASE("a multi server reports busy and available around its sessions", "[unit]") {
    FakeMaster m({});
    auto client = m.connect_client();
    CHECK(ask(client.get(), "hello") == "hello");
    auto busy = m.next_status();
    REQUIRE(busy);
    CHECK(busy->pid == m.child);
    CHECK(busy->state == proto::ChildState::kBusy);
    CHECK(busy->served == 1);

    // A second session while the first is open: no new report.
    auto second = m.connect_client();
    CHECK(ask(second.get(), "PID") == "pid " + std::to_string(m.child));
    second.reset();
    CHECK_FALSE(m.next_status(300));

    client.reset();
    auto idle = m.next_status();
    REQUIRE(idle);
    CHECK(idle->state == proto::ChildState::kAvailable);
    CHECK(idle->served == 2);

    ::kill(m.child, SIGTERM);
    int status = m.wait_exit();
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
}

TEST_CASE("max_use ends the process after its last session", "[unit]") {
    FakeMaster m({"-o", "max_use=1"});
    {
        auto client = m.connect_client();
        CHECK(ask(client.get(), "x") == "x");
    }
    auto busy = m.next_status();
    REQUIRE(busy);
    CHECK(busy->state == proto::ChildState::kBusy);
    int status = m.wait_exit();
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
    CHECK_FALSE(m.next_status(100));  // it never said it was available again
}

TEST_CASE("a child refuses to run without master's -s", "[unit]") {
    pid_t pid = ::fork();
    if (pid == 0) {
        int null = ::open("/dev/null", O_WRONLY);
        ::dup2(null, 2);
        ::execl(MR_TESTD_PATH, MR_TESTD_PATH, "-c", "/nonexistent", static_cast<char*>(nullptr));
        ::_exit(127);
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 1);
}
