// handoff_test.cc - the hand-off message codec, a descriptor passed with
// it over a SOCK_SEQPACKET pair, and the uid rule of privileged mail
// processes; a session served by a mail process the broker forked and
// reported done.
#include "lib/access/handoff.h"

#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <vector>

#include "lib/access/mail_process.h"

using namespace mailroom;
using namespace mailroom::access;

namespace {
Handoff sample() {
    Handoff h;
    h.id = 42;
    h.protocol = "pop3";
    h.login_name = "hadoop@yuliang.com";
    h.method = "PLAIN";
    h.rip = "192.0.2.7";
    h.lip = "192.0.2.1";
    h.tls = true;
    h.user.address = "hadoop@yuliang.com";
    h.user.home = "/var/mailbox/yuliang.com/hadoop";
    h.user.maildir = "/var/mailbox/yuliang.com/hadoop/Maildir/";
    h.user.quota = "1073741824S";
    h.user.uid = 5000;
    h.user.gid = 5000;
    h.state = std::string("STAT\r\nLIST\r\n\0,=:9:", 18);
    return h;
}
}  // namespace

TEST_CASE("handoff: every field survives the round trip", "[unit]") {
    const Handoff h = sample();
    auto back = decode_handoff(encode_handoff(h));
    REQUIRE(back);
    CHECK(*back == h);
    Handoff bare;
    bare.protocol = "imap";
    bare.login_name = "u";
    auto b = decode_handoff(encode_handoff(bare));
    REQUIRE(b);
    CHECK_FALSE(b->user.uid);
    CHECK_FALSE(b->tls);
}

TEST_CASE("handoff: malformed messages are refused", "[unit]") {
    const std::string good = encode_handoff(sample());
    CHECK_FALSE(decode_handoff(""));                        // no protocol, no user
    CHECK_FALSE(decode_handoff("9:proto=pop3,"));           // no user
    CHECK_FALSE(decode_handoff(good.substr(0, good.size() - 1)));  // truncated
    CHECK_FALSE(decode_handoff("99999999999:x=y,"));
    CHECK_FALSE(decode_handoff("3:abc,10:proto=pop3,6:user=u,"));  // field without '='
    CHECK_FALSE(decode_handoff("10:proto=pop3,6:user=u,7:uid=-1,"));
    CHECK_FALSE(decode_handoff("10:proto=pop3,6:user=u,5:uid=x,"));
    auto unknown = decode_handoff("10:proto=pop3,6:user=u,7:color=2,");
    REQUIRE(unknown);  // unknown names are skipped
    CHECK(unknown->login_name == "u");
}

TEST_CASE("handoff: a message and a descriptor over a SEQPACKET pair", "[unit]") {
    int sv[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) == 0);
    util::UniqueFd a(sv[0]), b(sv[1]);
    int p[2];
    REQUIRE(::pipe(p) == 0);
    util::UniqueFd r(p[0]), w(p[1]);
    REQUIRE(send_message(a.get(), "H" + encode_handoff(sample()), w.get()));
    std::string msg;
    util::UniqueFd got;
    auto rc = recv_message(b.get(), &msg, &got);
    REQUIRE(rc);
    REQUIRE(*rc);
    REQUIRE(got.valid());
    CHECK(msg[0] == 'H');
    CHECK(decode_handoff(std::string_view(msg).substr(1))->id == 42);
    // The received descriptor is the same pipe.
    REQUIRE(::write(got.get(), "x", 1) == 1);
    char c = 0;
    REQUIRE(::read(r.get(), &c, 1) == 1);
    CHECK(c == 'x');
    // Without a descriptor; then EOF.
    REQUIRE(send_message(a.get(), "D42"));
    rc = recv_message(b.get(), &msg, &got);
    REQUIRE(rc);
    CHECK(*rc);
    CHECK(msg == "D42");
    CHECK_FALSE(got.valid());
    a.reset();
    rc = recv_message(b.get(), &msg, &got);
    REQUIRE(rc);
    CHECK_FALSE(*rc);
}

TEST_CASE("mail processes: a privileged one never runs as root or without a uid", "[unit]") {
    std::string why;
    auth::AuthUser u;
    CHECK_FALSE(MailProcesses::runnable_uid(u, &why));
    u.uid = 0;
    u.gid = 5000;
    CHECK_FALSE(MailProcesses::runnable_uid(u, &why));
    CHECK(why.find("uid 0") != std::string::npos);
    u.uid = 5000;
    u.gid = 0;
    CHECK_FALSE(MailProcesses::runnable_uid(u, &why));
    u.gid = 5000;
    CHECK(MailProcesses::runnable_uid(u, &why));
}

TEST_CASE("mail processes: a session handed over is served in another process and reported done", "[unit]") {
    // As root the broker changes to the record's uid (65534, nobody),
    // which can write to a descriptor it is given.
    // The starter runs in the mail process: it answers on the client
    // descriptor with what it was handed, its pid, then ends the session.
    auto mp = MailProcesses::start({}, [](event::Loop&, Handoff h, util::UniqueFd fd, std::function<void()> done) {
        const std::string line = h.login_name + " " + h.state + " " + std::to_string(::getpid()) + "\n";
        (void)!::write(fd.get(), line.data(), line.size());
        fd.reset();
        done();
    });
    REQUIRE(mp);
    event::Loop loop;
    std::vector<std::uint64_t> done_ids;
    (*mp)->attach(loop, [&](std::uint64_t id) { done_ids.push_back(id); });
    auto ask = [&](std::uint64_t id, const std::string& user) {
        int sv[2];
        REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
        util::UniqueFd client(sv[0]), server_end(sv[1]);
        Handoff h;
        h.id = id;
        h.protocol = "pop3";
        h.login_name = user;
        h.state = "STAT";
        h.user.uid = 65534;  // only used by a privileged broker
        h.user.gid = 65534;
        REQUIRE((*mp)->handoff(h, server_end.get()));
        server_end.reset();  // the mail process has its own copy
        std::string got;
        char buf[256];
        ssize_t n;
        while ((n = ::read(client.get(), buf, sizeof(buf))) > 0) got.append(buf, static_cast<std::size_t>(n));
        return got;
    };
    const std::string a = ask(7, "alice");
    REQUIRE(a.rfind("alice STAT ", 0) == 0);
    CHECK(std::stol(a.substr(11)) != ::getpid());  // served elsewhere
    const std::string b = ask(8, "bob");
    REQUIRE(b.rfind("bob STAT ", 0) == 0);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    event::Timer tick(loop, [] {});
    while (done_ids.size() < 2 && std::chrono::steady_clock::now() < deadline) {
        tick.start(std::chrono::milliseconds(50));
        loop.run_once();
    }
    CHECK(done_ids == std::vector<std::uint64_t>{7, 8});
}
