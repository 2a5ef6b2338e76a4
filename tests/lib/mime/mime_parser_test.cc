// mime_parser_test.cc - the streaming MIME structure parser (mime_parser.h):
// header classes, boundaries, nesting, limits, truncated input, CRLF and LF.
#include <algorithm>
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "lib/mime/mime_parser.h"

using namespace mailroom;
using mime::HeaderClass;

namespace {

// Runs a message through the parser; records "P:hdr", "M:hdr", "N:hdr"
// (header classes), "END:P" etc. and "B:line" (body lines).
struct Trace {
    std::vector<std::string> events;
    unsigned errors = 0;
    int depth = 0;
};

const char* cls(HeaderClass c) {
    switch (c) {
        case HeaderClass::kPrimary: return "P";
        case HeaderClass::kMultipart: return "M";
        case HeaderClass::kNested: return "N";
    }
    return "?";
}

Trace run(const std::string& message, mime::MimeLimits limits = {}, std::size_t piece = 0) {
    Trace t;
    std::string partial;
    mime::MimeCallbacks cb;
    cb.header = [&](HeaderClass c, std::string h) { t.events.push_back(std::string(cls(c)) + ":" + h); };
    cb.header_end = [&](HeaderClass c) { t.events.push_back(std::string("END:") + cls(c)); };
    cb.body = [&](std::string_view p, bool end) {
        partial.append(p);
        if (end) {
            t.events.push_back("B:" + partial);
            partial.clear();
        }
    };
    mime::MimeParser parser(limits, cb);
    std::size_t start = 0;
    while (start < message.size()) {
        std::size_t nl = message.find('\n', start);
        std::string_view line = std::string_view(message).substr(start, nl == std::string::npos ? std::string::npos : nl - start);
        if (piece > 0) {
            // Long lines arrive in pieces.
            while (line.size() > piece) {
                parser.feed(line.substr(0, piece), false);
                line.remove_prefix(piece);
            }
        }
        parser.feed(line, true);
        if (nl == std::string::npos) break;
        start = nl + 1;
    }
    parser.finish();
    t.errors = parser.errors();
    t.depth = parser.depth();
    return t;
}

using V = std::vector<std::string>;

const std::string kNested =
    "From: a@b\n"
    "Subject: outer\n"
    "Content-Type: multipart/mixed; boundary=\"XX\"\n"
    "\n"
    "preamble\n"
    "--XX\n"
    "Content-Type: text/plain\n"
    "X-Part: 1\n"
    "\n"
    "part one\n"
    "--XX\n"
    "Content-Type: message/rfc822\n"
    "\n"
    "Subject: inner\n"
    "Content-Type: multipart/alternative;\n"
    "\tboundary=YY\n"
    "\n"
    "--YY\n"
    "\n"
    "inner text\n"
    "--YY--\n"
    "inner epilogue\n"
    "--XX--\n"
    "epilogue\n";

}  // namespace

TEST_CASE("mime: primary, multipart and nested headers are told apart", "[unit]") {
    auto t = run(kNested);
    CHECK(t.events == V{"P:From: a@b", "P:Subject: outer", "P:Content-Type: multipart/mixed; boundary=\"XX\"",
                        "END:P", "B:", "B:preamble", "B:--XX", "M:Content-Type: text/plain", "M:X-Part: 1",
                        "END:M", "B:", "B:part one", "B:--XX", "M:Content-Type: message/rfc822", "END:M", "B:",
                        "N:Subject: inner", "N:Content-Type: multipart/alternative;\n\tboundary=YY", "END:N", "B:",
                        "B:--YY", "END:M", "B:", "B:inner text", "B:--YY--", "B:inner epilogue", "B:--XX--",
                        "B:epilogue"});
    CHECK(t.errors == 0);
    CHECK(t.depth == 0);
}

TEST_CASE("mime: CRLF input gives the same structure, lines unchanged", "[unit]") {
    std::string crlf;
    for (char c : kNested) {
        if (c == '\n') crlf += '\r';
        crlf += c;
    }
    auto lf = run(kNested);
    auto t = run(crlf);
    REQUIRE(t.events.size() == lf.events.size());
    for (std::size_t i = 0; i < t.events.size(); ++i) {
        std::string want = lf.events[i];
        if (want.rfind("END:", 0) != 0) {
            // Every line keeps its CR, continuation lines included.
            std::string with;
            for (char c : want) {
                if (c == '\n') with += '\r';
                with += c;
            }
            want = with + "\r";
        }
        CHECK(t.events[i] == want);
    }
}

TEST_CASE("mime: long lines in pieces, and a boundary that is only a prefix", "[unit]") {
    std::string body(300, 'x');
    auto t = run("Content-Type: multipart/mixed; boundary=b\n\n--b\n\n" + body + "\n--bb\n--b--\n", {}, 64);
    CHECK(t.events == V{"P:Content-Type: multipart/mixed; boundary=b", "END:P", "B:", "B:--b", "END:M", "B:",
                        "B:" + body, "B:--bb", "END:M", "B:--b--"});
    // "--bb" starts with "--b": as in Postfix the boundary is a prefix match,
    // so it opens a (headerless) part; "--b--" then closes the multipart.
    CHECK(t.depth == 0);
}

TEST_CASE("mime: an outer boundary closes the inner levels", "[unit]") {
    auto t = run(
        "Content-Type: multipart/mixed; boundary=out\n\n"
        "--out\nContent-Type: multipart/alternative; boundary=in\n\n"
        "--in\nX-A: 1\n\nbody\n"
        "--out\nX-B: 2\n\nafter\n--out--\n");
    CHECK(t.events == V{"P:Content-Type: multipart/mixed; boundary=out", "END:P", "B:", "B:--out",
                        "M:Content-Type: multipart/alternative; boundary=in", "END:M", "B:", "B:--in", "M:X-A: 1",
                        "END:M", "B:", "B:body", "B:--out", "M:X-B: 2", "END:M", "B:", "B:after", "B:--out--"});
    CHECK(t.depth == 0);
}

TEST_CASE("mime: a message/rfc822 attachment in the primary header, and digests", "[unit]") {
    auto t = run("Content-Type: message/rfc822\n\nSubject: attached\n\nbody\n");
    CHECK(t.events == V{"P:Content-Type: message/rfc822", "END:P", "B:", "N:Subject: attached", "END:N", "B:",
                        "B:body"});
    t = run("Content-Type: multipart/digest; boundary=d\n\n--d\n\nSubject: one\n\nx\n--d--\n");
    CHECK(t.events == V{"P:Content-Type: multipart/digest; boundary=d", "END:P", "B:", "B:--d", "END:M", "B:",
                        "N:Subject: one", "END:N", "B:", "B:x", "B:--d--"});
    // A base64-encoded attachment is not looked into.
    t = run("Content-Type: message/rfc822\nContent-Transfer-Encoding: base64\n\nSubject: no\n");
    CHECK(t.events.back() == "B:Subject: no");
}

TEST_CASE("mime: mime_nesting_limit stops the structure", "[unit]") {
    std::string m = "Content-Type: multipart/mixed; boundary=l0\n\n";
    for (int i = 1; i <= 4; ++i)
        m += "--l" + std::to_string(i - 1) + "\nContent-Type: multipart/mixed; boundary=l" + std::to_string(i) + "\n\n";
    m += "--l4\nX-Deep: yes\n\ntext\n";
    mime::MimeLimits limits;
    limits.nesting_limit = 3;
    auto t = run(m, limits);
    CHECK((t.errors & mime::kErrNesting) != 0);
    CHECK(t.depth == 3);
    CHECK(std::find(t.events.begin(), t.events.end(), "B:X-Deep: yes") != t.events.end());
    limits.nesting_limit = 10;
    t = run(m, limits);
    CHECK(t.errors == 0);
    CHECK(std::find(t.events.begin(), t.events.end(), "M:X-Deep: yes") != t.events.end());
}

TEST_CASE("mime: boundary length limit, header size limit, disabled processing", "[unit]") {
    mime::MimeLimits limits;
    limits.boundary_length_limit = 4;
    auto t = run("Content-Type: multipart/mixed; boundary=abcdefgh\n\n--abcdZZZ\nX-P: 1\n\nx\n", limits);
    CHECK(std::find(t.events.begin(), t.events.end(), "M:X-P: 1") != t.events.end());

    limits = {};
    limits.header_size_limit = 20;
    t = run("Subject: 0123456789012345678901234567890\n continued\nTo: x\n\nbody\n", limits);
    CHECK(t.events == V{"P:Subject: 01234567890", "P:To: x", "END:P", "B:", "B:body"});
    CHECK((t.errors & mime::kErrTruncHeader) != 0);

    limits = {};
    limits.disabled = true;
    t = run(kNested, limits);
    CHECK(std::count_if(t.events.begin(), t.events.end(), [](const std::string& e) { return e[0] == 'M' || e[0] == 'N'; }) == 0);
    CHECK(t.events[3] == "END:P");
}

TEST_CASE("mime: truncated input and a header block without an empty line", "[unit]") {
    // The input ends inside the primary header: it is reported and ended.
    auto t = run("Subject: cut\nX-Folded: a\n b");
    CHECK(t.events == V{"P:Subject: cut", "P:X-Folded: a\n b", "END:P"});
    // A body line right after the header (no empty line) ends the block.
    t = run("Subject: s\nnot a header\nmore\n");
    CHECK(t.events == V{"P:Subject: s", "END:P", "B:not a header", "B:more"});
    // Input that ends inside a part's header.
    t = run("Content-Type: multipart/mixed; boundary=q\n\n--q\nX-H: v");
    CHECK(t.events.back() == "END:M");
    CHECK(t.events[t.events.size() - 2] == "M:X-H: v");
    // A multipart without a closing boundary, and one without any boundary parameter.
    t = run("Content-Type: multipart/mixed\n\n--x\nX-H: v\n");
    CHECK(t.events.back() == "B:X-H: v");
}

TEST_CASE("mime: Content-Type values", "[unit]") {
    auto ct = mime::parse_content_type(" Multipart/Mixed (comment) ; charset=us-ascii;\n\tBoundary=\"a \\\"b\\\" c\"");
    CHECK(ct.type == "multipart");
    CHECK(ct.subtype == "mixed");
    CHECK(ct.boundary == "a \"b\" c");
    ct = mime::parse_content_type("text/plain; boundary=tok; boundary=second");
    CHECK(ct.boundary == "tok");
    ct = mime::parse_content_type("");
    CHECK(ct.type.empty());
    CHECK(mime::header_name("Subject: x") == "Subject");
    CHECK(mime::header_name("Subject : x") == "Subject");
    CHECK(mime::header_name(" Subject: x").empty());
    CHECK(mime::header_name("no colon").empty());
}
