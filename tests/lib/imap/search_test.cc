// search_test.cc - the SEARCH program: building it from tokenised arguments
// and evaluating every key, positive and negative, with body and header
// search through MIME encodings and charsets.
#include "lib/imap/search.h"

#include <catch2/catch.hpp>
#include <string>

#include "lib/imap/imap_date.h"

using namespace mailroom::imap;

namespace {

SearchArg A(std::string s) { return SearchArg::atom(std::move(s)); }
SearchArg S(std::string s) { return SearchArg::string(std::move(s)); }

const char* const kMail =
    "From: =?ISO-8859-1?Q?J=F6rg?= <joerg@example.com>\n"
    "To: Alice <alice@example.org>, bob@example.net\n"
    "Cc: Carol <carol@example.com>\n"
    "Bcc: dave@secret.example\n"
    "Subject: =?utf-8?B?R3LDvMOfZQ==?= from the Meeting\n"
    "Date: Tue, 1 Feb 1994 23:30:00 -0500\n"
    "X-Tag: Priority-High\n"
    "Content-Type: multipart/mixed; boundary=b\n"
    "\n"
    "--b\n"
    "Content-Type: text/plain; charset=utf-8\n"
    "Content-Transfer-Encoding: base64\n"
    "\n"
    "VGhlIHF1aWNrIGJyb3duIGZveA==\n"
    "--b\n"
    "Content-Type: text/plain; charset=iso-8859-1\n"
    "Content-Transfer-Encoding: quoted-printable\n"
    "\n"
    "Stra=DFe und Caf=E9 soft=\n"
    "wrapped\n"
    "--b\n"
    "Content-Type: text/html; charset=koi8-r\n"
    "\n"
    "\xf0\xd2\xc9\xd7\xc5\xd4\n"
    "--b--\n";

MessageMeta meta() {
    MessageMeta m;
    m.seq = 3;
    m.uid = 30;
    m.flags = kFlagSeen | kFlagFlagged | kFlagRecent;
    m.keywords = {"$Forwarded", "Work"};
    m.internal_date = days_from_civil(1994, 2, 3) * 86400 + 10 * 3600;  // 3-Feb-1994 10:00 UTC
    m.internal_tz_min = 0;
    m.size = 1000;
    m.modseq = 77;
    return m;
}

struct Run {
    bool matched = false;
    int loads = 0;
    std::string error;
};

Run run(const std::vector<SearchArg>& args, MessageMeta m = meta(), SearchContext ctx = {10, 100, {}}) {
    Run r;
    SearchBuild b = build_search(args);
    if (!b.key) {
        r.error = b.error;
        return r;
    }
    SearchEvaluator ev(*b.key, ctx);
    SearchEvaluator::BytesFn fn = [&r] {
        ++r.loads;
        return std::string_view(kMail);
    };
    r.matched = ev.matches(m, fn);
    return r;
}

bool match(const std::vector<SearchArg>& args) {
    Run r = run(args);
    INFO(r.error);
    REQUIRE(r.error.empty());
    return r.matched;
}

}  // namespace

TEST_CASE("search: flag keys, positive and negative") {
    CHECK(match({A("ALL")}));
    CHECK(match({A("SEEN")}));
    CHECK_FALSE(match({A("UNSEEN")}));
    CHECK(match({A("FLAGGED")}));
    CHECK_FALSE(match({A("UNFLAGGED")}));
    CHECK_FALSE(match({A("ANSWERED")}));
    CHECK(match({A("UNANSWERED")}));
    CHECK_FALSE(match({A("DELETED")}));
    CHECK(match({A("UNDELETED")}));
    CHECK_FALSE(match({A("DRAFT")}));
    CHECK(match({A("UNDRAFT")}));
    CHECK(match({A("RECENT")}));
    CHECK_FALSE(match({A("OLD")}));
    CHECK_FALSE(match({A("NEW")}));  // recent but seen
    MessageMeta m = meta();
    m.flags = kFlagRecent;
    CHECK(run({A("NEW")}, m).matched);
    m.flags = kFlagAnswered | kFlagDeleted | kFlagDraft;
    CHECK(run({A("OLD")}, m).matched);
    CHECK(run({A("ANSWERED"), A("DELETED"), A("DRAFT"), A("UNSEEN")}, m).matched);
}

TEST_CASE("search: keywords, case-insensitive") {
    CHECK(match({A("KEYWORD"), A("work")}));
    CHECK(match({A("KEYWORD"), A("$forwarded")}));
    CHECK_FALSE(match({A("KEYWORD"), A("Home")}));
    CHECK(match({A("UNKEYWORD"), A("Home")}));
    CHECK_FALSE(match({A("UNKEYWORD"), A("WORK")}));
}

TEST_CASE("search: sizes, modseq, sequence sets, UIDs, $") {
    CHECK(match({A("LARGER"), A("999")}));
    CHECK_FALSE(match({A("LARGER"), A("1000")}));
    CHECK(match({A("SMALLER"), A("1001")}));
    CHECK_FALSE(match({A("SMALLER"), A("1000")}));
    CHECK(match({A("MODSEQ"), A("77")}));
    CHECK_FALSE(match({A("MODSEQ"), A("78")}));
    CHECK(match({A("MODSEQ"), S("/flags/\\draft"), A("all"), A("70")}));
    CHECK(match({A("1:3")}));
    CHECK(match({A("2,3")}));
    CHECK_FALSE(match({A("4:*")}));
    CHECK(match({A("*:3")}));
    CHECK(match({A("UID"), A("30")}));
    CHECK(match({A("UID"), A("29:*")}));
    CHECK_FALSE(match({A("UID"), A("1:29,31")}));
    // "*" is the largest number in use: 3 is the last message here.
    CHECK(run({A("*")}, meta(), {3, 30, {}}).matched);
    CHECK_FALSE(run({A("*")}, meta(), {4, 40, {}}).matched);
    CHECK(run({A("UID"), A("50:*")}, meta(), {3, 30, {}}).matched);
    // "$" is the saved result, as UIDs.
    CHECK(run({A("$")}, meta(), {10, 100, {5, 30}}).matched);
    CHECK_FALSE(run({A("UID"), A("$")}, meta(), {10, 100, {5}}).matched);
    CHECK_FALSE(run({A("$")}, meta(), {10, 100, {}}).matched);
}

TEST_CASE("search: internal date keys compare days in the internal date's zone") {
    CHECK(match({A("ON"), A("3-Feb-1994")}));
    CHECK_FALSE(match({A("ON"), A("2-Feb-1994")}));
    CHECK(match({A("SINCE"), A("3-Feb-1994")}));
    CHECK_FALSE(match({A("SINCE"), A("4-Feb-1994")}));
    CHECK(match({A("BEFORE"), A("4-Feb-1994")}));
    CHECK_FALSE(match({A("BEFORE"), A("3-Feb-1994")}));
    MessageMeta m = meta();
    m.internal_tz_min = 15 * 60;  // 3-Feb 10:00 UTC is 4-Feb 01:00 at +1500
    CHECK(run({A("ON"), S("4-Feb-1994")}, m).matched);
}

TEST_CASE("search: sent date keys read the Date: header in its own zone") {
    // Tue, 1 Feb 1994 23:30 -0500 is 2 Feb in UTC, but the sent day is 1 Feb.
    CHECK(match({A("SENTON"), A("1-Feb-1994")}));
    CHECK_FALSE(match({A("SENTON"), A("2-Feb-1994")}));
    CHECK(match({A("SENTBEFORE"), A("2-Feb-1994")}));
    CHECK_FALSE(match({A("SENTBEFORE"), A("1-Feb-1994")}));
    CHECK(match({A("SENTSINCE"), A("1-Feb-1994")}));
    CHECK_FALSE(match({A("SENTSINCE"), A("2-Feb-1994")}));
}

TEST_CASE("search: address and subject keys match decoded header text") {
    CHECK(match({A("FROM"), S("jörg")}));
    CHECK(match({A("FROM"), A("JOERG@EXAMPLE")}));
    CHECK_FALSE(match({A("FROM"), A("alice")}));
    CHECK(match({A("TO"), A("alice")}));
    CHECK(match({A("TO"), A("bob@example.net")}));
    CHECK_FALSE(match({A("TO"), A("carol")}));
    CHECK(match({A("CC"), A("carol")}));
    CHECK_FALSE(match({A("CC"), A("alice")}));
    CHECK(match({A("BCC"), A("dave")}));
    CHECK_FALSE(match({A("BCC"), A("carol")}));
    CHECK(match({A("SUBJECT"), S("GRÜSSE")}) == false);  // no decomposition: ß is not "ss"
    CHECK(match({A("SUBJECT"), S("grüße from")}));
    CHECK(match({A("SUBJECT"), S("MEETING")}));
    CHECK_FALSE(match({A("SUBJECT"), S("R3LDvMOfZQ")}));  // the encoded form is not searched
}

TEST_CASE("search: HEADER matches a field's value, or its presence with an empty string") {
    CHECK(match({A("HEADER"), A("X-Tag"), A("high")}));
    CHECK_FALSE(match({A("HEADER"), A("X-Tag"), A("low")}));
    CHECK(match({A("HEADER"), A("x-tag"), S("")}));
    CHECK_FALSE(match({A("HEADER"), A("X-Missing"), S("")}));
}

TEST_CASE("search: BODY through base64, quoted-printable and a non-UTF-8 charset") {
    CHECK(match({A("BODY"), A("QUICK")}));          // base64
    CHECK(match({A("BODY"), S("straße und café")})); // quoted-printable, ISO-8859-1
    CHECK(match({A("BODY"), A("softwrapped")}));     // soft line break joined
    CHECK(match({A("BODY"), S("привет")}));          // KOI8-R
    CHECK(match({A("BODY"), S("ПРИВЕТ")}));
    CHECK_FALSE(match({A("BODY"), A("VGhlIHF1aWNr")}));  // encoded text is not searched
    CHECK_FALSE(match({A("BODY"), A("meeting")}));       // header text is not body
    CHECK(match({A("TEXT"), A("meeting")}));
    CHECK(match({A("TEXT"), A("brown")}));
    CHECK_FALSE(match({A("TEXT"), A("nowhere")}));
}

TEST_CASE("search: NOT, OR, lists and the bytes are read only when needed") {
    CHECK(match({A("NOT"), A("DELETED")}));
    CHECK_FALSE(match({A("NOT"), A("SEEN")}));
    CHECK(match({A("OR"), A("DELETED"), A("SEEN")}));
    CHECK_FALSE(match({A("OR"), A("DELETED"), A("DRAFT")}));
    CHECK(match({SearchArg::list_of({A("SEEN"), A("FLAGGED")}), A("UID"), A("30")}));
    CHECK_FALSE(match({SearchArg::list_of({A("SEEN"), A("DELETED")})}));
    CHECK(match({A("NOT"), SearchArg::list_of({A("SEEN"), A("DELETED")})}));
    CHECK(run({A("SEEN"), A("LARGER"), A("5"), A("1:*"), A("OR"), A("NEW"), A("OLD")}).loads == 0);
    CHECK(run({A("DELETED"), A("BODY"), A("fox")}).loads == 0);  // DELETED fails first
    CHECK(run({A("OR"), A("SEEN"), A("BODY"), A("fox")}).loads == 0);
    CHECK(run({A("BODY"), A("fox"), A("TEXT"), A("quick"), A("FROM"), A("j")}).loads == 1);
}

TEST_CASE("search: malformed programs are refused with a reason") {
    for (const std::vector<SearchArg>& bad : std::vector<std::vector<SearchArg>>{
             {},
             {A("BOGUS")},
             {A("FROM")},
             {A("BEFORE"), A("yesterday")},
             {A("LARGER"), A("x")},
             {A("LARGER"), A("99999999999999999999999")},
             {A("NOT")},
             {A("OR"), A("SEEN")},
             {A("UID"), A("0")},
             {A("UID")},
             {A("HEADER"), A("X")},
             {S("SEEN")},
             {SearchArg::list_of({})},
             {A("MODSEQ"), S("/flags/x"), A("bogus"), A("1")},
             {A("MODSEQ"), A("x")},
             {A("0:3")},
         }) {
        Run r = run(bad);
        CHECK_FALSE(r.error.empty());
    }
}

TEST_CASE("search: depth and size limits") {
    std::vector<SearchArg> deep = {A("ALL")};
    for (int i = 0; i < kMaxSearchDepth + 5; ++i) deep = {SearchArg::list_of(std::move(deep))};
    CHECK_FALSE(build_search(deep).key);
    std::vector<SearchArg> nots;
    for (int i = 0; i < kMaxSearchDepth + 5; ++i) nots.push_back(A("NOT"));
    nots.push_back(A("ALL"));
    CHECK_FALSE(build_search(nots).key);
    std::vector<SearchArg> many(kMaxSearchKeys + 1, A("ALL"));
    CHECK_FALSE(build_search(many).key);
}

TEST_CASE("search: charset names, needs_bytes, has_modseq, search_messages") {
    CHECK(search_charset_supported("utf-8"));
    CHECK(search_charset_supported("US-ASCII"));
    CHECK_FALSE(search_charset_supported("ISO-8859-1"));
    auto p = build_search({A("OR"), A("SEEN"), A("MODSEQ"), A("5")});
    REQUIRE(p.key);
    CHECK(p.key->has_modseq());
    CHECK_FALSE(p.key->needs_bytes());
    auto q = build_search({A("NOT"), A("SUBJECT"), A("x")});
    REQUIRE(q.key);
    CHECK(q.key->needs_bytes());
    CHECK_FALSE(q.key->has_modseq());
    std::vector<MessageMeta> metas(4, meta());
    for (std::uint32_t i = 0; i < 4; ++i) metas[i].seq = i + 1, metas[i].uid = 10 * (i + 1);
    metas[2].flags = 0;
    auto prog = build_search({A("SEEN"), A("2:*")});
    REQUIRE(prog.key);
    int loads = 0;
    auto hits = search_messages(*prog.key, {4, 40, {}}, metas, [&](std::size_t) {
        ++loads;
        return std::string_view(kMail);
    });
    CHECK(hits == std::vector<std::size_t>{1, 3});
    CHECK(loads == 0);
}

TEST_CASE("search: BODY on plain ASCII messages, ruled out from the bytes, answers as the full parse") {
    auto body_search = [](const std::string& mail, const std::string& word) {
        auto built = build_search({A("BODY"), S(word)});
        REQUIRE(built.key);
        const std::vector<MessageMeta> metas{meta()};
        return !search_messages(*built.key, SearchContext{}, metas, [&](std::size_t) -> std::string_view {
                    return mail;
                }).empty();
    };
    const std::string plain = "Subject: needle in the header\nTo: a@example.com\n\nHay and more Hay,\nNeedle-work.\n";
    CHECK(body_search(plain, "hay"));
    CHECK(body_search(plain, "NEEDLE-WORK"));
    CHECK(body_search(plain, "needle"));          // the bytes have it: the parse decides (body "Needle-work")
    CHECK_FALSE(body_search(plain, "header"));    // in the bytes, but only in the header
    CHECK_FALSE(body_search(plain, "straw"));     // not in the bytes at all
    CHECK(body_search(plain, "hay,\nneedle"));      // a line break in the word: the full parse
    // Bytes that may decode to the word are always parsed.
    const std::string encoded =
        "Content-Type: text/plain; charset=us-ascii\nContent-Transfer-Encoding: base64\n\nc3RyYXc=\n";
    CHECK(body_search(encoded, "straw"));
    const std::string utf7 = "Content-Type: text/plain; charset=utf-7\n\n+AFM-traw\n";
    CHECK(body_search(utf7, "straw"));
    const std::string long_s = "Content-Type: text/plain; charset=utf-8\n\n\xc5\xbftraw\n";  // U+017F upper-cases to S
    CHECK(body_search(long_s, "straw"));
    const std::string attached =
        "Content-Type: message/rfc822\n\nSubject: a folded\n straw\n\nbody\n";
    CHECK(body_search(attached, "folded straw"));
}
