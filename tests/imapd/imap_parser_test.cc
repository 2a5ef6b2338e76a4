// imap_parser_test.cc - the IMAP command parser and framer, and the fuzz corpus replayed.
#include "imapd/imap_parser.h"

#include <catch2/catch.hpp>
#include <fstream>
#include <random>
#include <sstream>

#include "tests/fuzz/imap_command_fuzz.h"
#include "tests/support/corpus.h"

using namespace mailroom::imapd;

namespace {
ImapCommand ok(std::string_view text) {
    auto r = parse_imap_command(text);
    INFO(text << " -> " << r.error);
    REQUIRE(r.command);
    return *r.command;
}
ImapParseResult bad(std::string_view text) {
    auto r = parse_imap_command(text);
    INFO(text);
    REQUIRE_FALSE(r.command);
    REQUIRE_FALSE(r.error.empty());
    return r;
}
}  // namespace

TEST_CASE("imap parser: tag, name and simple arguments", "[unit]") {
    auto c = ok("a001 login joe \"se cret\"");
    CHECK(c.tag == "a001");
    CHECK(c.name == "LOGIN");
    REQUIRE(c.args.size() == 2);
    CHECK(c.args[0].type == ImapArg::Type::kAtom);
    CHECK(c.args[0].value == "joe");
    CHECK(c.args[1].type == ImapArg::Type::kQuoted);
    CHECK(c.args[1].value == "se cret");
    CHECK(ok("A1 NOOP").args.empty());
    CHECK(ok("A1 NOOP ").args.empty());  // a trailing space is tolerated
    auto q = ok(R"(t LOGIN "a\"b" "c\\d")");
    CHECK(q.args[0].value == "a\"b");
    CHECK(q.args[1].value == "c\\d");
    CHECK(ok("t SELECT NIL").args[0].type == ImapArg::Type::kNil);
}

TEST_CASE("imap parser: literals are taken raw, literal8 marked", "[unit]") {
    auto c = ok("t LOGIN {4}\r\nus\"r {3+}\r\n( )");
    REQUIRE(c.args.size() == 2);
    CHECK(c.args[0].type == ImapArg::Type::kLiteral);
    CHECK(c.args[0].value == "us\"r");
    CHECK(c.args[1].value == "( )");
    auto b = ok(std::string_view("t APPEND x ~{3}\r\na\0b", 20));
    CHECK(b.args[1].literal8);
    CHECK(b.args[1].value.size() == 3);
    bad(std::string_view("t APPEND x {3}\r\na\0b", 19));  // NUL only in literal8
    bad("t LOGIN {5}\r\nab");
    bad("t LOGIN {x}\r\nab");
    bad("t LOGIN {2}ab");
}

TEST_CASE("imap parser: nested lists and FETCH sections", "[unit]") {
    auto c = ok("t UID FETCH 1:* (UID FLAGS BODY.PEEK[HEADER.FIELDS (From To)]<0.100> (X (Y)))");
    CHECK(c.name == "UID");
    REQUIRE(c.args.size() == 3);
    CHECK(c.args[0].value == "FETCH");
    CHECK(c.args[1].value == "1:*");
    const auto& l = c.args[2];
    REQUIRE(l.type == ImapArg::Type::kList);
    REQUIRE(l.list.size() == 4);
    CHECK(l.list[2].value == "BODY.PEEK[HEADER.FIELDS (From To)]<0.100>");
    REQUIRE(l.list[3].list.size() == 2);
    CHECK(l.list[3].list[1].list[0].value == "Y");
    CHECK(ok("t STORE 1 +FLAGS (\\Seen \\Deleted)").args[2].list[1].value == "\\Deleted");
    CHECK(ok("t LIST \"\" %").args[1].value == "%");
    CHECK(ok("t X ()").args[0].list.empty());
}

TEST_CASE("imap parser: garbage is an error with the tag kept", "[unit]") {
    CHECK(bad("").tag.empty());
    CHECK(bad("tagonly").tag == "tagonly");
    CHECK(bad("+x NOOP").tag.empty());
    CHECK(bad("t FETCH 1 (FLAGS").tag == "t");
    CHECK(bad("t FETCH 1 FLAGS)").error.find("FETCH") != std::string::npos);
    bad("t FETCH 1 BODY[HEADER");
    bad("t NOOP  x");
    bad("t LOGIN \"a\rb\"");
    bad("t LOGIN \"a\\xb\"");
    std::string deep = "t X ";
    for (int i = 0; i < 40; ++i) deep += "(";
    bad(deep);
}

TEST_CASE("imap parser: trailing literal announcements", "[unit]") {
    auto a = trailing_literal("t LOGIN {12}");
    REQUIRE(a);
    CHECK(a->size == 12);
    CHECK_FALSE(a->nonsync);
    auto b = trailing_literal("t APPEND x ~{7+}");
    REQUIRE(b);
    CHECK(b->nonsync);
    CHECK(b->literal8);
    CHECK(trailing_literal("t X ({0}")->size == 0);
    CHECK_FALSE(trailing_literal("t LOGIN x{12}"));
    CHECK_FALSE(trailing_literal("t LOGIN {1a}"));
    CHECK_FALSE(trailing_literal("t LOGIN {}"));
    CHECK_FALSE(trailing_literal("t LOGIN"));
}

TEST_CASE("imap framer: synchronising and non-synchronising literals", "[unit]") {
    ImapFramer f({});
    CHECK(f.line("a LOGIN {4}") == ImapFramer::Step::kContinue);
    CHECK(f.literal_remaining() == 4);
    CHECK(f.literal("us") == ImapFramer::Step::kNeedLiteral);
    CHECK(f.literal("er") == ImapFramer::Step::kNeedLine);
    CHECK(f.line(" {2+}") == ImapFramer::Step::kNeedLiteral);
    CHECK(f.literal("pw") == ImapFramer::Step::kNeedLine);
    CHECK(f.line("") == ImapFramer::Step::kComplete);
    auto c = ok(f.text());
    CHECK(c.args[0].value == "user");
    CHECK(c.args[1].value == "pw");
    f.reset();
    CHECK(f.line("b NOOP") == ImapFramer::Step::kComplete);
    CHECK(f.tag() == "b");
}

TEST_CASE("imap framer: bounds give BAD or NO [TOOBIG] and the session goes on", "[unit]") {
    ImapFramer::Limits lim;
    lim.max_line = 100;
    lim.max_literal = 1000;
    ImapFramer f(lim);
    // A cut line: BAD, the rest of the line is dropped.
    CHECK(f.line("t1 NOOP xxxxx", false) == ImapFramer::Step::kError);
    CHECK(f.tag() == "t1");
    CHECK(f.error_reply().rfind("BAD", 0) == 0);
    CHECK(f.skip_rest());
    f.reset();
    // A synchronising literal over the bound: refused before "+".
    CHECK(f.line("t2 LOGIN {500}") == ImapFramer::Step::kError);
    CHECK(f.error_reply().find("[TOOBIG]") != std::string::npos);
    CHECK_FALSE(f.skip_rest());
    f.reset();
    // APPEND's message may be larger than a line, up to max_literal.
    CHECK(f.line("t3 APPEND INBOX {500}") == ImapFramer::Step::kContinue);
    f.reset();
    CHECK(f.line("t4 APPEND INBOX {5000}") == ImapFramer::Step::kError);
    CHECK(f.error_reply().rfind("NO [TOOBIG]", 0) == 0);
    f.reset();
    // A non-synchronising literal over the bound is read and thrown away.
    CHECK(f.line("t5 APPEND INBOX {5000+}") == ImapFramer::Step::kSkipLiteral);
    CHECK(f.skip(4000) == ImapFramer::Step::kSkipLiteral);
    CHECK(f.skip(1000) == ImapFramer::Step::kError);
    CHECK(f.error_reply().rfind("NO [TOOBIG]", 0) == 0);
    CHECK(f.skip_rest());
    f.reset();
    // LITERAL- (no LITERAL+): non-synchronising literals up to 4096 only.
    lim.literal_plus = false;
    lim.max_literal = 100000;
    f.set_limits(lim);
    // Over 4096: read and thrown away, then BAD [TOOBIG] (RFC 7888 section 4),
    // also for a command other than APPEND and for a literal the line bound
    // would allow.
    CHECK(f.line("t6 APPEND INBOX {4097+}") == ImapFramer::Step::kSkipLiteral);
    CHECK(f.skipping());
    CHECK(f.skip(4097) == ImapFramer::Step::kError);
    CHECK(f.error_reply().rfind("BAD [TOOBIG]", 0) == 0);
    CHECK(f.tag() == "t6");
    CHECK(f.skip_rest());
    f.reset();
    CHECK(f.line("t6b LOGIN {5000+}") == ImapFramer::Step::kSkipLiteral);
    CHECK(f.skip(5000) == ImapFramer::Step::kError);
    CHECK(f.error_reply().rfind("BAD [TOOBIG]", 0) == 0);
    f.reset();
    CHECK(f.line("t7 APPEND INBOX {4096+}") == ImapFramer::Step::kNeedLiteral);
    CHECK(f.literal(std::string(4096, 'm')) == ImapFramer::Step::kNeedLine);
    CHECK(f.line("") == ImapFramer::Step::kComplete);
    f.reset();
    // Synchronising literals are not limited by LITERAL-.
    CHECK(f.line("t7b APPEND INBOX {50000}") == ImapFramer::Step::kContinue);
    f.reset();
    // Many lines of literals count against the line bound together.
    lim.literal_plus = true;
    f.set_limits(lim);
    CHECK(f.line("t8 X {40+}") == ImapFramer::Step::kNeedLiteral);
    CHECK(f.literal(std::string(40, 'a')) == ImapFramer::Step::kNeedLine);
    CHECK(f.line(" {45+}") == ImapFramer::Step::kSkipLiteral);  // read and thrown away
}

TEST_CASE("imap parser: fuzz corpus replay", "[corpus]") {
    std::size_t files = 0;
    for (const auto& path : mailroom::testing::corpus_files(MAILROOM_IMAP_COMMAND_CORPUS)) {
        auto expect = mailroom::testing::corpus_expects_valid(path);
        INFO(path.string());
        REQUIRE(expect);
        std::ifstream in(path, std::ios::binary);
        std::stringstream ss;
        ss << in.rdbuf();
        auto v = mailroom::fuzz::fuzz_imap_command(ss.str());
        CHECK(v.broken.empty());
        CHECK(v.valid == *expect);
        ++files;
        std::mt19937 rng(static_cast<unsigned>(files));
        for (int i = 0; i < 300; ++i) {
            auto m = mailroom::testing::mutate(ss.str(), rng, "{}()[]\"\\+~ \r\n0123456789*:,$");
            auto mv = mailroom::fuzz::fuzz_imap_command(m);
            INFO("mutation: " << m);
            CHECK(mv.broken.empty());
        }
    }
    CHECK(files >= 10);
}
