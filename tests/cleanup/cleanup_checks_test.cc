// cleanup_checks_test.cc - header_checks and body_checks actions, and
// virtual alias expansion, through a whole cleanup stream
// (cleanup_checks.h, cleanup_message.h); the queue file is read back.
#include <stdlib.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "cleanup/cleanup_checks.h"
#include "cleanup/cleanup_message.h"
#include "lib/log/log.h"
#include "lib/queue/queue_file.h"
#include "tests/lib/queue/queue_test_util.h"

using namespace mailroom;
using queue::RecordType;
using submit::CleanupStatus;

namespace {

struct Fixture {
    Fixture() {
        char tmpl[] = "/tmp/mr-cleanup-checks-XXXXXX";
        dir = ::mkdtemp(tmpl);
        params.layout.queue_directory = dir;
        REQUIRE(queue::create_queue_directories(params.layout));
        params.myhostname = "mx.o.test";
        params.myorigin = "o.test";
        auto lists = std::make_shared<address::DomainLists>();
        lists->mydestination = {"o.test"};
        address::ResolveOptions o;
        o.myhostname = "mx.o.test";
        o.myorigin = "o.test";
        params.rewrite.resolver = std::make_shared<address::Resolver>(o, address::DomainLists::classifier(lists));
        log::set_capture([this](log::Level, const std::string& line) { logged.push_back(line); });
    }
    ~Fixture() {
        log::set_capture(nullptr);
        std::filesystem::remove_all(dir);
    }
    std::shared_ptr<const table::Maps> regexp(const std::string& name, const std::string& text) {
        std::string path = dir + "/" + name;
        std::ofstream(path) << text;
        auto m = table::Maps::open("regexp:" + path);
        REQUIRE(m);
        return std::make_shared<const table::Maps>(std::move(m.value()));
    }
    bool logged_line(const std::string& needle) const {
        for (const auto& l : logged)
            if (l.find(needle) != std::string::npos) return true;
        return false;
    }
    // Runs one message; returns the status, *id the queue ID.
    CleanupStatus run(const std::vector<std::string>& rcpts, const std::vector<std::string>& lines, std::string* id) {
        auto m = cleanup::CleanupMessage::start(params);
        REQUIRE(m);
        *id = (*m)->queue_id();
        (*m)->feed(RecordType::kArrivalTime, "1795500000.000001");
        (*m)->feed(RecordType::kSender, "alice@o.test");
        for (const auto& r : rcpts) (*m)->feed(RecordType::kRecipient, "P" + r);
        (*m)->feed(RecordType::kContentStart, "");
        for (const auto& l : lines) (*m)->feed(RecordType::kNormal, l);
        (*m)->feed(RecordType::kExtractedStart, "");
        (*m)->feed(RecordType::kEnd, "");
        CleanupStatus st = (*m)->finish();
        reason = (*m)->reason();
        return st;
    }
    queue::testing::ReadBack read_back(const std::string& queue_name, const std::string& id) {
        return queue::testing::read_back(params.layout.file_path(queue_name, id));
    }
    bool exists(const std::string& queue_name, const std::string& id) const {
        return std::filesystem::exists(params.layout.file_path(queue_name, id));
    }

    std::string dir;
    cleanup::CleanupParams params;
    std::vector<std::string> logged;
    std::string reason;
};

// The header lines of the queue file, up to the empty line, without the
// Message-ID/Date cleanup adds.
std::vector<std::string> header_of(const std::vector<std::string>& lines) {
    std::vector<std::string> out;
    for (const auto& l : lines) {
        if (l.empty()) break;
        if (l.rfind("Message-ID:", 0) == 0 || l.rfind("Date:", 0) == 0) continue;
        out.push_back(l);
    }
    return out;
}

}  // namespace

TEST_CASE("check actions parse with their text", "[unit]") {
    using cleanup::CheckAction;
    struct Row {
        const char* value;
        CheckAction action;
        const char* text;
    };
    const Row rows[] = {
        {"REJECT", CheckAction::kReject, ""},
        {"reject no spam please", CheckAction::kReject, "no spam please"},
        {"DISCARD", CheckAction::kDiscard, ""},
        {"HOLD  look at it", CheckAction::kHold, "look at it"},
        {"WARN", CheckAction::kWarn, ""},
        {"IGNORE", CheckAction::kIgnore, ""},
        {"REPLACE X-New: 1", CheckAction::kReplace, "X-New: 1"},
        {"PREPEND X-Tag: yes", CheckAction::kPrepend, "X-Tag: yes"},
        {"REDIRECT ops@o.test", CheckAction::kRedirect, "ops@o.test"},
        {"FILTER smtp:[127.0.0.1]:10025", CheckAction::kFilter, "smtp:[127.0.0.1]:10025"},
        {"DUNNO", CheckAction::kNone, ""},
        {"OK", CheckAction::kNone, ""},
        {"FROBNICATE", CheckAction::kUnknown, "FROBNICATE"},
    };
    for (const auto& row : rows) {
        CAPTURE(row.value);
        auto r = cleanup::parse_check_action(row.value);
        CHECK(r.action == row.action);
        CHECK(r.text == row.text);
    }
}

TEST_CASE("header_checks edit the header: IGNORE, REPLACE, PREPEND, multi-line headers", "[unit]") {
    Fixture f;
    f.params.header_checks = f.regexp("hc",
                                      "/^X-Drop:/ IGNORE\n"
                                      "/^X-Old: (.*)/ REPLACE X-New: $1\n"
                                      "/^Subject: tagged/ PREPEND X-Tag: yes\n"
                                      "/^X-Long: first[[:space:]]+second/ REPLACE X-Long: joined\n"
                                      "/^X-Warn:/ WARN watch this\n");
    std::string id;
    REQUIRE(f.run({"bob@o.test"},
                  {"From: alice@o.test", "X-Drop: gone", "X-Drop: gone too", " continued", "X-Old: value",
                   "Subject: tagged mail", "X-Long: first", "\tsecond", "X-Warn: w", "", "X-Drop: body line"},
                  &id) == CleanupStatus::kOk);
    auto out = f.read_back("incoming", id);
    std::vector<std::string> expected = {"From: alice@o.test", "X-New: value",  "X-Tag: yes",
                                         "Subject: tagged mail", "X-Long: joined", "X-Warn: w"};
    CHECK(header_of(out.lines) == expected);
    CHECK(out.lines.back() == "X-Drop: body line");  // header_checks do not see the body
    CHECK(f.logged_line(id + ": warning: header X-Warn: w from local; from=<alice@o.test> to=<bob@o.test>: watch this"));
}

TEST_CASE("header_checks REJECT refuses the message with 5.7.1 and leaves no file", "[unit]") {
    struct Row {
        const char* rule;
        const char* reason;
    };
    const Row rows[] = {
        {"/^Subject: spam/ REJECT", "message content rejected"},
        {"/^Subject: spam/ REJECT no spam here", "no spam here"},
    };
    for (const auto& row : rows) {
        CAPTURE(row.rule);
        Fixture f;
        f.params.header_checks = f.regexp("hc", std::string(row.rule) + "\n");
        std::string id;
        CHECK(f.run({"bob@o.test"}, {"Subject: spam", "", "body"}, &id) == CleanupStatus::kContent);
        CHECK(f.reason == row.reason);
        CHECK(f.logged_line(id + ": reject: header Subject: spam from local; from=<alice@o.test> to=<bob@o.test>: 5.7.1 " +
                            row.reason));
        CHECK_FALSE(f.exists("incoming", id));
    }
    CHECK(std::string(submit::cleanup_status_text(CleanupStatus::kContent).dsn) == "5.7.1");
}

TEST_CASE("HOLD puts the message in hold, DISCARD keeps nothing but reports success", "[unit]") {
    Fixture f;
    f.params.header_checks = f.regexp("hc", "/^Subject: hold/ HOLD held for review\n/^Subject: drop/ DISCARD\n");
    std::string held;
    REQUIRE(f.run({"bob@o.test"}, {"Subject: hold me", "", "body"}, &held) == CleanupStatus::kOk);
    CHECK(f.exists("hold", held));
    CHECK_FALSE(f.exists("incoming", held));
    CHECK(f.logged_line(held + ": hold: header Subject: hold me from local; from=<alice@o.test> to=<bob@o.test>: held for review"));

    std::string dropped;
    REQUIRE(f.run({"bob@o.test"}, {"Subject: drop me", "", "body"}, &dropped) == CleanupStatus::kOk);
    CHECK_FALSE(f.exists("incoming", dropped));
    CHECK_FALSE(f.exists("hold", dropped));
    CHECK(f.logged_line(dropped + ": discard: header Subject: drop me from local"));
}

TEST_CASE("body_checks act on body lines, REDIRECT and FILTER are stored for qmgr", "[unit]") {
    Fixture f;
    f.params.body_checks = f.regexp("bc",
                                    "/^secret/ REPLACE [redacted]\n"
                                    "/^noise/ IGNORE\n"
                                    "/^redirect/ REDIRECT ops@o.test\n"
                                    "/^filter/ FILTER smtp:[127.0.0.1]:10025\n"
                                    "/^bad/ REJECT bad body\n");
    std::string id;
    REQUIRE(f.run({"bob@o.test"}, {"Subject: secret", "", "secret text", "noise", "redirect me", "filter me", "end"},
                  &id) == CleanupStatus::kOk);
    auto out = f.read_back("incoming", id);
    std::vector<std::string> body(std::find(out.lines.begin(), out.lines.end(), std::string()) + 1, out.lines.end());
    CHECK(body == std::vector<std::string>{"[redacted]", "redirect me", "filter me", "end"});
    CHECK(out.env.attribute("redirect") == "ops@o.test");
    CHECK(out.env.attribute("filter") == "smtp:[127.0.0.1]:10025");
    CHECK(header_of(out.lines)[0] == "Subject: secret");  // body_checks do not see the header

    std::string rejected;
    CHECK(f.run({"bob@o.test"}, {"Subject: x", "", "bad news"}, &rejected) == CleanupStatus::kContent);
    CHECK(f.reason == "bad body");
}

TEST_CASE("virtual_alias_maps expand envelope recipients, keeping the original recipient", "[unit]") {
    Fixture f;
    std::string path = f.dir + "/virtual";
    std::ofstream(path) << "tomcat@o.test hadoop@o.test\nteam@o.test a@o.test, b@x.test\n";
    auto m = table::Maps::open("texthash:" + path);
    REQUIRE(m);
    f.params.rewrite.virtual_alias = std::make_shared<const table::Maps>(std::move(m.value()));
    std::string id;
    REQUIRE(f.run({"tomcat@o.test", "team", "joe@o.test"}, {"Subject: x", "", "body"}, &id) == CleanupStatus::kOk);
    auto out = f.read_back("incoming", id);
    struct Want {
        const char* address;
        const char* orig;
    };
    const Want want[] = {
        {"hadoop@o.test", "tomcat@o.test"}, {"a@o.test", "team"}, {"b@x.test", "team"}, {"joe@o.test", ""}};
    REQUIRE(out.env.recipients.size() == std::size(want));
    for (std::size_t i = 0; i < std::size(want); ++i) {
        CHECK(out.env.recipients[i].address == want[i].address);
        CHECK(out.env.recipients[i].orig_recipient == want[i].orig);
    }
}

TEST_CASE("duplicate recipients are queued once per original recipient", "[unit]") {
    Fixture f;
    std::string path = f.dir + "/virtual";
    std::ofstream(path) << "tomcat@o.test hadoop@o.test\nteam@o.test hadoop@o.test, tomcat@o.test\n";
    auto m = table::Maps::open("texthash:" + path);
    REQUIRE(m);
    f.params.rewrite.virtual_alias = std::make_shared<const table::Maps>(std::move(m.value()));
    std::string id;
    REQUIRE(f.run({"tomcat@o.test", "TOMCAT@o.test", "hadoop@o.test", "team@o.test", "hadoop@o.test"},
                  {"Subject: x", "", "body"}, &id) == CleanupStatus::kOk);
    auto out = f.read_back("incoming", id);
    std::vector<std::string> got;
    for (const auto& r : out.env.recipients) got.push_back(r.orig_recipient + ">" + r.address);
    // Addresses compare without case; hadoop given directly has no original recipient.
    CHECK(got == std::vector<std::string>{"tomcat@o.test>hadoop@o.test", ">hadoop@o.test",
                                          "team@o.test>hadoop@o.test"});
}

TEST_CASE("a table error in alias expansion is a temporary failure, never a lost recipient", "[unit]") {
    Fixture f;
    auto m = table::Maps::open("fail:down");
    REQUIRE(m);
    f.params.rewrite.virtual_alias = std::make_shared<const table::Maps>(std::move(m.value()));
    std::string id;
    CHECK(f.run({"bob@o.test"}, {"Subject: x", "", "body"}, &id) == CleanupStatus::kDefer);
    CHECK(std::string(submit::cleanup_status_text(CleanupStatus::kDefer).dsn)[0] == '4');
    CHECK_FALSE(f.exists("incoming", id));
}

TEST_CASE("canonical maps and masquerading rewrite the envelope sender and the headers", "[unit]") {
    Fixture f;
    auto m = table::Maps::open("inline:{ alice@o.test=Alice.Smith@host.o.test }");
    REQUIRE(m);
    f.params.rewrite.canonical = std::make_shared<const table::Maps>(std::move(m.value()));
    f.params.rewrite.masquerade.domains = {"o.test"};
    std::string id;
    REQUIRE(f.run({"bob@host.o.test"}, {"From: alice@o.test", "To: bob@host.o.test", "", "body"}, &id) ==
            CleanupStatus::kOk);
    auto out = f.read_back("incoming", id);
    CHECK(out.env.sender == "Alice.Smith@o.test");
    REQUIRE(out.env.recipients.size() == 1);
    CHECK(out.env.recipients[0].address == "bob@host.o.test");  // envelope_recipient is not a masquerade class
    CHECK(header_of(out.lines) == std::vector<std::string>{"From: Alice.Smith@o.test", "To: bob@o.test"});
}

TEST_CASE("each header goes to the check of its MIME class and body_checks never see part headers", "[unit]") {
    Fixture fx;
    // One table per check, each rejecting its own marker, so the reason names the check.
    fx.params.header_checks = fx.regexp("hc", "/^X-Mark: header/ REJECT by header_checks\n");
    fx.params.mime_header_checks = fx.regexp("mc", "/^(Content-Disposition|X-Mark): mime/ REJECT by mime_header_checks\n");
    fx.params.nested_header_checks = fx.regexp("nc", "/^X-Mark: nested/ REJECT by nested_header_checks\n");
    fx.params.body_checks = fx.regexp("bc", "/^X-Mark: body/ REJECT by body_checks\n");
    auto message = [](const std::string& primary, const std::string& part, const std::string& nested,
                      const std::string& body) {
        return std::vector<std::string>{
            "Subject: s", "X-Mark: " + primary, "Content-Type: multipart/mixed; boundary=B", "",
            "--B", "X-Mark: " + part, "", body,
            "--B", "Content-Type: message/rfc822", "", "X-Mark: " + nested, "", "inner body",
            "--B--"};
    };
    struct Case {
        std::string primary, part, nested, body;
        CleanupStatus status;
        std::string reason;
    };
    const Case cases[] = {
        {"header", "-", "-", "text", CleanupStatus::kContent, "by header_checks"},
        {"-", "mime", "-", "text", CleanupStatus::kContent, "by mime_header_checks"},
        {"-", "-", "nested", "text", CleanupStatus::kContent, "by nested_header_checks"},
        {"-", "-", "-", "X-Mark: body", CleanupStatus::kContent, "by body_checks"},
        // The same markers in the wrong place pass.
        {"nested", "header", "header", "X-Mark: header", CleanupStatus::kOk, ""},
        {"mime", "body", "body", "X-Mark: nested", CleanupStatus::kOk, ""},
    };
    for (const auto& c : cases) {
        INFO(c.primary << " / " << c.part << " / " << c.nested << " / " << c.body);
        std::string id;
        CHECK(fx.run({"bob@o.test"}, message(c.primary, c.part, c.nested, c.body), &id) == c.status);
        CHECK(fx.reason == c.reason);
    }
    // A primary Content-* header is a MIME header: mime_header_checks.
    std::string id;
    CHECK(fx.run({"bob@o.test"}, {"Content-Disposition: mime", "", "x"}, &id) == CleanupStatus::kContent);
    CHECK(fx.reason == "by mime_header_checks");
}

TEST_CASE("headers inside the body are written unchanged and MIME nesting over the limit is refused", "[unit]") {
    Fixture fx;
    std::string id;
    REQUIRE(fx.run({"bob@o.test"},
                   {"To: bob", "Content-Type: message/rfc822", "", "To: carol", "From: dave", "", "body"},
                   &id) == CleanupStatus::kOk);
    auto out = fx.read_back("incoming", id);
    // The primary To: is qualified; the attached message's headers are not touched.
    CHECK(std::find(out.lines.begin(), out.lines.end(), "To: bob@o.test") != out.lines.end());
    CHECK(std::find(out.lines.begin(), out.lines.end(), "To: carol") != out.lines.end());
    CHECK(std::find(out.lines.begin(), out.lines.end(), "From: dave") != out.lines.end());

    fx.params.mime_nesting_limit = 2;
    std::vector<std::string> deep = {"Content-Type: multipart/mixed; boundary=a", "", "--a",
                                     "Content-Type: multipart/mixed; boundary=b", "", "--b",
                                     "Content-Type: multipart/mixed; boundary=c", "", "--c", "", "x"};
    CHECK(fx.run({"bob@o.test"}, deep, &id) == CleanupStatus::kContent);
    CHECK(fx.reason == "MIME nesting exceeds safety limit");
    CHECK(fx.logged_line("reject: mime-error MIME nesting exceeds safety limit"));
    fx.params.disable_mime_input_processing = true;
    CHECK(fx.run({"bob@o.test"}, deep, &id) == CleanupStatus::kOk);
}
