// smtp_client_text_test.cc - the client side's text rules: reply lines,
// EHLO keywords (smtp_client_text.h).
#include "lib/smtp/smtp_client_text.h"

#include <catch2/catch.hpp>

using namespace mailroom::smtp;

namespace {

// Feeds the lines of one reply; the last must complete it.
Reply read_reply(const std::vector<std::string>& lines) {
    ReplyReader r;
    for (std::size_t i = 0; i < lines.size(); ++i) {
        auto done = r.feed(lines[i]);
        REQUIRE(done.ok());
        CHECK(*done == (i + 1 == lines.size()));
    }
    return r.take();
}

}  // namespace

TEST_CASE("ReplyReader reads what the reply table writes", "[unit]") {
    for (const Reply& sent : {replies::ok(), replies::need_rcpt(), replies::greeting("mx.example.com ESMTP"),
                              replies::queued("D786582E95"), replies::relay_denied("<a@b>", false)}) {
        std::string wire = sent.format();
        std::vector<std::string> lines;
        for (std::size_t at = 0; at < wire.size();) {
            std::size_t end = wire.find("\r\n", at);
            REQUIRE(end != std::string::npos);
            lines.push_back(wire.substr(at, end - at));
            at = end + 2;
        }
        Reply got = read_reply(lines);
        CHECK(got.code == sent.code);
        CHECK(got.dsn == sent.dsn);
        CHECK(got.lines == sent.lines);
    }
}

TEST_CASE("ReplyReader joins multi-line replies and keeps text without a status code", "[unit]") {
    Reply r = read_reply({"250-mx.example.com", "250-PIPELINING", "250 SIZE 10240000"});
    CHECK(r.code == 250);
    CHECK(r.dsn.empty());
    CHECK(r.lines == std::vector<std::string>{"mx.example.com", "PIPELINING", "SIZE 10240000"});
    Reply bare = read_reply({"354"});
    CHECK(bare.code == 354);
    CHECK(bare.lines == std::vector<std::string>{""});
    // A status of the wrong class is text.
    Reply odd = read_reply({"550 2.0.0 odd"});
    CHECK(odd.dsn.empty());
    CHECK(odd.lines == std::vector<std::string>{"2.0.0 odd"});
}

TEST_CASE("ReplyReader refuses malformed lines", "[unit]") {
    for (const char* bad : {"", "25", "abc", "250x", "199 too low", "600 too high", "2a0 x"}) {
        ReplyReader r;
        CAPTURE(bad);
        CHECK_FALSE(r.feed(bad).ok());
    }
    ReplyReader r;
    REQUIRE(r.feed("250-first").ok());
    auto changed = r.feed("550 second");
    REQUIRE_FALSE(changed.ok());
    CHECK(changed.error().message == "malformed SMTP reply (code changes inside a reply): 550 second");
    ReplyReader many;
    for (std::size_t i = 0; i < kMaxReplyLines; ++i) REQUIRE(many.feed("250-x").ok());
    CHECK_FALSE(many.feed("250 x").ok());
}

TEST_CASE("parse_ehlo_keywords reads what ehlo() announces", "[unit]") {
    EhloOptions o;
    o.myhostname = "mx.example.com";
    o.message_size_limit = 10240000;
    Reply sent = replies::ehlo(o);
    auto keywords = parse_ehlo_keywords(sent.lines);
    REQUIRE(keywords.size() == sent.lines.size() - 1);
    const EhloKeyword* size = find_ehlo_keyword(keywords, "size");
    REQUIRE(size != nullptr);
    CHECK(size->params == std::vector<std::string>{"10240000"});
    CHECK(find_ehlo_keyword(keywords, "PIPELINING") != nullptr);
    CHECK(find_ehlo_keyword(keywords, "XCLIENT") == nullptr);
    auto auth = parse_ehlo_keywords({"mx", "auth plain LOGIN", "AUTH=PLAIN"});
    REQUIRE(auth.size() == 2);
    CHECK(auth[0].name == "AUTH");
    CHECK(auth[0].params == std::vector<std::string>{"plain", "LOGIN"});
    CHECK(auth[1].name == "AUTH");
    CHECK(auth[1].params == std::vector<std::string>{"PLAIN"});
}
