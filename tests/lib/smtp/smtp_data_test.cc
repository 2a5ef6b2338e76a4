// smtp_data_test.cc - line cutting, DATA's end and dot rules (no SMTP
// smuggling through bare LF or bare CR), and the Received: header.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "lib/smtp/smtp_data.h"

using namespace mailroom::smtp;

namespace {

struct Decoded {
    std::vector<std::string> lines;  // content lines, pieces joined
    bool ended = false;
    bool bare_lf = false;
    size_t rest = 0;  // bytes left after the end
};

Decoded decode(const std::string& input, bool reject_bare_lf = false, size_t limit = 2048) {
    Decoded d;
    DataDecoder dec(reject_bare_lf);
    std::string_view in = input;
    std::string current;
    LinePiece piece;
    while (take_line(in, limit, &piece)) {
        auto out = dec.feed(piece);
        in.remove_prefix(piece.consumed);
        if (out.kind == DataDecoder::Kind::kEnd) {
            d.ended = true;
            break;
        }
        if (out.kind == DataDecoder::Kind::kBareLf) {
            d.bare_lf = true;
            break;
        }
        current += out.text;
        if (!out.continued) {
            d.lines.push_back(current);
            current.clear();
        }
    }
    d.rest = in.size();
    return d;
}

}  // namespace

TEST_CASE("take_line cuts CRLF and bare LF lines and waits for more", "[unit]") {
    LinePiece p;
    REQUIRE(take_line("HELO x\r\nrest", 100, &p));
    CHECK(p.text == "HELO x");
    CHECK(p.end == LineEnd::kCrlf);
    CHECK(p.consumed == 8);
    REQUIRE(take_line("a\nb", 100, &p));
    CHECK(p.text == "a");
    CHECK(p.end == LineEnd::kBareLf);
    CHECK_FALSE(take_line("no end yet\r", 100, &p));
    REQUIRE(take_line("a\rb\r\n", 100, &p));
    CHECK(p.text == "a\rb");  // a bare CR is content
}

TEST_CASE("take_line hands out pieces of over-long lines without splitting CRLF", "[unit]") {
    LinePiece p;
    REQUIRE(take_line("abcdefghij", 4, &p));
    CHECK(p.text == "abcd");
    CHECK(p.end == LineEnd::kNone);
    REQUIRE(take_line("abc\r\n", 3, &p));
    CHECK(p.text == "abc");
    CHECK(p.end == LineEnd::kCrlf);
    REQUIRE(take_line("abc\rdefg", 4, &p));
    CHECK(p.text == "abc");
    CHECK(p.consumed == 3);
}

TEST_CASE("CommandLines keeps the head of an over-long line and skips the rest", "[unit]") {
    CommandLines c;
    std::string line;
    std::string buf = "NOOP 123456789\r\nRSET\r\n";
    std::string_view rest = buf;
    std::vector<std::string> got;
    LinePiece p;
    while (take_line(rest, 8, &p)) {
        if (c.feed(p, &line)) got.push_back(line);
        rest.remove_prefix(p.consumed);
    }
    CHECK(got == std::vector<std::string>{"NOOP 123", "RSET"});
    c.reset();
    REQUIRE(take_line("abcdefghij", 4, &p));
    CHECK_FALSE(c.feed(p, &line));
    c.reset();  // STARTTLS: the half-read line is forgotten
    REQUIRE(take_line("QUIT\r\n", 8, &p));
    REQUIRE(c.feed(p, &line));
    CHECK(line == "QUIT");
}

TEST_CASE("DATA ends only at CRLF dot CRLF", "[unit]") {
    auto d = decode("Subject: x\r\n\r\nbody\r\n.\r\nQUIT\r\n");
    CHECK(d.ended);
    CHECK(d.lines == std::vector<std::string>{"Subject: x", "", "body"});
    CHECK(d.rest == 6);
    auto first = decode(".\r\n");
    CHECK(first.ended);
    CHECK(first.lines.empty());
}

TEST_CASE("SMTP smuggling sequences do not end DATA", "[unit]") {
    for (const char* attempt : {"a\n.\nMAIL FROM:<x>\r\n", "a\r\n.\nMAIL FROM:<x>\r\n", "a\n.\r\nMAIL FROM:<x>\r\n",
                                "a\r.\rMAIL FROM:<x>\r\n", "a\r\n.\r.\r\nMAIL FROM:<x>\r\n"}) {
        INFO(attempt);
        auto d = decode(attempt);
        CHECK_FALSE(d.ended);
        CHECK_FALSE(d.bare_lf);
        CHECK(d.rest == 0);
    }
    // The smuggled command stays message content.
    auto d = decode("a\n.\nMAIL FROM:<x>\r\n.\r\n");
    CHECK(d.ended);
    CHECK(d.lines == std::vector<std::string>{"a", "", "MAIL FROM:<x>"});
}

TEST_CASE("a bare LF is refused when smtpd_forbid_bare_newline rejects it", "[unit]") {
    auto d = decode("ok\r\nbad\nmore\r\n.\r\n", true);
    CHECK(d.bare_lf);
    CHECK(d.lines == std::vector<std::string>{"ok"});
    auto fine = decode("ok\r\n.\r\n", true);
    CHECK(fine.ended);
}

TEST_CASE("dot-unstuffing removes one leading dot", "[unit]") {
    auto d = decode("..\r\n...x\r\n.y\r\n.\r\n");
    CHECK(d.ended);
    CHECK(d.lines == std::vector<std::string>{".", "..x", "y"});
}

TEST_CASE("dot-unstuffing applies only at the start of a line and not to continued pieces", "[unit]") {
    auto d = decode(".abcdef.gh\r\n.\r\n", false, 4);
    CHECK(d.ended);
    CHECK(d.lines == std::vector<std::string>{"abcdef.gh"});
}

TEST_CASE("parse_bare_newline knows Postfix's values", "[unit]") {
    BareNewline b;
    REQUIRE(parse_bare_newline("normalize", &b));
    CHECK(b == BareNewline::kNormalize);
    REQUIRE(parse_bare_newline("yes", &b));
    CHECK(b == BareNewline::kReject);
    REQUIRE(parse_bare_newline("reject", &b));
    CHECK(b == BareNewline::kReject);
    REQUIRE(parse_bare_newline("no", &b));
    CHECK(b == BareNewline::kNo);
    CHECK_FALSE(parse_bare_newline("maybe", &b));
}

TEST_CASE("Received header has Postfix's layout", "[unit]") {
    setenv("TZ", "UTC", 1);
    tzset();
    ReceivedInfo info;
    info.helo_name = "client.example";
    info.client_name = "unknown";
    info.client_addr = "127.0.0.1";
    info.myhostname = "mx.example.test";
    info.queue_id = "D786582E95";
    info.recipients = {"obama@whitehouse.com"};
    info.when = 1795499412;  // Tue, 24 Nov 2026 05:50:12 UTC
    auto lines = format_received(info);
    REQUIRE(lines.size() == 3);
    CHECK(lines[0] == "Received: from client.example (unknown [127.0.0.1])");
    CHECK(lines[1] == "\tby mx.example.test (mailroom) with ESMTP id D786582E95");
    CHECK(lines[2] == "\tfor <obama@whitehouse.com>; Tue, 24 Nov 2026 05:50:12 +0000 (UTC)");

    info.recipients.push_back("b@example.com");
    info.helo_name.clear();
    info.client_addr = "2001:db8::1";
    info.protocol = "SMTP";
    lines = format_received(info);
    REQUIRE(lines.size() == 3);
    CHECK(lines[0] == "Received: from unknown (unknown [IPv6:2001:db8::1])");
    CHECK(lines[1] == "\tby mx.example.test (mailroom) with SMTP id D786582E95;");
    CHECK(lines[2] == "\tTue, 24 Nov 2026 05:50:12 +0000 (UTC)");
}

TEST_CASE("Received: names ESMTPS/ESMTPSA (RFC 3848) and carries the TLS and AUTH clauses", "[received]") {
    setenv("TZ", "UTC", 1);
    tzset();
    ReceivedInfo info;
    info.helo_name = "client.example";
    info.client_name = "unknown";
    info.client_addr = "127.0.0.1";
    info.myhostname = "mx.example.test";
    info.queue_id = "D786582E95";
    info.recipients = {"bob@example.org"};
    info.when = 1795499412;
    info.tls = true;
    info.tls_clause = "(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits))";
    auto lines = format_received(info);
    REQUIRE(lines.size() == 5);
    CHECK(lines[1] == "\t(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits))");
    CHECK(lines[2] == "\t(No client certificate requested)");
    CHECK(lines[3] == "\tby mx.example.test (mailroom) with ESMTPS id D786582E95");
    info.cert_clause = "(Client did not present a certificate)";
    lines = format_received(info);
    CHECK(lines[2] == "\t(Client did not present a certificate)");
    info.cert_clause.clear();

    info.tls_clause.clear();
    info.authenticated = true;
    info.authenticated_sender = "hadoop";
    lines = format_received(info);
    REQUIRE(lines.size() == 4);
    CHECK(lines[1] == "\t(Authenticated sender: hadoop)");
    CHECK(lines[2] == "\tby mx.example.test (mailroom) with ESMTPSA id D786582E95");

    CHECK(received_protocol("ESMTP", false, false) == "ESMTP");
    CHECK(received_protocol("ESMTP", false, true) == "ESMTPA");
    CHECK(received_protocol("ESMTP", true, false) == "ESMTPS");
    CHECK(received_protocol("SMTP", true, true) == "SMTP");
}
