// handoff_test.cc - the hand-off message codec, a descriptor passed with
// it over a SOCK_SEQPACKET pair, and the uid rule of privileged mail
// processes.
#include "lib/access/handoff.h"

#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>

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
