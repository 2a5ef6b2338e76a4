// handed_sessions_test.cc - a login process's bookkeeping of sessions it
// handed to mail processes: the user+IP count and the client's descriptor
// number are held until the mail process reports the session over, or
// until the broker exits without reporting it.
#include "lib/access/handed_sessions.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>

using namespace mailroom;
using namespace mailroom::access;

namespace {

// Runs the loop until `cond` holds (false after a generous deadline).
bool run_until(event::Loop& loop, const std::function<bool()>& cond) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    event::Timer tick(loop, [] {});
    while (!cond()) {
        if (std::chrono::steady_clock::now() > deadline) return false;
        tick.start(std::chrono::milliseconds(20));
        loop.run_once();
    }
    return true;
}

// Whether user+IP "alice" from 192.0.2.7 would be admitted now (max 1).
bool admitted(UseripLimiter& userip) {
    bool ok = false;
    userip.connect("alice", "192.0.2.7", [&](bool yes, UseripLimiter::Ticket t) {
        ok = yes;
        userip.release(t);
    });
    return ok;
}

bool is_dev_null(int fd) {
    struct stat st{};
    return ::fstat(fd, &st) == 0 && S_ISCHR(st.st_mode);
}

// The mail process's side: it answers "hello <user> <password>" and ends
// the session when the client sends "quit"; a session of "hold" is kept
// open until the process exits.
void serve(event::Loop& loop, Handoff h, util::UniqueFd fd, std::function<void()> done) {
    const std::string hello = "hello " + h.login_name + " <" + h.user.passwd + ">\n";
    (void)!::write(fd.get(), hello.data(), hello.size());
    auto held = std::make_shared<util::UniqueFd>(std::move(fd));
    auto watcher = std::make_shared<event::FdWatcher>();
    *watcher = event::FdWatcher(loop, held->get(), event::Interest::kRead, [held, watcher, done] {
        char buf[64];
        if (::read(held->get(), buf, sizeof(buf)) > 0) return;
        watcher->disable();
        held->reset();
        done();
    });
    watcher->enable();
}

std::string read_line(int fd) {
    std::string got;
    char c;
    while (::read(fd, &c, 1) == 1 && c != '\n') got += c;
    return got;
}

struct Login {
    event::Loop& loop;
    UseripLimiter userip{loop, "pop3", 1, ""};
    HandedSessions handed{loop, userip};
    util::UniqueFd client;  // the client's end
    int server_fd = -1;     // the number the login process's end had
    std::unique_ptr<MailProcesses> mail;

    // Starts the broker and hands alice's session over: the mail process
    // greets the client (without the password), and the login process keeps
    // the count and the descriptor number (on /dev/null).
    void start_and_hand_off() {
        auto mp = MailProcesses::start({}, serve);
        REQUIRE(mp);
        mail = std::move(*mp);
        handed.attach(mail.get());
        REQUIRE(hand_off());
        CHECK(read_line(client.get()) == "hello alice <>");
        CHECK(is_dev_null(server_fd));
        CHECK(handed.size() == 1);
        CHECK_FALSE(admitted(userip));
    }

    // A plain session of alice, counted, handed to a mail process.
    Status hand_off() {
        int sv[2];
        REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
        client.reset(sv[0]);
        server_fd = sv[1];
        server::Connection conn(util::UniqueFd(sv[1]), nullptr);
        auto channel = event::Channel::create(loop, conn.fd());
        REQUIRE(channel);
        UseripLimiter::Ticket ticket;
        userip.connect("alice", "192.0.2.7", [&](bool yes, UseripLimiter::Ticket t) {
            REQUIRE(yes);
            ticket = std::move(t);
        });
        Handoff h;
        h.protocol = "pop3";
        h.login_name = "alice";
        h.rip = "192.0.2.7";
        h.user.uid = 65534;  // only used by a privileged broker
        h.user.gid = 65534;
        h.user.passwd = "secret";
        bool logged = false;
        auto st = handed.hand_off(std::move(h), {&channel, &conn, &ticket}, [&] { logged = true; });
        if (st) {
            CHECK(logged);
            CHECK_FALSE(channel);
            CHECK_FALSE(conn.valid());
            CHECK(ticket.key.empty());
        }
        return st;
    }
};

}  // namespace

TEST_CASE("handed sessions: held until the mail process reports the session over", "[unit]") {
    event::Loop loop;
    Login login{loop};
    login.start_and_hand_off();
    // The client leaves: the mail process reports it, the count is free.
    login.client.reset();
    REQUIRE(run_until(loop, [&] { return login.handed.size() == 0; }));
    CHECK(admitted(login.userip));
}

TEST_CASE("handed sessions: a broker that exits releases what it never reported", "[unit]") {
    event::Loop loop;
    Login login{loop};
    login.start_and_hand_off();
    REQUIRE(login.mail->broker_pid() > 0);
    REQUIRE(::kill(login.mail->broker_pid(), SIGKILL) == 0);
    REQUIRE(run_until(loop, [&] { return login.handed.size() == 0; }));
    CHECK(admitted(login.userip));
    // The mail process went with its broker: the client sees the end.
    CHECK(read_line(login.client.get()).empty());
    // A session can not be handed over any more.
    auto st = login.hand_off();
    REQUIRE_FALSE(st);
    CHECK(st.error().temporary());
}

TEST_CASE("handed sessions: a user a privileged broker would refuse stays with the login process", "[unit]") {
    if (::geteuid() != 0) {
        SUCCEED("only a privileged broker checks the uid");
        return;
    }
    auto mp = MailProcesses::start({}, serve);
    REQUIRE(mp);
    event::Loop loop;
    UseripLimiter userip{loop, "pop3", 1, ""};
    HandedSessions handed{loop, userip};
    handed.attach(mp->get());
    int sv[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
    util::UniqueFd client(sv[0]);
    server::Connection conn(util::UniqueFd(sv[1]), nullptr);
    auto channel = event::Channel::create(loop, conn.fd());
    UseripLimiter::Ticket ticket;
    Handoff h;
    h.login_name = "root";
    h.user.uid = 0;
    h.user.gid = 0;
    auto st = handed.hand_off(std::move(h), {&channel, &conn, &ticket});
    REQUIRE_FALSE(st);
    CHECK_FALSE(st.error().temporary());
    CHECK(channel);
    CHECK(conn.valid());
    CHECK(handed.size() == 0);
}
