// sendmail_test.cc - sendmail's options and the record stream it writes
// (sendmail_opts.h, sendmail_message.h), and postdrop turning that stream
// into a maildrop file (postdrop_core.h).
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <string>
#include <vector>

#include "lib/queue/queue_file.h"
#include "lib/queue/record.h"
#include "postdrop/postdrop_core.h"
#include "sendmail/sendmail_message.h"
#include "sendmail/sendmail_opts.h"

using namespace mailroom;
using queue::RecordType;

namespace {

sendmail::SendmailOptions parse_ok(std::vector<std::string> argv) {
    argv.insert(argv.begin(), "sendmail");
    auto o = sendmail::parse_sendmail_args(argv);
    REQUIRE(o);
    return *o;
}

struct Captured {
    std::vector<std::pair<RecordType, std::string>> records;
    sendmail::RecordSink sink() {
        return [this](RecordType t, std::string_view p) {
            records.emplace_back(t, std::string(p));
            return ok_status();
        };
    }
    std::vector<std::string> content() const {
        std::vector<std::string> out;
        bool in = false;
        for (const auto& [t, p] : records) {
            if (t == RecordType::kContentStart) in = true;
            else if (t == RecordType::kExtractedStart) in = false;
            else if (in && t == RecordType::kNormal) out.push_back(p);
        }
        return out;
    }
    std::vector<std::string> of(RecordType type) const {
        std::vector<std::string> out;
        for (const auto& [t, p] : records)
            if (t == type) out.push_back(p);
        return out;
    }
};

// Feeds whole lines; returns true when "." ended the input.
bool feed_all(sendmail::MessageWriter& w, const std::vector<std::string>& lines) {
    for (const auto& l : lines) {
        auto r = w.feed(l, true);
        REQUIRE(r);
        if (*r) return true;
    }
    return false;
}

}  // namespace

TEST_CASE("sendmail options", "[unit]") {
    auto o = parse_ok({"-t", "-oi", "-f", "a@b", "-F", "Full Name", "-N", "success,delay", "x@y", "z@w"});
    CHECK(o.mode == sendmail::Mode::kDeliver);
    CHECK(o.extract_recipients);
    CHECK(o.ignore_dots);
    CHECK(o.sender == "a@b");
    CHECK(o.sender_given);
    CHECK(o.full_name == "Full Name");
    CHECK(o.dsn_notify == "SUCCESS,DELAY");
    CHECK(o.recipients == std::vector<std::string>{"x@y", "z@w"});

    CHECK(parse_ok({"-fa@b"}).sender == "a@b");
    CHECK(parse_ok({"-f", "<>"}).sender.empty());
    CHECK(parse_ok({"-r", "<c@d>"}).sender == "c@d");
    CHECK(parse_ok({"-i"}).ignore_dots);
    CHECK(parse_ok({"-bp"}).mode == sendmail::Mode::kMailq);
    CHECK(parse_ok({"-bi"}).mode == sendmail::Mode::kNewaliases);
    CHECK(parse_ok({"-bs"}).mode == sendmail::Mode::kSmtp);
    CHECK(parse_ok({"-q"}).mode == sendmail::Mode::kFlush);
    CHECK(parse_ok({"-q30m"}).mode == sendmail::Mode::kFlush);
    CHECK(parse_ok({"-C", "/etc/x"}).config_dir == "/etc/x");
    CHECK(parse_ok({"-odb", "-oem", "-B", "8BITMIME", "u"}).recipients == std::vector<std::string>{"u"});
    CHECK(parse_ok({"--", "-notanoption"}).recipients == std::vector<std::string>{"-notanoption"});
    CHECK(parse_ok({"-V", "envid123"}).envid == "envid123");
    CHECK(parse_ok({"-R", "hdrs"}).dsn_ret == "HDRS");
    CHECK(parse_ok({"-RFULL"}).dsn_ret == "FULL");

    auto mailq = sendmail::parse_sendmail_args({"/usr/bin/mailq"});
    REQUIRE(mailq);
    CHECK(mailq->mode == sendmail::Mode::kMailq);
}

TEST_CASE("unsupported sendmail options are rejected by name", "[unit]") {
    for (const char* bad : {"-bd", "-bv", "-X", "-qR", "-Z"}) {
        INFO(bad);
        auto o = sendmail::parse_sendmail_args({"sendmail", bad});
        REQUIRE_FALSE(o);
        CHECK(o.error().message.find(bad) != std::string::npos);
    }
    CHECK_FALSE(sendmail::parse_sendmail_args({"sendmail", "-f"}));
    CHECK_FALSE(sendmail::parse_sendmail_args({"sendmail", "-N", "never,success"}));
    CHECK_FALSE(sendmail::parse_sendmail_args({"sendmail", "-N", "sometimes"}));
    CHECK_FALSE(sendmail::parse_sendmail_args({"sendmail", "-V", "has space"}));
    CHECK_FALSE(sendmail::parse_sendmail_args({"sendmail", "-R", "body"}));
}

TEST_CASE("sendmail writes envelope content and end records", "[unit]") {
    auto o = parse_ok({"-N", "never", "bob"});
    Captured c;
    sendmail::MessageWriter w(o, "alice", c.sink());
    REQUIRE(w.begin(1795500000, 42));
    CHECK_FALSE(feed_all(w, {"Subject: x", "", "body\r"}));
    REQUIRE(w.finish());
    CHECK(c.of(RecordType::kArrivalTime) == std::vector<std::string>{"1795500000.000042"});
    CHECK(c.of(RecordType::kSender) == std::vector<std::string>{"alice"});
    CHECK(c.of(RecordType::kRecipient) == std::vector<std::string>{"Pbob"});
    CHECK(c.of(RecordType::kDsnNotify) == std::vector<std::string>{"NEVER"});
    CHECK(c.content() == std::vector<std::string>{"Subject: x", "", "body"});
    CHECK(c.records.back().first == RecordType::kEnd);
}

TEST_CASE("sendmail -R and -V go into the envelope", "[unit]") {
    auto o = parse_ok({"-R", "hdrs", "-V", "env42", "bob"});
    Captured c;
    sendmail::MessageWriter w(o, "alice", c.sink());
    REQUIRE(w.begin(1, 0));
    REQUIRE(w.finish());
    CHECK(c.of(RecordType::kDsnRet) == std::vector<std::string>{"HDRS"});
    CHECK(c.of(RecordType::kDsnEnvid) == std::vector<std::string>{"env42"});
}

TEST_CASE("a lone dot ends the message unless -i", "[unit]") {
    {
        auto o = parse_ok({"bob"});
        Captured c;
        sendmail::MessageWriter w(o, "alice", c.sink());
        REQUIRE(w.begin(1, 0));
        CHECK(feed_all(w, {"Subject: x", "", "a", ".", "after"}));
        REQUIRE(w.finish());
        CHECK(c.content() == std::vector<std::string>{"Subject: x", "", "a"});
    }
    {
        auto o = parse_ok({"-i", "bob"});
        Captured c;
        sendmail::MessageWriter w(o, "alice", c.sink());
        REQUIRE(w.begin(1, 0));
        CHECK_FALSE(feed_all(w, {"Subject: x", "", "a", ".", "after"}));
        REQUIRE(w.finish());
        CHECK(c.content() == std::vector<std::string>{"Subject: x", "", "a", ".", "after"});
    }
}

TEST_CASE("sendmail -t extracts To Cc Bcc and drops Bcc", "[unit]") {
    auto o = parse_ok({"-t", "extra@x"});
    Captured c;
    sendmail::MessageWriter w(o, "alice", c.sink());
    REQUIRE(w.begin(1, 0));
    feed_all(w, {"To: Ann <ann@x>,", "  ben@x", "Cc: cid@x", "Bcc: dan@x,", " eve@x", "Subject: s", "",
                 "To: not@header"});
    REQUIRE(w.finish());
    CHECK(c.content() == std::vector<std::string>{"To: Ann <ann@x>,", "  ben@x", "Cc: cid@x", "Subject: s", "",
                                                  "To: not@header"});
    CHECK(w.extracted() == std::vector<std::string>{"ann@x", "ben@x", "cid@x", "dan@x", "eve@x"});
    // Command-line recipients in the envelope, extracted ones after X.
    auto rcpts = c.of(RecordType::kRecipient);
    CHECK(rcpts == std::vector<std::string>{"Pextra@x", "Pann@x", "Pben@x", "Pcid@x", "Pdan@x", "Peve@x"});
}

TEST_CASE("sendmail -t without any recipient fails", "[unit]") {
    auto o = parse_ok({"-t"});
    Captured c;
    sendmail::MessageWriter w(o, "alice", c.sink());
    REQUIRE(w.begin(1, 0));
    feed_all(w, {"Subject: nobody", "", "x"});
    CHECK_FALSE(w.finish());
}

TEST_CASE("sendmail -F adds From with the full name when missing", "[unit]") {
    {
        auto o = parse_ok({"-F", "Alice A. Example", "bob"});
        Captured c;
        sendmail::MessageWriter w(o, "alice", c.sink());
        REQUIRE(w.begin(1, 0));
        feed_all(w, {"Subject: x", "", "b"});
        REQUIRE(w.finish());
        CHECK(c.content() ==
              std::vector<std::string>{"Subject: x", "From: \"Alice A. Example\" <alice>", "", "b"});
    }
    {
        auto o = parse_ok({"-F", "Alice", "bob"});
        Captured c;
        sendmail::MessageWriter w(o, "alice", c.sink());
        REQUIRE(w.begin(1, 0));
        feed_all(w, {"From: me@x", "", "b"});
        REQUIRE(w.finish());
        CHECK(c.content() == std::vector<std::string>{"From: me@x", "", "b"});
    }
}

TEST_CASE("long lines pass through in pieces", "[unit]") {
    auto o = parse_ok({"bob"});
    Captured c;
    sendmail::MessageWriter w(o, "alice", c.sink());
    REQUIRE(w.begin(1, 0));
    feed_all(w, {"Subject: x", ""});
    REQUIRE(w.feed(std::string(10, 'a'), false));
    REQUIRE(w.feed(std::string(5, 'b'), true));
    REQUIRE(w.finish());
    CHECK(c.of(RecordType::kContinued) == std::vector<std::string>{std::string(10, 'a')});
    CHECK(c.content().back() == std::string(5, 'b'));
}

TEST_CASE("postdrop commits a complete stream and refuses a broken one", "[unit]") {
    char tmpl[] = "/tmp/mr-postdrop-test-XXXXXX";
    std::string dir = ::mkdtemp(tmpl);
    queue::QueueLayout layout;
    layout.queue_directory = dir;
    REQUIRE(queue::create_queue_directories(layout));

    auto o = parse_ok({"bob@x.test"});
    std::string stream;
    sendmail::MessageWriter w(o, "alice", [&](RecordType t, std::string_view p) {
        return queue::append_record(&stream, t, p);
    });
    REQUIRE(w.begin(1795500000, 0));
    feed_all(w, {"Subject: drop", "", "body"});
    REQUIRE(w.finish());

    auto drop = [&](const std::string& bytes) {
        int fds[2];
        REQUIRE(::pipe(fds) == 0);
        REQUIRE(::write(fds[1], bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size()));
        ::close(fds[1]);
        auto id = postdrop::drop_message(layout, fds[0]);
        ::close(fds[0]);
        return id;
    };
    auto id = drop(stream);
    REQUIRE(id);
    auto f = queue::QueueFile::open(layout.file_path("maildrop", *id), false);
    REQUIRE(f);
    auto env = f->read();
    REQUIRE(env);
    CHECK(env->sender == "alice");
    REQUIRE(env->recipients.size() == 1);
    CHECK(env->recipients[0].address == "bob@x.test");

    // Truncated input and trailing garbage leave nothing behind.
    CHECK_FALSE(drop(stream.substr(0, stream.size() - 3)));
    CHECK_FALSE(drop(stream + "Nx"));
    std::size_t files = 0;
    for (const auto& e : std::filesystem::directory_iterator(dir + "/maildrop")) {
        (void)e;
        ++files;
    }
    CHECK(files == 1);
    std::filesystem::remove_all(dir);
}

TEST_CASE("the Received header of a local submission", "[unit]") {
    auto lines = sendmail::received_header("mx.o.test", "mailroom", 1000, "ABCDE123", 1795500000);
    REQUIRE(lines.size() == 2);
    CHECK(lines[0] == "Received: by mx.o.test (mailroom, from userid 1000)");
    CHECK(lines[1].rfind("\tid ABCDE123; ", 0) == 0);
    CHECK(lines[1].find(" 2026 ") != std::string::npos);

    auto o = parse_ok({"bob"});
    Captured c;
    sendmail::MessageWriter w(o, "alice", c.sink());
    REQUIRE(w.begin(1795500000, 0, lines));
    feed_all(w, {"Subject: x", "", "b"});
    REQUIRE(w.finish());
    auto content = c.content();
    REQUIRE(content.size() == 5);
    CHECK(content[0] == lines[0]);
    CHECK(content[1] == lines[1]);
    CHECK(content[2] == "Subject: x");
}
