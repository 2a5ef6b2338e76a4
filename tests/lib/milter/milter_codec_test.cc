// milter_codec_test.cc - the milter packet codec, negotiation and the
// milter list syntax.
#include <catch2/catch.hpp>

#include "lib/milter/milter_codec.h"
#include "lib/milter/milter_config.h"

using namespace mailroom;
using namespace mailroom::milter;

namespace {

std::string u32(std::uint32_t v) {
    std::string s(4, '\0');
    s[0] = static_cast<char>(v >> 24);
    s[1] = static_cast<char>(v >> 16);
    s[2] = static_cast<char>(v >> 8);
    s[3] = static_cast<char>(v);
    return s;
}

std::vector<Packet> read_all(std::string_view bytes) {
    PacketReader r;
    r.feed(bytes);
    std::vector<Packet> out;
    for (;;) {
        auto p = r.next();
        REQUIRE(p.ok());
        if (!*p) break;
        out.push_back(**p);
    }
    return out;
}

}  // namespace

TEST_CASE("commands are length-prefixed packets with NUL-terminated strings") {
    CHECK(encode_packet('c', "") == std::string("\0\0\0\1c", 5));
    std::string helo = encode_helo("client.example");
    CHECK(helo == u32(16) + "Hclient.example" + std::string(1, '\0'));
    auto conn = encode_connect("host.example", '4', 2525, "192.0.2.1");
    auto p = read_all(conn);
    REQUIRE(p.size() == 1);
    CHECK(p[0].command == 'C');
    CHECK(p[0].data == std::string("host.example\0" "4\x09\xdd" "192.0.2.1\0", 13 + 1 + 2 + 10));
    auto mail = read_all(encode_args(kCmdMail, {"<a@example.com>", "SIZE=100"}));
    CHECK(mail[0].data == std::string("<a@example.com>\0SIZE=100\0", 25));
    auto macro = read_all(encode_macros(kCmdConnect, {{"j", "mx.example"}, {"{daemon_name}", "smtpd"}}));
    CHECK(macro[0].command == 'D');
    CHECK(macro[0].data == std::string("Cj\0mx.example\0{daemon_name}\0smtpd\0", 34));
    // A NUL inside a value cannot end the string early.
    CHECK(read_all(encode_header("X-A", std::string("a\0b", 3)))[0].data == std::string("X-A\0a b\0", 8));
}

TEST_CASE("the reader cuts packets from pieces and rejects bad lengths") {
    std::string two = encode_packet('c', "") + encode_packet('y', std::string("550 5.7.1 no\0", 13));
    PacketReader r;
    for (char c : two) {
        r.feed(std::string_view(&c, 1));
    }
    auto a = r.next();
    REQUIRE(a.ok());
    REQUIRE(a->has_value());
    CHECK((*a)->command == 'c');
    auto b = r.next();
    REQUIRE(b.ok());
    REQUIRE(b->has_value());
    auto reply = parse_reply(**b);
    REQUIRE(reply.ok());
    CHECK(reply->text == "550 5.7.1 no");
    auto none = r.next();
    REQUIRE(none.ok());
    CHECK(!none->has_value());

    PacketReader zero;
    zero.feed(std::string(4, '\0'));
    CHECK(!zero.next().ok());
    PacketReader huge;
    huge.feed(u32(kMaxPacket + 1) + "b");
    CHECK(!huge.next().ok());
}

TEST_CASE("modification replies are parsed and checked") {
    auto ins = parse_reply(Packet{'i', u32(2) + std::string("X-Ins\0v\0", 8)});
    REQUIRE(ins.ok());
    CHECK(ins->index == 2);
    CHECK(ins->name == "X-Ins");
    CHECK(ins->value == "v");
    auto chg = parse_reply(Packet{'e', std::string("<s@x>\0", 6)});
    REQUIRE(chg.ok());
    CHECK(chg->name == "<s@x>");
    CHECK(chg->value.empty());
    auto par = parse_reply(Packet{'2', std::string("<r@x>\0NOTIFY=NEVER\0", 19)});
    REQUIRE(par.ok());
    CHECK(par->value == "NOTIFY=NEVER");
    CHECK(!parse_reply(Packet{'y', std::string("250 ok\0", 7)}).ok());
    CHECK(!parse_reply(Packet{'y', std::string("5x0 bad\0", 8)}).ok());
    CHECK(!parse_reply(Packet{'h', std::string("X-A\0", 4)}).ok());
    CHECK(!parse_reply(Packet{'a', "junk"}).ok());
    CHECK(!parse_reply(Packet{'?', ""}).ok());
    CHECK(final_reply('c'));
    CHECK(final_reply('y'));
    CHECK(!final_reply('h'));
    CHECK(!final_reply('p'));
}

TEST_CASE("option negotiation checks what the milter asks for") {
    std::uint32_t offered = offered_protocol(6);
    CHECK((offered & kProtoNrBody) != 0);
    CHECK((offered_protocol(2) & kProtoNoUnknown) == 0);
    auto ok = parse_optneg(Packet{'O', u32(6) + u32(kActAddHeaders | kActChangeBody) + u32(kProtoNoHelo | kProtoNrRcpt) +
                                           u32(2) + std::string("{mail_addr} i\0", 14)},
                           6, kActAll, offered);
    REQUIRE(ok.ok());
    CHECK(ok->actions == (kActAddHeaders | kActChangeBody));
    CHECK(ok->protocol == (kProtoNoHelo | kProtoNrRcpt));
    CHECK(ok->macros.at(Stage::kMail) == "{mail_addr} i");
    // Buffer size bits are accepted and dropped.
    auto mds = parse_optneg(Packet{'O', u32(6) + u32(0) + u32(kProtoMds1m)}, 6, kActAll, offered);
    REQUIRE(mds.ok());
    CHECK(mds->protocol == 0);
    CHECK(!parse_optneg(Packet{'O', u32(7) + u32(0) + u32(0)}, 6, kActAll, offered).ok());
    CHECK(!parse_optneg(Packet{'O', u32(6) + u32(kActChangeFrom) + u32(0)}, 6, kActAddHeaders, offered).ok());
    CHECK(!parse_optneg(Packet{'O', u32(6) + u32(0) + u32(kProtoRcptRej)}, 6, kActAll, offered).ok());
    CHECK(!parse_optneg(Packet{'c', ""}, 6, kActAll, offered).ok());
}

TEST_CASE("milter lists take bare specs and braced groups with settings") {
    MilterSpec defaults;
    auto list = parse_milter_list(
        "inet:127.0.0.1:8891, { unix:/run/m.sock, default_action=accept, command_timeout=10s, protocol=4 }"
        " {inet:[::1]:99,content_timeout=1m}",
        defaults);
    REQUIRE(list.ok());
    REQUIRE(list->size() == 3);
    CHECK((*list)[0].socket.inet);
    CHECK((*list)[0].socket.host == "127.0.0.1");
    CHECK((*list)[0].socket.port == "8891");
    CHECK((*list)[0].default_action == DefaultAction::kTempfail);
    CHECK((*list)[1].socket.path == "/run/m.sock");
    CHECK((*list)[1].default_action == DefaultAction::kAccept);
    CHECK((*list)[1].command_timeout_s == 10);
    CHECK((*list)[1].protocol == 4);
    CHECK((*list)[2].socket.host == "::1");
    CHECK((*list)[2].content_timeout_s == 60);
    CHECK(!parse_milter_list("{ inet:1.2.3.4:5, bogus=1 }", defaults).ok());
    CHECK(!parse_milter_list("{ inet:1.2.3.4:5", defaults).ok());
    CHECK(!parse_milter_list("tcp:1.2.3.4:5", defaults).ok());
    CHECK(!parse_milter_list("{ inet:1.2.3.4:5, default_action=bounce }", defaults).ok());
    auto local = parse_socket("local:/var/run/x");
    REQUIRE(local.ok());
    CHECK(local->path == "/var/run/x");
    auto sendmail = parse_socket("inet:8891@localhost");
    REQUIRE(sendmail.ok());
    CHECK(sendmail->host == "localhost");
    CHECK(sendmail->port == "8891");
}

TEST_CASE("milter parameters come from main.cf with Postfix's defaults") {
    auto cfg = config::Config::from_text("smtpd_milters = inet:127.0.0.1:1\nmilter_default_action = accept\n", "/nonexistent");
    REQUIRE(cfg.ok());
    auto mc = MilterConfig::from_config(*cfg, "smtpd_milters");
    REQUIRE(mc.ok());
    REQUIRE(mc->milters.size() == 1);
    CHECK(mc->milters[0].default_action == DefaultAction::kAccept);
    CHECK(mc->milters[0].command_timeout_s == 30);
    CHECK(mc->milters[0].content_timeout_s == 300);
    CHECK(mc->macros[static_cast<std::size_t>(Stage::kConnect)] ==
          std::vector<std::string>{"j", "{daemon_name}", "{daemon_addr}", "v", "_"});
    CHECK(mc->macros[static_cast<std::size_t>(Stage::kEom)] == std::vector<std::string>{"i"});
    // $-expansion of the macro values.
    CHECK(mc->macro_v.rfind("mailroom ", 0) == 0);
    CHECK(mc->macro_v.size() > std::string("mailroom ").size());
    auto named = config::Config::from_text("smtpd_milters = unix:/x\nmyhostname = mx.example.test\n", "/nonexistent");
    REQUIRE(named.ok());
    auto nmc = MilterConfig::from_config(*named, "smtpd_milters");
    REQUIRE(nmc.ok());
    CHECK(nmc->daemon_name == "mx.example.test");
    auto none = MilterConfig::from_config(*cfg, "non_smtpd_milters");
    REQUIRE(none.ok());
    CHECK(none->empty());
    auto off = config::Config::from_text("smtpd_milters = inet:127.0.0.1:1\nreceive_override_options = no_milters\n",
                                         "/nonexistent");
    REQUIRE(off.ok());
    auto offc = MilterConfig::from_config(*off, "smtpd_milters");
    REQUIRE(offc.ok());
    CHECK(offc->empty());
}

TEST_CASE("a milter host name is resolved once with the configuration, a numeric one at once") {
    auto numeric = parse_socket("inet:127.0.0.1:8891");
    REQUIRE(numeric.ok());
    CHECK(numeric->addresses == std::vector<std::string>{"127.0.0.1"});
    CHECK(numeric->port_number == 8891);
    auto v6 = parse_socket("inet:[::1]:25");
    REQUIRE(v6.ok());
    CHECK(v6->addresses == std::vector<std::string>{"::1"});
    auto named = parse_socket("inet:localhost:8891");
    REQUIRE(named.ok());
    CHECK(named->addresses.empty());  // the loop never resolves it
    CHECK(named->resolve_error.empty());
    auto cfg = config::Config::from_text("smtpd_milters = inet:localhost:8891\n", "/nonexistent");
    REQUIRE(cfg.ok());
    auto mc = MilterConfig::from_config(*cfg, "smtpd_milters");
    REQUIRE(mc.ok());
    const auto& s = mc->milters.at(0).socket;
    REQUIRE(!s.addresses.empty());
    for (const auto& a : s.addresses) CHECK((a == "127.0.0.1" || a == "::1"));
    CHECK(s.port_number == 8891);
}
