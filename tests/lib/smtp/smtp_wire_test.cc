// smtp_wire_test.cc - the content's wire form: CRLF, dot-stuffing and
// smtp_line_length_limit breaks, fed in arbitrary pieces (smtp_wire.h).
#include "lib/smtp/smtp_wire.h"

#include <catch2/catch.hpp>

using mailroom::smtp::WireEncoder;

namespace {

std::string encode(std::string_view content, std::size_t limit, std::size_t piece = 0) {
    WireEncoder w(limit);
    std::string out;
    if (piece == 0) piece = content.size() + 1;
    for (std::size_t i = 0; i < content.size(); i += piece) w.feed(content.substr(i, piece), &out);
    w.finish(&out);
    return out;
}

}  // namespace

TEST_CASE("wire: CRLF and dot-stuffing") {
    CHECK(encode("a\n.b\n..c\n\n.\n", 998) == "a\r\n..b\r\n...c\r\n\r\n..\r\n");
    CHECK(encode("no newline", 998) == "no newline\r\n");
    CHECK(encode("", 998).empty());
    CHECK(encode("x.\n", 998) == "x.\r\n");
}

TEST_CASE("wire: pieces cut anywhere give the same bytes") {
    std::string content = "Subject: t\n\n.dot\nline two\n" + std::string(50, 'x') + "\n.\n";
    std::string whole = encode(content, 20);
    for (std::size_t p = 1; p < 12; ++p) CHECK(encode(content, 20, p) == whole);
}

TEST_CASE("wire: lines over the limit are broken with CRLF SPACE") {
    CHECK(encode("abcdefghij\n", 10) == "abcdefghij\r\n");                // exactly the limit
    CHECK(encode("abcdefghijk\n", 10) == "abcdefghij\r\n k\r\n");
    // Each continuation holds the space and limit - 1 bytes.
    CHECK(encode(std::string(28, 'a') + "\n", 10) ==
          std::string(10, 'a') + "\r\n " + std::string(9, 'a') + "\r\n " + std::string(9, 'a') + "\r\n");
    // The doubled dot does not count.
    CHECK(encode(".123456789\n", 10) == "..123456789\r\n");
    CHECK(encode("Subject: " + std::string(995, 's') + "\n", 998) ==
          "Subject: " + std::string(989, 's') + "\r\n " + std::string(6, 's') + "\r\n");
}

TEST_CASE("wire: limit 0 sends lines as they are") {
    std::string long_line(5000, 'z');
    CHECK(encode(long_line + "\n", 0) == long_line + "\r\n");
}

TEST_CASE("wire: a last line broken at the limit without a newline") {
    CHECK(encode("abcdefghij", 10) == "abcdefghij\r\n");
}
