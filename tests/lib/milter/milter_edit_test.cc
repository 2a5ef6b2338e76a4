// milter_edit_test.cc - a message held for the milters and their edits.
#include <catch2/catch.hpp>

#include <filesystem>

#include "lib/milter/milter_edit.h"

using namespace mailroom;
using namespace mailroom::milter;
using queue::RecordType;

namespace {

using Records = std::vector<std::pair<RecordType, std::string>>;

void feed(MilterMessage& m, const Records& records) {
    for (const auto& [t, p] : records) REQUIRE(m.add(t, p).ok());
}

Records replay(MilterMessage& m) {
    Records out;
    REQUIRE(m.replay([&](RecordType t, std::string_view p) {
                out.emplace_back(t, std::string(p));
                return ok_status();
            }).ok());
    return out;
}

std::vector<std::string> content(const Records& r) {
    std::vector<std::string> out;
    bool in = false;
    for (const auto& [t, p] : r) {
        if (t == RecordType::kContentStart) in = true;
        else if (t == RecordType::kExtractedStart) in = false;
        else if (in) out.push_back(p);
    }
    return out;
}

Records sample() {
    return {{RecordType::kArrivalTime, "1.000000"},
            {RecordType::kSender, "s@example.com"},
            {RecordType::kDsnNotify, "NEVER"},
            {RecordType::kRecipient, "Pa@example.com"},
            {RecordType::kRecipient, "Pb@example.com"},
            {RecordType::kContentStart, ""},
            {RecordType::kNormal, "Received: from x"},
            {RecordType::kNormal, "\tby y"},
            {RecordType::kNormal, "Subject: hello"},
            {RecordType::kNormal, "X-Dup: 1"},
            {RecordType::kNormal, "X-Dup: 2"},
            {RecordType::kNormal, ""},
            {RecordType::kContinued, "long "},
            {RecordType::kNormal, "line"},
            {RecordType::kNormal, "second"},
            {RecordType::kExtractedStart, ""},
            {RecordType::kEnd, ""}};
}

Reply rep(char type, std::string name = "", std::string value = "", std::uint32_t index = 0) {
    Reply r;
    r.type = type;
    r.name = std::move(name);
    r.value = std::move(value);
    r.index = index;
    return r;
}

Reply body(std::string text) {
    Reply r;
    r.type = kRepReplBody;
    r.body = std::move(text);
    return r;
}

}  // namespace

TEST_CASE("the header is parsed, the body spooled, and an unedited message replays unchanged") {
    MilterMessage m(std::filesystem::temp_directory_path().string());
    feed(m, sample());
    CHECK(m.complete());
    REQUIRE(m.headers().size() == 4);
    CHECK(m.headers()[0].name == "Received");
    CHECK(m.headers()[0].value == " from x\n\tby y");
    std::uint64_t off = 0;
    std::string chunk;
    auto got = m.body_chunk(&off, &chunk);
    REQUIRE(got.ok());
    CHECK(*got);
    CHECK(chunk == "long line\r\nsecond\r\n");
    got = m.body_chunk(&off, &chunk);
    REQUIRE(got.ok());
    CHECK(!*got);
    auto out = replay(m);
    CHECK(content(out) == std::vector<std::string>{"Received: from x", "\tby y", "Subject: hello", "X-Dup: 1",
                                                   "X-Dup: 2", "", "long line", "second"});
    CHECK(out.back().first == RecordType::kEnd);
    CHECK(m.sender() == "s@example.com");
    CHECK(m.recipients() == std::vector<std::string>{"a@example.com", "b@example.com"});
}

TEST_CASE("every modification action lands in the replayed stream") {
    MilterMessage m(std::filesystem::temp_directory_path().string());
    feed(m, sample());
    auto apply = [&](Reply r) { REQUIRE(m.apply(r).ok()); };
    apply(rep(kRepAddHeader, "X-Added", "yes"));
    apply(rep(kRepInsHeader, "X-First", "top", 0));
    apply(rep(kRepChgHeader, "Subject", " changed", 1));
    apply(rep(kRepChgHeader, "x-dup", "", 2));
    apply(rep(kRepChgFrom, "<new@example.com>", "SIZE=1"));
    apply(rep(kRepDelRcpt, "<A@example.com>"));
    apply(rep(kRepAddRcpt, "<c@example.com>"));
    apply(rep(kRepAddRcptPar, "<d@example.com>", "NOTIFY=never"));
    apply(body("new body\r"));
    apply(body("\nline two\r\n"));
    REQUIRE(m.end_body_replacement().ok());
    {
        Reply q = rep(kRepQuarantine);
        q.text = "looks\nodd";
        apply(q);
    }
    CHECK(!m.apply(rep(kRepContinue)).ok());
    auto out = replay(m);
    CHECK(content(out) == std::vector<std::string>{"X-First: top", "Received: from x", "\tby y", "Subject: changed",
                                                   "X-Dup: 1", "X-Added: yes", "", "new body", "line two"});
    CHECK(m.sender() == "new@example.com");
    CHECK(m.recipients() == std::vector<std::string>{"b@example.com", "c@example.com", "d@example.com"});
    // a@'s NOTIFY went with it; d@ got its own.
    Records envelope(out.begin(), std::find_if(out.begin(), out.end(), [](auto& r) {
                         return r.first == RecordType::kContentStart;
                     }));
    CHECK(std::count_if(envelope.begin(), envelope.end(),
                        [](auto& r) { return r.first == RecordType::kDsnNotify && r.second == "NEVER"; }) == 1);
    CHECK(std::find(out.begin(), out.end(), std::make_pair(RecordType::kAttribute, std::string("hold=looks odd"))) !=
          out.end());
}

TEST_CASE("a header put before an edit's header keeps the edit on its own header") {
    MilterMessage m(std::filesystem::temp_directory_path().string());
    feed(m, sample());
    auto names = [&] {
        std::vector<std::string> out;
        for (const auto& h : m.headers()) out.push_back(h.name + ":" + h.value);
        return out;
    };
    // A change of the second X-Dup, with an X-Dup put before it: the edit
    // still changes the header it named, now the third of that name.
    Reply chg = rep(kRepChgHeader, "X-Dup", " two", 2);
    m.insert_before(&chg, "X-Dup", " before");
    REQUIRE(m.apply(chg).ok());
    Reply ins = rep(kRepInsHeader, "X-Ins", " i", 1);
    m.insert_before(&ins, "X-Pre", " p");
    REQUIRE(m.apply(ins).ok());
    Reply add = rep(kRepAddHeader, "X-Add", " a");
    m.insert_before(&add, "X-Pre-Add", " q");
    REQUIRE(m.apply(add).ok());
    CHECK(names() == std::vector<std::string>{"Received: from x\n\tby y", "X-Pre: p", "X-Ins: i", "Subject: hello",
                                              "X-Dup: 1", "X-Dup: before", "X-Dup: two", "X-Pre-Add: q",
                                              "X-Add: a"});
}

TEST_CASE("a message without a blank line after the header, and huge lines") {
    MilterMessage m(std::filesystem::temp_directory_path().string());
    std::string big(3 * kReplayPiece + 10, 'x');
    feed(m, {{RecordType::kSender, ""},
             {RecordType::kContentStart, ""},
             {RecordType::kNormal, "Subject: s"},
             {RecordType::kNormal, "not a header line"},
             {RecordType::kNormal, big},
             {RecordType::kExtractedStart, ""},
             {RecordType::kEnd, ""}});
    REQUIRE(m.headers().size() == 1);
    auto out = replay(m);
    auto c = content(out);
    REQUIRE(c.size() == 7);
    CHECK(c[1] == "");
    CHECK(c[2] == "not a header line");
    CHECK(c[3].size() == kReplayPiece);
    CHECK(c[6].size() == 10);
    CHECK(!m.add(RecordType::kNormal, "after the end").ok());
}

TEST_CASE("CHGFROM's ESMTP arguments replace the envelope's BODY, RET and ENVID, unknown ones are warned about") {
    MilterMessage m(std::filesystem::temp_directory_path().string());
    Records in = sample();
    in.insert(in.begin() + 2, {RecordType::kDsnRet, "FULL"});
    feed(m, in);
    std::vector<std::string> warnings;
    REQUIRE(m.apply(rep(kRepChgFrom, "<new@example.com>", "SIZE=1234 BODY=8BITMIME RET=HDRS ENVID=q+2Bid XFOO=1 RET=odd"),
                    &warnings)
                .ok());
    auto out = replay(m);
    Records envelope(out.begin(), std::find_if(out.begin(), out.end(), [](auto& r) {
                         return r.first == RecordType::kContentStart;
                     }));
    // The sender, then what smtpd would have written after it.
    CHECK(envelope == Records{{RecordType::kArrivalTime, "1.000000"},
                              {RecordType::kSender, "new@example.com"},
                              {RecordType::kDsnEnvid, "q+id"},
                              {RecordType::kAttribute, "encoding=8bit"},
                              {RecordType::kDsnRet, "HDRS"},
                              {RecordType::kDsnNotify, "NEVER"},
                              {RecordType::kRecipient, "Pa@example.com"},
                              {RecordType::kRecipient, "Pb@example.com"}});
    CHECK(warnings == std::vector<std::string>{"ignoring ESMTP argument from MILTER: \"XFOO=1\"",
                                               "ignoring ESMTP argument from MILTER: \"RET=odd\""});
    // A second change replaces, never duplicates.
    REQUIRE(m.apply(rep(kRepChgFrom, "<>", "BODY=7BIT")).ok());
    out = replay(m);
    CHECK(std::count_if(out.begin(), out.end(), [](auto& r) { return r.first == RecordType::kAttribute; }) == 1);
    CHECK(std::find(out.begin(), out.end(), std::make_pair(RecordType::kAttribute, std::string("encoding=7bit"))) !=
          out.end());
    CHECK(m.sender() == "");
}

TEST_CASE("ADDRCPT_PAR keeps NOTIFY and ORCPT and refuses other arguments with a warning") {
    MilterMessage m(std::filesystem::temp_directory_path().string());
    feed(m, sample());
    std::vector<std::string> warnings;
    REQUIRE(m.apply(rep(kRepAddRcptPar, "<c@example.com>",
                        "NOTIFY=success,failure ORCPT=rfc822;orig+40example.com BOGUS=1 NOTIFY=never"),
                    &warnings)
                .ok());
    auto out = replay(m);
    auto at = std::find(out.begin(), out.end(), std::make_pair(RecordType::kRecipient, std::string("Pc@example.com")));
    REQUIRE(at != out.end());
    REQUIRE(at - out.begin() >= 2);
    CHECK(*(at - 2) == std::make_pair(RecordType::kDsnOrcpt, std::string("rfc822;orig@example.com")));
    CHECK(*(at - 1) == std::make_pair(RecordType::kDsnNotify, std::string("SUCCESS,FAILURE")));
    CHECK(warnings == std::vector<std::string>{"ignoring ESMTP argument from MILTER: \"BOGUS=1\"",
                                               "Bad NOTIFY parameter from MILTER: \"NOTIFY=never\""});
}
