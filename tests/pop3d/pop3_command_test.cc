// pop3_command_test.cc - the POP3 command parser, and the fuzz corpus replayed.
#include "pop3d/pop3_command.h"

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "tests/fuzz/pop3_command_fuzz.h"

using namespace mailroom::pop3d;

namespace {
Pop3Command ok(std::string_view line) {
    auto r = parse_pop3_command(line);
    INFO(line << " -> " << r.error);
    REQUIRE(r.command);
    return *r.command;
}
std::string err(std::string_view line) {
    auto r = parse_pop3_command(line);
    INFO(line);
    REQUIRE_FALSE(r.command);
    return r.error;
}
}  // namespace

TEST_CASE("pop3 parser: the seed's commands, any case", "[unit]") {
    auto u = ok("user openstack");
    CHECK(u.verb == Pop3Verb::kUser);
    CHECK(u.arg == "openstack");
    auto p = ok("pass redhat");
    CHECK(p.verb == Pop3Verb::kPass);
    CHECK(p.arg == "redhat");
    CHECK(ok("LIST").verb == Pop3Verb::kList);
    CHECK_FALSE(ok("LIST").msg);
    CHECK(ok("quit").verb == Pop3Verb::kQuit);
    CHECK(ok("QUIT ").verb == Pop3Verb::kQuit);  // the seed typed "quit "
}

TEST_CASE("pop3 parser: arguments", "[unit]") {
    CHECK(ok("PASS with two  spaces").arg == "with two  spaces");
    CHECK(*ok("list 4").msg == 4u);
    CHECK(*ok("RETR 1").msg == 1u);
    CHECK(*ok("DELE 2").msg == 2u);
    CHECK(*ok("uidl 3").msg == 3u);
    auto t = ok("TOP 1 10");
    CHECK(t.verb == Pop3Verb::kTop);
    CHECK(*t.msg == 1u);
    CHECK(t.lines == 10u);
    auto a = ok("AUTH plain AGhhZG9vcABwdw==");
    CHECK(a.arg == "PLAIN");
    CHECK(a.has_arg2);
    CHECK(a.arg2 == "AGhhZG9vcABwdw==");
    auto e = ok("AUTH LOGIN =");
    CHECK(e.has_arg2);
    CHECK(e.arg2.empty());
    CHECK(ok("AUTH").arg.empty());
    auto ap = ok("APOP mrose c4c9334bac560ecc979e58001b3e22fb");
    CHECK(ap.arg == "mrose");
    CHECK(ap.arg2 == "c4c9334bac560ecc979e58001b3e22fb");
}

TEST_CASE("pop3 parser: errors", "[unit]") {
    CHECK(err("XYZZY") == "Unknown command: XYZZY");
    CHECK(err("") == "Unknown command: ");
    CHECK(err("RETR") == "Message number required.");
    CHECK(err("RETR x") == "Invalid message number: x");
    CHECK(err("RETR -1") == "Invalid message number: -1");
    CHECK(err("RETR 2147483648") == "Invalid message number: 2147483648");
    CHECK(err("LIST 1 2") == "Noise after message number: 2");
    CHECK(err("STAT x") == "Noise after STAT command.");
    CHECK(err("TOP 1") == "TOP: Invalid parameters.");
    CHECK(err("USER") == "USER: Missing username.");
    CHECK(err("USER a b") == "USER: Noise after username.");
    CHECK(err("PASS") == "PASS: Missing password.");
    CHECK(err(std::string("RETR 1\0", 7)) == "Invalid characters in command.");
    CHECK(err(std::string(kMaxPop3Line + 1, 'a')) == "Input line too long.");
    CHECK(pop3_keyword("averyveryverylongkeyword x") == "AVERYVERYVERYLON");
}

TEST_CASE("pop3 parser: fuzz corpus replay", "[corpus]") {
    int n = 0;
    for (const auto& e : std::filesystem::directory_iterator(MAILROOM_POP3_COMMAND_CORPUS)) {
        std::ifstream in(e.path(), std::ios::binary);
        std::stringstream ss;
        ss << in.rdbuf();
        auto v = mailroom::fuzz::fuzz_pop3_command(ss.str());
        INFO(e.path().filename().string() << ": " << v.broken);
        CHECK(v.broken.empty());
        ++n;
    }
    CHECK(n >= 10);
    // Every single-byte mutation of every corpus file keeps the invariants.
    for (const auto& e : std::filesystem::directory_iterator(MAILROOM_POP3_COMMAND_CORPUS)) {
        std::ifstream in(e.path(), std::ios::binary);
        std::stringstream ss;
        ss << in.rdbuf();
        const std::string base = ss.str();
        for (std::size_t i = 0; i < base.size(); ++i) {
            for (char c : {'\0', ' ', '9', 'a', '\xff', '\n'}) {
                std::string m = base;
                m[i] = c;
                auto v = mailroom::fuzz::fuzz_pop3_command(m);
                INFO(e.path().filename().string() << " byte " << i << ": " << v.broken);
                REQUIRE(v.broken.empty());
            }
        }
    }
}
