// bounce_dsn_test.cc - the DSN composer (bounce_dsn.h), each notice read
// back with the MIME reader of mime_reader.h.
#include <catch2/catch.hpp>

#include "bounce/bounce_dsn.h"
#include "tests/bounce/mime_reader.h"

using namespace mailroom;
using namespace mailroom::bounce;
using testing::MimePart;

namespace {

BounceRecipient rcpt(std::string addr, std::string status, std::string reason, std::string notify = {},
                     std::string orcpt = {}, std::string orig = {}) {
    BounceRecipient r;
    r.recipient = std::move(addr);
    r.orig_rcpt = std::move(orig);
    r.dsn_orcpt = std::move(orcpt);
    r.notify = std::move(notify);
    r.action = status[0] == '5' ? "failed" : status[0] == '4' ? "delayed" : "delivered";
    r.status = std::move(status);
    r.reason = std::move(reason);
    return r;
}

OriginalMessage original(std::string ret = {}) {
    OriginalMessage m;
    m.sender = "alice@example.test";
    m.arrival_time = 1790000000;
    m.envid = "ENV-42";
    m.ret = std::move(ret);
    m.lines = {"From: Alice <alice@example.test>", "To: bob@gone.test", "Subject: hello there", "", "first body line",
               "second body line"};
    for (const auto& l : m.lines) m.size += l.size() + 1;
    return m;
}

DsnSettings settings(DsnKind kind = DsnKind::kFailure) {
    DsnSettings s;
    s.kind = kind;
    s.myhostname = "mx.example.test";
    s.queue_id = "4F2A9C1B07";
    s.to = "alice@example.test";
    s.message_id = "<20261124060000.5B3D2E1A08@mx.example.test>";
    s.now = 1790000600;
    return s;
}

std::string join_lines(const DsnMessage& m) {
    std::string out;
    for (const auto& l : m.lines) out += l + "\n";
    return out;
}

MimePart parse(const DsnMessage& m) {
    MimePart p = testing::parse_mime(join_lines(m));
    INFO(join_lines(m));
    REQUIRE(p.error == "");
    return p;
}

}  // namespace

TEST_CASE("a non-delivery notice is a multipart/report with three parts", "[unit]") {
    auto m = compose_dsn(settings(), original(),
                         {rcpt("bob@gone.test", "5.0.0", "mail for gone.test is not deliverable", "",
                               "rfc822;Bob@Gone.Test", "bob")});
    MimePart p = parse(m);
    CHECK(p.header("From") == "Mail Delivery System <MAILER-DAEMON@mx.example.test>");
    CHECK(p.header("To") == "alice@example.test");
    CHECK(p.header("Subject") == "Undelivered Mail Returned to Sender");
    CHECK(p.header("Auto-Submitted") == "auto-replied");
    CHECK(p.header("Message-ID") == "<20261124060000.5B3D2E1A08@mx.example.test>");
    CHECK(p.header("MIME-Version") == "1.0");
    CHECK_FALSE(p.header("Date").empty());
    CHECK(p.content_type() == "multipart/report");
    CHECK(p.type_param("report-type") == "delivery-status");
    CHECK(p.type_param("boundary") == m.boundary);
    REQUIRE(p.parts.size() == 3);

    CHECK(p.parts[0].content_type() == "text/plain");
    const std::string& text = p.parts[0].body;
    CHECK(text.find("This is the mail system at host mx.example.test.") == 0);
    CHECK(text.find("I'm sorry to have to inform you that your message could not\nbe delivered to one or more "
                    "recipients.") != std::string::npos);
    CHECK(text.find("<bob@gone.test> (expanded from <bob>): mail for gone.test is not deliverable") !=
          std::string::npos);

    CHECK(p.parts[1].content_type() == "message/delivery-status");
    auto groups = testing::parse_fields(p.parts[1].body);
    REQUIRE(groups.size() == 2);
    CHECK(groups[0]["original-envelope-id"] == "ENV-42");
    CHECK(groups[0]["reporting-mta"] == "dns; mx.example.test");
    CHECK(groups[0]["x-mailroom-queue-id"] == "4F2A9C1B07");
    CHECK(groups[0]["x-mailroom-sender"] == "rfc822; alice@example.test");
    CHECK_FALSE(groups[0]["arrival-date"].empty());
    CHECK(groups[1]["final-recipient"] == "rfc822; bob@gone.test");
    CHECK(groups[1]["original-recipient"] == "rfc822; Bob@Gone.Test");
    CHECK(groups[1]["action"] == "failed");
    CHECK(groups[1]["status"] == "5.0.0");
    CHECK(groups[1].count("diagnostic-code") == 0);  // no remote reply

    CHECK(p.parts[2].content_type() == "message/rfc822");
    MimePart inner = testing::parse_mime(p.parts[2].body);
    CHECK(inner.error == "");
    CHECK(inner.header("Subject") == "hello there");
    CHECK(inner.body == "first body line\nsecond body line\n");
}

TEST_CASE("RET=HDRS returns only the header as text/rfc822-headers", "[unit]") {
    MimePart p = parse(compose_dsn(settings(), original("HDRS"), {rcpt("bob@gone.test", "5.0.0", "gone")}));
    REQUIRE(p.parts.size() == 3);
    CHECK(p.parts[2].content_type() == "text/rfc822-headers");
    CHECK(p.parts[2].body.find("Subject: hello there") != std::string::npos);
    CHECK(p.parts[2].body.find("first body line") == std::string::npos);

    MimePart full = parse(compose_dsn(settings(), original("FULL"), {rcpt("bob@gone.test", "5.0.0", "gone")}));
    CHECK(full.parts[2].content_type() == "message/rfc822");
    CHECK(full.parts[2].body.find("first body line") != std::string::npos);
}

TEST_CASE("a message over bounce_size_limit is returned as its header", "[unit]") {
    auto m = original();
    for (int i = 0; i < 2000; ++i) m.lines.push_back("padding line number " + std::to_string(i));
    m.size = 0;
    for (const auto& l : m.lines) m.size += l.size() + 1;
    DsnSettings s = settings();
    s.bounce_size_limit = 1000;
    auto dsn = compose_dsn(s, m, {rcpt("bob@gone.test", "5.0.0", "gone")});
    MimePart p = parse(dsn);
    CHECK(p.parts[2].content_type() == "text/rfc822-headers");
    CHECK(p.parts[2].body.find("padding line") == std::string::npos);
    CHECK(dsn.lines.size() < 100);
}

TEST_CASE("a remote reply becomes Remote-MTA and Diagnostic-Code", "[unit]") {
    auto r = rcpt("bob@remote.test", "5.1.1",
                  "host mx.remote.test[192.0.2.7] said: 550 5.1.1 <bob@remote.test>: no such user (in reply to "
                  "RCPT TO command)");
    MimePart p = parse(compose_dsn(settings(), original(), {r}));
    auto groups = testing::parse_fields(p.parts[1].body);
    REQUIRE(groups.size() == 2);
    CHECK(groups[1]["remote-mta"] == "dns; mx.remote.test");
    CHECK(groups[1]["diagnostic-code"] == "smtp; 550 5.1.1 <bob@remote.test>: no such user");
    CHECK(parse_remote_reply("mail for x is not deliverable").host.empty());
    CHECK(parse_remote_reply("host a[1.2.3.4] said: hello").host.empty());
}

TEST_CASE("delay and success notices", "[unit]") {
    DsnSettings s = settings(DsnKind::kDelay);
    s.maximal_queue_lifetime = 5 * 86400;
    s.now = original().arrival_time + 4 * 3600;
    MimePart d = parse(compose_dsn(s, original(), {rcpt("bob@later.test", "4.3.2", "try again later")}));
    CHECK(d.header("Subject") == "Delayed Mail (still being retried)");
    CHECK(d.parts[0].body.find("4 hours") != std::string::npos);
    CHECK(d.parts[0].body.find("5 days") != std::string::npos);
    auto dg = testing::parse_fields(d.parts[1].body);
    CHECK(dg[1]["action"] == "delayed");
    CHECK(dg[1]["status"] == "4.3.2");
    CHECK_FALSE(dg[1]["will-retry-until"].empty());
    CHECK(d.parts[2].content_type() == "text/rfc822-headers");

    MimePart ok = parse(compose_dsn(settings(DsnKind::kSuccess), original(), {rcpt("bob@x.test", "2.0.0", "delivered")}));
    CHECK(ok.header("Subject") == "Successful Mail Delivery Report");
    CHECK(testing::parse_fields(ok.parts[1].body)[1]["action"] == "delivered");
}

TEST_CASE("NOTIFY selects the recipients of each kind of notice", "[unit]") {
    std::vector<BounceRecipient> all = {
        rcpt("default@x.test", "5.0.0", "r"), rcpt("never@x.test", "5.0.0", "r", "NEVER"),
        rcpt("success@x.test", "5.0.0", "r", "SUCCESS"), rcpt("both@x.test", "5.0.0", "r", "success,failure"),
        rcpt("delay@x.test", "5.0.0", "r", "DELAY")};
    auto names = [](const std::vector<BounceRecipient>& v) {
        std::vector<std::string> out;
        for (const auto& r : v) out.push_back(r.recipient);
        return out;
    };
    CHECK(names(select_recipients(DsnKind::kFailure, all)) ==
          std::vector<std::string>{"default@x.test", "both@x.test"});
    CHECK(names(select_recipients(DsnKind::kDelay, all)) ==
          std::vector<std::string>{"default@x.test", "delay@x.test"});
    CHECK(names(select_recipients(DsnKind::kSuccess, all)) ==
          std::vector<std::string>{"success@x.test", "both@x.test"});
    CHECK(select_recipients(DsnKind::kFailure, {rcpt("n@x.test", "5.0.0", "r", "NEVER")}).empty());
}

TEST_CASE("notices never loop: null and double-bounce senders", "[unit]") {
    NoticeSettings ns{"postmaster", "double-bounce", "mx.example.test"};
    auto p = plan_notice(DsnKind::kFailure, "alice@example.test", ns);
    CHECK(p.outcome == NoticePlan::Outcome::kSend);
    CHECK(p.to == "alice@example.test");
    CHECK(p.envelope_sender.empty());
    CHECK(p.log_label == "sender non-delivery notification");

    // A bounce that bounced goes to the postmaster, from the double-bounce sender.
    p = plan_notice(DsnKind::kFailure, "", ns);
    CHECK(p.outcome == NoticePlan::Outcome::kSend);
    CHECK(p.to == "postmaster");
    CHECK(p.envelope_sender == "double-bounce");
    CHECK(p.postmaster_copy);
    CHECK(p.log_label == "postmaster non-delivery notification");

    // ... and when that one bounces too, it is discarded.
    CHECK(plan_notice(DsnKind::kFailure, "double-bounce@mx.example.test", ns).outcome ==
          NoticePlan::Outcome::kDiscard);
    CHECK(plan_notice(DsnKind::kFailure, "Double-Bounce", ns).outcome == NoticePlan::Outcome::kDiscard);
    ns.notice_recipient = "";
    CHECK(plan_notice(DsnKind::kFailure, "", ns).outcome == NoticePlan::Outcome::kDiscard);

    // Nobody is warned about, or told of the delivery of, a bounce.
    CHECK(plan_notice(DsnKind::kDelay, "", ns).outcome == NoticePlan::Outcome::kNone);
    CHECK(plan_notice(DsnKind::kSuccess, "", ns).outcome == NoticePlan::Outcome::kNone);
    CHECK(plan_notice(DsnKind::kDelay, "alice@x.test", ns).log_label == "sender delay notification");
    CHECK(plan_notice(DsnKind::kSuccess, "alice@x.test", ns).log_label == "sender delivery status notification");
}

TEST_CASE("the postmaster copy has its own subject and text", "[unit]") {
    DsnSettings s = settings();
    s.to = "postmaster";
    s.postmaster_copy = true;
    auto m = original();
    m.sender = "";
    MimePart p = parse(compose_dsn(s, m, {rcpt("alice@gone.test", "5.0.0", "gone")}));
    CHECK(p.header("Subject") == "Postmaster Copy: Undelivered Mail");
    CHECK(p.header("To") == "postmaster");
    CHECK(testing::parse_fields(p.parts[1].body)[0]["x-mailroom-sender"] == "rfc822;");
}

TEST_CASE("long lines are folded or split, never over 998 octets", "[unit]") {
    std::string long_reason;
    for (int i = 0; i < 60; ++i) long_reason += "word" + std::to_string(i) + " ";
    std::string huge_addr = std::string(1500, 'a') + "@long.test";
    auto m = original();
    m.lines.push_back(std::string(3000, 'x'));
    m.size += 3001;
    auto dsn = compose_dsn(settings(), m,
                           {rcpt("bob@gone.test", "5.0.0", long_reason), rcpt(huge_addr, "5.0.0", "too long")});
    for (const auto& l : dsn.lines) CHECK(l.size() <= 998);
    MimePart p = parse(dsn);
    // The human-readable text is wrapped (only the huge address is split hard).
    for (const auto& l : testing::split_lines(p.parts[0].body))
        if (l.find("aaaa") == std::string::npos) CHECK(l.size() <= 78);
    CHECK(p.parts[0].body.find("word59") != std::string::npos);
    // The status fields survive unfolding.
    auto groups = testing::parse_fields(p.parts[1].body);
    REQUIRE(groups.size() == 3);
    CHECK(groups[2]["action"] == "failed");
    // The 3000-octet line of the original is split into pieces.
    CHECK(p.parts[2].body.find(std::string(998, 'x') + "\n") != std::string::npos);

    auto folded = fold_header("Diagnostic-Code", "smtp; " + long_reason);
    CHECK(folded.size() > 1);
    for (std::size_t i = 0; i < folded.size(); ++i) {
        CHECK(folded[i].size() <= 78);
        if (i > 0) CHECK((folded[i][0] == ' ' || folded[i][0] == '\t'));
    }
}

TEST_CASE("the boundary never appears in the returned message", "[unit]") {
    DsnSettings s = settings();
    auto m = original();
    std::string clash = "--" + s.queue_id + "." + std::to_string(s.now) + "/" + s.myhostname;
    m.lines.push_back(clash);
    m.lines.push_back(clash + "--");
    m.size += 2 * clash.size() + 4;
    auto dsn = compose_dsn(s, m, {rcpt("bob@gone.test", "5.0.0", "gone")});
    CHECK("--" + dsn.boundary != clash);
    MimePart p = parse(dsn);
    REQUIRE(p.parts.size() == 3);
    CHECK(p.parts[2].body.find(clash + "--") != std::string::npos);
}

TEST_CASE("8-bit originals are declared 8bit", "[unit]") {
    auto m = original();
    m.lines.push_back("caf\xc3\xa9");
    m.size += 6;
    auto dsn = compose_dsn(settings(), m, {rcpt("bob@gone.test", "5.0.0", "gone")});
    CHECK(dsn.eight_bit);
    CHECK(parse(dsn).header("Content-Transfer-Encoding") == "8bit");
    CHECK(parse(compose_dsn(settings(), original(), {rcpt("b@x.test", "5.0.0", "g")})).header(
              "Content-Transfer-Encoding") == "7bit");
}
