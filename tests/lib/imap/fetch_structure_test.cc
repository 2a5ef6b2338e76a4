// fetch_structure_test.cc - ENVELOPE, BODY and BODYSTRUCTURE over tricky MIME:
// nesting, attached messages, broken boundaries, groups, quoting, literals,
// CRLF and LF files, empty bodies. The expected strings are what Debian's
// Dovecot 2.3 answers for the same messages.
#include "lib/imap/fetch_structure.h"

#include <catch2/catch.hpp>
#include <string>

#include "lib/imap/message_part.h"

using namespace mailroom::imap;

namespace {

// The same message with CRLF line ends.
std::string crlf(std::string_view lf) { return to_crlf(lf); }

const char* const kNested =
    "From: \"Joe \\\"Q\\\" Public\" <joe@example.com>, undisclosed: ;\n"
    "To: A Group: a@b.c, Bob <bob@x.y>;, plain@host\n"
    "Subject: =?ISO-8859-1?Q?Caf=E9?= =?utf-8?B?w6k=?=\n"
    "Date: Mon, 7 Feb 1994 21:52:25 -0800 (PST)\n"
    "Message-ID: <abc@def>\n"
    "Content-Type: multipart/mixed; boundary=\"XX\"\n"
    "\n"
    "preamble\n"
    "--XX\n"
    "Content-Type: text/plain; charset=utf-8\n"
    "\n"
    "hello\n"
    "world\n"
    "--XX\n"
    "Content-Type: message/rfc822\n"
    "\n"
    "From: inner@x\n"
    "Subject: inner\n"
    "\n"
    "inner body\n"
    "--XX\n"
    "Content-Type: multipart/alternative; boundary=YY\n"
    "\n"
    "--YY\n"
    "\n"
    "alt1\n"
    "--YY\n"
    "Content-Type: text/html\n"
    "Content-Transfer-Encoding: base64\n"
    "\n"
    "PGI+aGk8L2I+\n"
    "--XX--\n"
    "epilogue\n";

const char* const kNestedStructure =
    "((\"text\" \"plain\" (\"charset\" \"utf-8\") NIL NIL \"7bit\" 12 1 NIL NIL NIL NIL)"
    "(\"message\" \"rfc822\" NIL NIL NIL \"7bit\" 43 "
    "(NIL \"inner\" ((NIL NIL \"inner\" \"x\")) ((NIL NIL \"inner\" \"x\")) ((NIL NIL \"inner\" \"x\")) "
    "NIL NIL NIL NIL NIL) "
    "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 10 0 NIL NIL NIL NIL) 3 NIL NIL NIL NIL)"
    "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 4 0 NIL NIL NIL NIL)"
    "(\"text\" \"html\" (\"charset\" \"us-ascii\") NIL NIL \"base64\" 12 0 NIL NIL NIL NIL) "
    "\"alternative\" (\"boundary\" \"YY\") NIL NIL NIL) "
    "\"mixed\" (\"boundary\" \"XX\") NIL NIL NIL)";

}  // namespace

TEST_CASE("bodystructure: nested multiparts and an attached message, LF and CRLF alike") {
    CHECK(imap_bodystructure(kNested) == kNestedStructure);
    CHECK(imap_bodystructure(crlf(kNested)) == kNestedStructure);
    CHECK(imap_bodystructure(kNested, false) ==
          "((\"text\" \"plain\" (\"charset\" \"utf-8\") NIL NIL \"7bit\" 12 1)"
          "(\"message\" \"rfc822\" NIL NIL NIL \"7bit\" 43 "
          "(NIL \"inner\" ((NIL NIL \"inner\" \"x\")) ((NIL NIL \"inner\" \"x\")) ((NIL NIL \"inner\" \"x\")) "
          "NIL NIL NIL NIL NIL) "
          "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 10 0) 3)"
          "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 4 0)"
          "(\"text\" \"html\" (\"charset\" \"us-ascii\") NIL NIL \"base64\" 12 0) \"alternative\") \"mixed\")");
}

TEST_CASE("envelope: groups, quoting, defaults for sender and reply-to, encoded words kept") {
    // A display name with '"' goes out as a literal, as Dovecot writes it.
    const std::string from =
        "(({14}\r\nJoe \"Q\" Public NIL \"joe\" \"example.com\")(NIL NIL \"undisclosed\" NIL)(NIL NIL NIL NIL))";
    CHECK(imap_envelope(kNested) ==
          "(\"Mon, 7 Feb 1994 21:52:25 -0800 (PST)\" \"=?ISO-8859-1?Q?Caf=E9?= =?utf-8?B?w6k=?=\" " + from + " " +
              from + " " + from +
              " ((NIL NIL \"A Group\" NIL)(NIL NIL \"a\" \"b.c\")(\"Bob\" NIL \"bob\" \"x.y\")(NIL NIL NIL NIL)"
              "(NIL NIL \"plain\" \"host\")) NIL NIL NIL \"<abc@def>\")");
    CHECK(imap_envelope(crlf(kNested)) == imap_envelope(kNested));
}

TEST_CASE("envelope: 8-bit values and names with backslashes go out as literals") {
    std::string m = "Subject: caf\xc3\xa9\nFrom: \"a\\\\b\" <x@y>\nIn-Reply-To: <p@q>\nSender: s@t\nReply-To: \n\nbody\n";
    CHECK(imap_envelope(m) ==
          "(NIL {5}\r\ncaf\xc3\xa9 (({3}\r\na\\b NIL \"x\" \"y\")) ((NIL NIL \"s\" \"t\")) (({3}\r\na\\b NIL \"x\" \"y\")) "
          "NIL NIL NIL \"<p@q>\" NIL)");
}

TEST_CASE("envelope: comments, route addresses, missing domain, empty header") {
    auto list = parse_address_list("user@host (Real Name), <@r1,@r2:x@y>, nodomain, \"q\\\"s\" <>");
    REQUIRE(list.size() == 4);
    CHECK(*list[0].name == "Real Name");
    CHECK(*list[0].mailbox == "user");
    CHECK(*list[1].adl == "@r1,@r2");
    CHECK(*list[1].mailbox == "x");
    CHECK(*list[1].host == "y");
    CHECK(*list[2].mailbox == "nodomain");
    CHECK(*list[2].host == "MISSING_DOMAIN");
    CHECK(*list[3].name == "q\"s");
    CHECK(*list[3].mailbox == "MISSING_MAILBOX");
    CHECK(parse_address_list("").empty());
    CHECK(parse_address_list("  ,, ").empty());
    CHECK(imap_envelope("To:\n\n") == "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)");
}

TEST_CASE("bodystructure: parameters, RFC 2231 continuations, disposition, language, location, md5") {
    // Types, parameter names and encodings as written; text without a
    // charset gets one appended; languages always a list.
    std::string m =
        "Content-Type: multipart/mixed; boundary=\"=_b\"\n"
        "\n"
        "--=_b\n"
        "Content-Type: application/pdf; name*0=\"long\"; name*1=\"name.pdf\"\n"
        "Content-Disposition: attachment;\n filename*=utf-8''%E2%82%AC.pdf\n"
        "Content-Language: en, de\n"
        "Content-Location: http://x/\n y.pdf\n"
        "Content-ID: <id1>\n"
        "Content-Description: a \"quoted\" desc\n"
        "Content-MD5: abc=\n"
        "Content-Transfer-Encoding: BASE64\n"
        "\n"
        "AAEC\n"
        "--=_b\n"
        "Content-Type: text/plain; format=flowed\n"
        "Content-Language: fr\n"
        "\n"
        "no final boundary\n";
    CHECK(imap_bodystructure(m) ==
          "((\"application\" \"pdf\" (\"name\" \"longname.pdf\") \"<id1>\" \"a \\\"quoted\\\" desc\" \"BASE64\" 4 "
          "\"abc=\" (\"attachment\" (\"filename*\" \"utf-8''%E2%82%AC.pdf\")) (\"en\" \"de\") \"http://x/ y.pdf\")"
          "(\"text\" \"plain\" (\"format\" \"flowed\" \"charset\" \"us-ascii\") NIL NIL \"7bit\" 19 1 NIL NIL (\"fr\") NIL) "
          "\"mixed\" (\"boundary\" \"=_b\") NIL NIL NIL)");
}

TEST_CASE("bodystructure: a multipart without any boundary line has one empty part") {
    std::string m = "Content-Type: multipart/mixed; boundary=zz\n\nno boundaries here\n--zzz\n";
    CHECK(imap_bodystructure(m) ==
          "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0 NIL NIL NIL NIL) "
          "\"mixed\" (\"boundary\" \"zz\") NIL NIL NIL)");
}

TEST_CASE("bodystructure: a multipart without a boundary parameter has one empty part") {
    std::string m = "Content-Type: multipart/mixed\n\n--zz\n\nx\n";
    CHECK(imap_bodystructure(m) ==
          "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0 NIL NIL NIL NIL) \"mixed\" NIL NIL NIL NIL)");
}

TEST_CASE("bodystructure: an outer boundary ends an inner multipart that never closed") {
    std::string m =
        "Content-Type: multipart/mixed; boundary=outer\n\n"
        "--outer\nContent-Type: multipart/alternative; boundary=inner\n\n"
        "--inner\n\none\n"
        "--outer\n\ntwo\n--outer--\n";
    CHECK(imap_bodystructure(m, false) ==
          "(((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 3 0) \"alternative\")"
          "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 3 0) \"mixed\")");
}

TEST_CASE("bodystructure: a part ending in a closing delimiter keeps the line break before the next one") {
    // The attached message ends with "--c--" and its line break, as Dovecot counts it.
    std::string m =
        "Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: message/rfc822\n\n"
        "From: a@b\nContent-Type: multipart/alternative; boundary=c\n\n--c\n"
        "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\ncaf\xc3\xa9\n"
        "--c\nContent-Type: text/html\n\n<p>x</p>\n--c--\n"
        "--b\nContent-Type: image/gif; name=\"a b.gif\"\nContent-Disposition: inline; filename=\"a b.gif\"; size=42\n\n"
        "GIF\n--b--\n";
    CHECK(imap_bodystructure(m) ==
          "((\"message\" \"rfc822\" NIL NIL NIL \"7bit\" 199 (NIL NIL ((NIL NIL \"a\" \"b\")) ((NIL NIL \"a\" \"b\")) "
          "((NIL NIL \"a\" \"b\")) NIL NIL NIL NIL NIL) ((\"text\" \"plain\" (\"charset\" \"utf-8\") NIL NIL \"8bit\" 5 0 "
          "NIL NIL NIL NIL)(\"text\" \"html\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 8 0 NIL NIL NIL NIL) "
          "\"alternative\" (\"boundary\" \"c\") NIL NIL NIL) 13 NIL NIL NIL NIL)(\"image\" \"gif\" (\"name\" \"a b.gif\") "
          "NIL NIL \"7bit\" 3 NIL (\"inline\" (\"filename\" \"a b.gif\" \"size\" \"42\")) NIL NIL) \"mixed\" "
          "(\"boundary\" \"b\") NIL NIL NIL)");
}

TEST_CASE("bodystructure: empty message, header only, empty body") {
    CHECK(imap_bodystructure("") == "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0 NIL NIL NIL NIL)");
    CHECK(imap_bodystructure("Subject: x\n") ==
          "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0 NIL NIL NIL NIL)");
    CHECK(imap_bodystructure("Subject: x\r\n\r\n", false) ==
          "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0)");
    CHECK(imap_envelope("") == "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)");
}

TEST_CASE("bodystructure: sizes count bare LF as CRLF, lines count line ends") {
    std::string m = "Content-Type: TEXT/Plain; CHARSET=\"ISO-8859-1\"\n\nab\ncd";
    CHECK(imap_bodystructure(m, false) == "(\"TEXT\" \"Plain\" (\"CHARSET\" \"ISO-8859-1\") NIL NIL \"7bit\" 6 1)");
    ParsedMessage p = parse_message(m);
    CHECK(p.root->header_size == crlf_size(m.substr(0, m.find("\n\n") + 2)));
}

TEST_CASE("bodystructure: multipart/digest parts default to message/rfc822") {
    std::string m =
        "Content-Type: multipart/digest; boundary=d\n\n"
        "--d\n\nSubject: one\n\nbody one\n"
        "--d\nContent-Type: text/plain\n\nplain\n--d--\n";
    CHECK(imap_bodystructure(m, false) ==
          "((\"message\" \"rfc822\" NIL NIL NIL \"7bit\" 24 "
          "(NIL \"one\" NIL NIL NIL NIL NIL NIL NIL NIL) "
          "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 8 0) 2)"
          "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 5 0) \"digest\")");
}

TEST_CASE("bodystructure: nesting is bounded") {
    std::string m;
    for (int i = 0; i < 200; ++i) m += "Content-Type: multipart/mixed; boundary=b" + std::to_string(i) + "\n\n--b" +
                                       std::to_string(i) + "\n";
    m += "\nleaf\n";
    ParsedMessage p = parse_message(m);
    CHECK(p.truncated);
    std::string bs = imap_bodystructure_of(p);
    CHECK(bs.size() < 20000);
    int depth = 0;
    int max_depth = 0;
    for (char c : bs) {
        if (c == '(') max_depth = std::max(max_depth, ++depth);
        if (c == ')') --depth;
    }
    CHECK(depth == 0);
    CHECK(max_depth <= kMaxDepth + 3);
}

TEST_CASE("bodystructure: message/rfc822 with a non-identity encoding attaches an empty message") {
    std::string m = "Content-Type: message/rfc822\nContent-Transfer-Encoding: base64\n\nU3ViamVjdDogeA==\n";
    CHECK(imap_bodystructure(m, false) ==
          "(\"message\" \"rfc822\" NIL NIL NIL \"base64\" 18 (NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL) "
          "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0) 1)");
}

TEST_CASE("envelope: subject and names for people, other fields unfolded") {
    std::string m =
        "Subject:   lead\ttab  two\n  folded  end  \nFrom: \"  Spaced\tName \" <a@b>\n"
        "Date:  Mon, 7 Feb 1994\n  21:52:25 -0800 \nIn-Reply-To:\nMessage-ID: <a\"b@c>\n\nx\n";
    CHECK(imap_envelope(m) ==
          "(\"Mon, 7 Feb 1994  21:52:25 -0800 \" {23}\r\nlead tab two folded end (({11}\r\nSpaced Name NIL \"a\" \"b\")) "
          "(({11}\r\nSpaced Name NIL \"a\" \"b\")) (({11}\r\nSpaced Name NIL \"a\" \"b\")) NIL NIL NIL \"\" "
          "\"<a\\\"b@c>\")");
    CHECK(imap_envelope("Subject:\nFrom: a@b\n\n") ==
          "(NIL \"\" ((NIL NIL \"a\" \"b\")) ((NIL NIL \"a\" \"b\")) ((NIL NIL \"a\" \"b\")) NIL NIL NIL NIL NIL)");
}
