// section_test.cc - BODY[section]<partial> and BINARY[section] extraction,
// section-spec parsing and echoing.
#include "lib/imap/section.h"

#include <catch2/catch.hpp>
#include <string>

using namespace mailroom::imap;

namespace {

const char* const kMessage =
    "From: a@b\n"
    "Subject: test\n"
    "X-Long: one\n"
    " two\n"
    "Content-Type: multipart/mixed; boundary=XX\n"
    "\n"
    "preamble\n"
    "--XX\n"
    "Content-Type: text/plain; charset=iso-8859-1\n"
    "Content-Transfer-Encoding: quoted-printable\n"
    "\n"
    "caf=E9 soft=\n"
    "break\n"
    "--XX\n"
    "Content-Type: message/rfc822\n"
    "\n"
    "Subject: inner\n"
    "Content-Type: multipart/alternative; boundary=YY\n"
    "\n"
    "--YY\n"
    "\n"
    "alt one\n"
    "--YY\n"
    "Content-Type: application/octet-stream\n"
    "Content-Transfer-Encoding: base64\n"
    "\n"
    "AAEC/w==\n"
    "--YY--\n"
    "--XX\n"
    "Content-Type: application/x-thing\n"
    "Content-Transfer-Encoding: x-uuencode\n"
    "\n"
    "begin 644\n"
    "--XX--\n";

std::string get(std::string_view spec) {
    auto s = parse_section(spec);
    REQUIRE(s);
    return extract_section(kMessage, *s);
}

}  // namespace

TEST_CASE("section: parse and echo") {
    CHECK(parse_section("")->to_string() == "");
    CHECK(parse_section("header")->to_string() == "HEADER");
    CHECK(parse_section("1.2.3")->to_string() == "1.2.3");
    CHECK(parse_section("1.mime")->to_string() == "1.MIME");
    CHECK(parse_section("2.TEXT")->to_string() == "2.TEXT");
    auto f = parse_section("HEADER.FIELDS (From \"x-y\" Subject)");
    REQUIRE(f);
    CHECK(f->text == Section::Text::kHeaderFields);
    CHECK(f->to_string() == "HEADER.FIELDS (FROM X-Y SUBJECT)");
    CHECK(parse_section("1.HEADER.FIELDS.NOT (A)")->to_string() == "1.HEADER.FIELDS.NOT (A)");
    for (const char* bad : {"0", "1.", ".1", "1..2", "MIME", "HEADER.FIELDS", "HEADER.FIELDS ()", "HEADER.FIELDS (A",
                            "TEXT.1", "1.BOGUS", "HEADER.FIELDS  (A)", "HEADER.FIELDS (A )", "01", "1.0"})
        CHECK_FALSE(parse_section(bad));
}

TEST_CASE("section: partial") {
    auto p = parse_partial("<2.5>");
    REQUIRE(p);
    CHECK(apply_partial("0123456789", *p) == "23456");
    CHECK(apply_partial("0123", *p) == "23");
    CHECK(apply_partial("01", *p) == "");
    CHECK_FALSE(parse_partial("<1.0>"));
    CHECK_FALSE(parse_partial("<1>"));
    CHECK_FALSE(parse_partial("1.2"));
    CHECK_FALSE(parse_partial("<a.2>"));
}

TEST_CASE("section: whole message, header, text in CRLF") {
    std::string all = get("");
    CHECK(all.size() == to_crlf(kMessage).size());
    CHECK(all == to_crlf(kMessage));
    CHECK(get("HEADER") ==
          "From: a@b\r\nSubject: test\r\nX-Long: one\r\n two\r\nContent-Type: multipart/mixed; boundary=XX\r\n\r\n");
    CHECK(get("TEXT").starts_with("preamble\r\n--XX\r\n"));
    CHECK(get("HEADER") + get("TEXT") == all);
    // Already CRLF input comes out unchanged.
    auto s = parse_section("");
    CHECK(extract_section(all, *s) == all);
}

TEST_CASE("section: HEADER.FIELDS and .NOT keep continuation lines and end with a blank line") {
    CHECK(get("HEADER.FIELDS (x-long FROM)") == "From: a@b\r\nX-Long: one\r\n two\r\n\r\n");
    CHECK(get("HEADER.FIELDS (NOPE)") == "\r\n");
    CHECK(get("HEADER.FIELDS.NOT (X-LONG CONTENT-TYPE)") == "From: a@b\r\nSubject: test\r\n\r\n");
    CHECK(get("2.HEADER.FIELDS (SUBJECT)") == "Subject: inner\r\n\r\n");
}

TEST_CASE("section: part numbers, MIME headers, attached messages") {
    CHECK(get("1") == "caf=E9 soft=\r\nbreak");
    CHECK(get("1.MIME") ==
          "Content-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n");
    CHECK(get("2").starts_with("Subject: inner\r\n"));
    CHECK(get("2.HEADER") == "Subject: inner\r\nContent-Type: multipart/alternative; boundary=YY\r\n\r\n");
    CHECK(get("2.TEXT").starts_with("--YY\r\n"));
    CHECK(get("2.1") == "alt one");
    CHECK(get("2.2") == "AAEC/w==");
    CHECK(get("2.2.MIME") == "Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n");
    CHECK(get("3") == "begin 644");
    // A leaf of a multipart is its own part 1 (as Dovecot answers).
    CHECK(get("1.1") == get("1"));
    CHECK(get("1.1.MIME") == get("1.MIME"));
    // Parts that do not exist, and HEADER of a part that is no message.
    CHECK(get("4") == "");
    CHECK(get("2.3") == "");
    CHECK(get("1.HEADER") == "");
}

TEST_CASE("section: a single-part message is its own part 1") {
    std::string m = "Subject: x\n\nline\n";
    CHECK(extract_section(m, *parse_section("1")) == "line\r\n");
    CHECK(extract_section(m, *parse_section("TEXT")) == "line\r\n");
    CHECK(extract_section(m, *parse_section("2")) == "");
    CHECK(extract_section(m, *parse_section("1.1")) == "");
}

TEST_CASE("section: HEADER.FIELDS.NOT keeps lines that are no field, and the header's own end") {
    std::string m = "X-Junk\nSubject: a\nFrom: b\n\nbody\n";
    CHECK(extract_section(m, *parse_section("HEADER.FIELDS.NOT (FROM)")) == "X-Junk\r\nSubject: a\r\n\r\n");
    CHECK(extract_section(m, *parse_section("HEADER.FIELDS (X-JUNK)")) == "\r\n");
    std::string no_end = "Subject: x\nFrom: a@b\n";
    CHECK(extract_section(no_end, *parse_section("HEADER.FIELDS.NOT (FROM)")) == "Subject: x\r\n");
    CHECK(extract_section(no_end, *parse_section("HEADER.FIELDS (FROM)")) == "From: a@b\r\n\r\n");
    CHECK(extract_section("", *parse_section("HEADER.FIELDS.NOT (FROM)")) == "");
}

TEST_CASE("binary: decoded content, unknown encodings reported") {
    auto bin = [](std::string_view spec) { return extract_binary(kMessage, *parse_section(spec)); };
    BinaryResult qp = bin("1");
    CHECK(qp.status == BinaryStatus::kOk);
    CHECK(qp.data == "caf\xe9 softbreak");
    BinaryResult b64 = bin("2.2");
    CHECK(b64.status == BinaryStatus::kOk);
    CHECK(b64.data == std::string("\x00\x01\x02\xff", 4));
    CHECK(bin("2.1").data == "alt one");
    BinaryResult unknown = bin("3");
    CHECK(unknown.status == BinaryStatus::kUnknownCte);
    CHECK(unknown.encoding == "x-uuencode");
    CHECK(bin("").data == to_crlf(kMessage));
    CHECK(bin("2.HEADER").status == BinaryStatus::kBadSection);
}

TEST_CASE("fetch attributes naming a section") {
    auto f = parse_fetch_section("body.peek[HEADER.FIELDS (from To)]<0.100>");
    REQUIRE(f);
    CHECK(f->kind == FetchSection::Kind::kBody);
    CHECK(f->peek);
    CHECK(f->section.text == Section::Text::kHeaderFields);
    REQUIRE(f->partial);
    CHECK(f->partial->count == 100);
    CHECK(f->reply_name() == "BODY[HEADER.FIELDS (FROM TO)]<0>");
    auto b = parse_fetch_section("BINARY[1.2]");
    REQUIRE(b);
    CHECK(b->kind == FetchSection::Kind::kBinary);
    CHECK_FALSE(b->peek);
    CHECK(b->reply_name() == "BINARY[1.2]");
    auto s = parse_fetch_section("BINARY.SIZE[3]");
    REQUIRE(s);
    CHECK(s->kind == FetchSection::Kind::kBinarySize);
    CHECK(s->reply_name() == "BINARY.SIZE[3]");
    CHECK(parse_fetch_section("BODY[]")->reply_name() == "BODY[]");
    for (const char* bad : {"BODY", "BODY[", "BODY[1", "BODYX[1]", "BINARY[HEADER]", "BINARY.SIZE[1]<0.5>",
                            "BODY[1]<0>", "BODY[1]junk", "BINARY[1.MIME]", "RFC822[]"})
        CHECK_FALSE(parse_fetch_section(bad));
}
