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
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <optional>
#include <sstream>
#include <thread>
#include <string>
#include <vector>

#include "lib/config/config_snapshot.h"
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

    // `snapshot`, when not empty, is handed on kConfigFd as master does.
    explicit FakeMaster(const std::vector<std::string>& extra_args, const std::string& snapshot = "",
                        const std::string& main_cf_extra = "", const std::string& mode = "echo") {
        char tmpl[] = "/tmp/mr-skel-XXXXXX";
        REQUIRE(::mkdtemp(tmpl) != nullptr);
        dir = tmpl;
        std::ofstream(dir + "/main.cf") << "queue_directory = " << dir << "\nmaillog_file = " << dir
                                        << "/maillog\n" << main_cf_extra;
        std::vector<std::string> args = extra_args;
        args.insert(args.end(), {"--", mode});
        util::UniqueFd snap;
        if (!snapshot.empty()) {
            auto fd = config::make_snapshot_fd(snapshot);
            REQUIRE(fd.ok());
            snap = std::move(*fd);
        }
        master.emplace(MR_TESTD_PATH, dir, "echo", dir + "/echo", args, snap.get());
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

// The threads of process `pid`.
std::vector<std::string> tasks_of(pid_t pid) {
    std::vector<std::string> out;
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/task", ec))
        out.push_back(e.path().string());
    return out;
}

// Every thread of `pid` sleeps in epoll_wait (the loop and the accept thread).
bool all_in_epoll_wait(pid_t pid) {
    auto tasks = tasks_of(pid);
    if (tasks.size() < 2) return false;
    for (const auto& t : tasks) {
        std::ifstream in(t + "/syscall");
        long nr = -1;
        if (!(in >> nr)) return false;
        if (nr != SYS_epoll_wait && nr != SYS_epoll_pwait) return false;
    }
    return true;
}

// Voluntary context switches of every thread of `pid`: how often it slept
// and was woken.
long wakeups_of(pid_t pid) {
    long total = 0;
    for (const auto& t : tasks_of(pid)) {
        std::ifstream in(t + "/status");
        std::string line;
        while (std::getline(in, line))
            if (line.rfind("voluntary_ctxt_switches:", 0) == 0) total += std::stol(line.substr(24));
    }
    return total;
}

}  // namespace

TEST_CASE("a client wakes one waiting process of a service, not all of them", "[unit]") {
    FakeMaster m({});
    std::vector<pid_t> pids = {m.child};
    for (int i = 0; i < 3; ++i) pids.push_back(m.master->start_another());
    auto quiet = [&] {
        auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
        for (;;) {
            bool all = true;
            for (pid_t pid : pids) all = all && all_in_epoll_wait(pid);
            if (all) return true;
            if (std::chrono::steady_clock::now() > deadline) return false;
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
    };
    REQUIRE(quiet());
    std::map<pid_t, long> before;
    for (pid_t pid : pids) before[pid] = wakeups_of(pid);
    std::map<pid_t, int> served;
    constexpr int kClients = 20;
    for (int i = 0; i < kClients; ++i) {
        REQUIRE(quiet());  // every process waits for the next client
        auto client = m.connect_client();
        auto reply = ask(client.get(), "PID");
        REQUIRE(reply.rfind("pid ", 0) == 0);
        served[static_cast<pid_t>(std::stol(reply.substr(4)))]++;
    }
    REQUIRE(quiet());
    // A process that served no client slept through all of them (with
    // every process woken for each client, as before, each would show at
    // least kClients wake-ups); one that served some woke a few times for
    // each of its own.
    for (pid_t pid : pids) {
        long woken = wakeups_of(pid) - before[pid];
        INFO("pid " << pid << " served " << served[pid] << " clients, woken " << woken << " times");
        CHECK(woken <= 2 + 10 * served[pid]);
    }
}

TEST_CASE("a multi server stays available while it has sessions", "[unit]") {
    FakeMaster m({});
    auto client = m.connect_client();
    CHECK(ask(client.get(), "hello") == "hello");
    // The first client is reported (served = 1), as available: master must
    // not start another process because this one has a session.
    auto first = m.next_status();
    REQUIRE(first);
    CHECK(first->pid == m.child);
    CHECK(first->state == proto::ChildState::kAvailable);
    CHECK(first->served == 1);

    // A second session while the first is open, and the end of both: no
    // report, the process never stopped taking clients.
    auto second = m.connect_client();
    CHECK(ask(second.get(), "PID") == "pid " + std::to_string(m.child));
    second.reset();
    client.reset();
    auto third = m.connect_client();
    CHECK(ask(third.get(), "PID") == "pid " + std::to_string(m.child));
    CHECK_FALSE(m.next_status(300));

    ::kill(m.child, SIGTERM);
    int status = m.wait_exit();
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
}

TEST_CASE("a multi server with sessions_per_process sessions is busy until one ends", "[unit]") {
    FakeMaster m({});  // mr-testd keeps the default, 10
    std::vector<UniqueFd> clients;
    for (int i = 0; i < 10; ++i) {
        clients.push_back(m.connect_client());
        CHECK(ask(clients.back().get(), "x") == "x");
    }
    auto first = m.next_status();
    REQUIRE(first);
    CHECK(first->state == proto::ChildState::kAvailable);
    CHECK(first->served == 1);
    auto busy = m.next_status();
    REQUIRE(busy);
    CHECK(busy->state == proto::ChildState::kBusy);
    CHECK(busy->served == 10);
    // Still served, beyond the number (master may have no other process).
    clients.push_back(m.connect_client());
    CHECK(ask(clients.back().get(), "y") == "y");
    CHECK_FALSE(m.next_status(300));
    clients.pop_back();
    clients.pop_back();
    auto avail = m.next_status();
    REQUIRE(avail);
    CHECK(avail->state == proto::ChildState::kAvailable);
    ::kill(m.child, SIGTERM);
    CHECK(WIFEXITED(m.wait_exit()));
}

TEST_CASE("a multi server that accepts only below its cap leaves the next client waiting", "[unit]") {
    FakeMaster m({}, "", "", "capped");
    auto first = m.connect_client();
    CHECK(ask(first.get(), "x") == "x");
    auto second = m.connect_client();  // in the listen backlog
    REQUIRE(::write(second.get(), "y\n", 2) == 2);
    pollfd p{second.get(), POLLIN, 0};
    CHECK(::poll(&p, 1, 300) == 0);  // not accepted while the first lasts
    first.reset();
    std::string reply;
    char c;
    while (::read(second.get(), &c, 1) == 1 && c != '\n') reply += c;
    CHECK(reply == "y");
    ::kill(m.child, SIGTERM);
    CHECK(WIFEXITED(m.wait_exit()));
}

TEST_CASE("max_use ends the process after its last session", "[unit]") {
    FakeMaster m({"-o", "max_use=2"});
    auto first = m.connect_client();
    CHECK(ask(first.get(), "x") == "x");
    auto avail = m.next_status();
    REQUIRE(avail);
    CHECK(avail->state == proto::ChildState::kAvailable);
    // The client that reaches max_use turns the process busy, so that
    // master starts its successor while the sessions go on.
    auto second = m.connect_client();
    CHECK(ask(second.get(), "y") == "y");
    auto busy = m.next_status();
    REQUIRE(busy);
    CHECK(busy->state == proto::ChildState::kBusy);
    CHECK(busy->served == 2);
    first.reset();
    CHECK(ask(second.get(), "still") == "still");
    second.reset();
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

TEST_CASE("a child reads the configuration master hands it, not a main.cf broken since", "[unit]") {
    // main.cf on disk has become invalid; the snapshot is what master accepted.
    std::string accepted = "message_size_limit = 12345\nsmtpd_timeout = 60s\n";
    FakeMaster m({"-o", "smtpd_timeout=90s"}, config::encode_snapshot({accepted, std::nullopt}),
                 "message_size_limit = abc\nthis line has no equals sign\n");
    auto client = m.connect_client();
    CHECK(ask(client.get(), "PARAM message_size_limit") == "param 12345");
    // master.cf -o overrides still apply on top of it.
    CHECK(ask(client.get(), "PARAM smtpd_timeout") == "param 90s");
    // The descriptor is closed once read: nothing the daemon runs inherits it.
    int memfds = 0;
    for (const auto& e : std::filesystem::directory_iterator("/proc/" + std::to_string(m.child) + "/fd")) {
        std::error_code ec;
        auto target = std::filesystem::read_symlink(e.path(), ec).string();
        if (target.find("memfd:mailroom-config") != std::string::npos) ++memfds;
    }
    CHECK(memfds == 0);
}

TEST_CASE("without a handed configuration a child reads main.cf", "[unit]") {
    FakeMaster m({}, "", "message_size_limit = 777\n");
    auto client = m.connect_client();
    CHECK(ask(client.get(), "PARAM message_size_limit") == "param 777");
}

TEST_CASE("a bad value of a parameter the skeleton reads stops it with the file and line", "[unit]") {
    FakeMaster m({}, "", "max_idle = 5fortnights\n");
    int status = m.wait_exit();
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 1);
    std::ifstream in(m.dir + "/maillog");
    std::string log((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    CHECK(log.find("fatal: " + m.dir + "/main.cf, line 3: parameter max_idle: bad time value or unit: 5fortnights") !=
          std::string::npos);
}
