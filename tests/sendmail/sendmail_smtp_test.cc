// sendmail_smtp_test.cc - sendmail -bs: the SMTP dialogue (sendmail_smtp.h)
// against a fake submitter that records the cleanup stream of each message.
#include <algorithm>
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "sendmail/sendmail_smtp.h"

using namespace mailroom;
using queue::RecordType;

namespace {

struct FakeSubmitter : sendmail::MessageSubmitter {
    struct Message {
        std::string id;
        std::vector<std::pair<RecordType, std::string>> records;
        bool committed = false;
    };
    std::vector<Message> messages;
    int aborts = 0;
    bool fail_open = false;
    bool open_now = false;

    Result<std::string> open() override {
        if (fail_open) return make_temp_error("postdrop failed");
        messages.push_back({"ABC" + std::to_string(messages.size() + 1), {}, false});
        open_now = true;
        return messages.back().id;
    }
    Status write(RecordType type, std::string_view payload) override {
        REQUIRE(open_now);
        messages.back().records.emplace_back(type, std::string(payload));
        return ok_status();
    }
    Status commit() override {
        open_now = false;
        messages.back().committed = true;
        return ok_status();
    }
    void abort() override {
        if (open_now) ++aborts;
        open_now = false;
    }
    std::vector<std::string> of(std::size_t i, RecordType type) const {
        std::vector<std::string> out;
        for (const auto& [t, p] : messages.at(i).records)
            if (t == type) out.push_back(p);
        return out;
    }
};

sendmail::SmtpOptions options() {
    sendmail::SmtpOptions o;
    o.myhostname = "mx.example.test";
    o.banner = "mx.example.test ESMTP mailroom";
    o.uid = 1000;
    return o;
}

std::vector<std::string> lines_of(const std::string& out) {
    std::vector<std::string> v;
    std::size_t start = 0;
    for (std::size_t nl; (nl = out.find("\r\n", start)) != std::string::npos; start = nl + 2)
        v.push_back(out.substr(start, nl - start));
    return v;
}

}  // namespace

TEST_CASE("sendmail -bs: a pipelined dialogue queues each message through the submitter", "[unit]") {
    FakeSubmitter sub;
    sendmail::SmtpDialogue d(options(), &sub);
    CHECK(d.greeting() == "220 mx.example.test ESMTP mailroom\r\n");
    std::string out = d.feed(
        "EHLO client.test\r\n"
        "MAIL FROM:<alice@example.org> RET=HDRS ENVID=E1\r\n"
        "RCPT TO:<bob@remote.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;Bob@Remote.Test\r\n"
        "RCPT TO:<carol@remote.test>\r\n"
        "DATA\r\n"
        "Subject: hi\r\n\r\n..dot\r\nbody\r\n.\r\n"
        "MAIL FROM:<>\r\nRCPT TO:<dave@remote.test>\r\nDATA\r\nx\r\n.\r\n"
        "NOOP\r\nRSET\r\nVRFY bob\r\nQUIT\r\n");
    auto l = lines_of(out);
    REQUIRE(l.size() >= 16);
    CHECK(l[0] == "250-mx.example.test");
    CHECK(std::find(l.begin(), l.end(), "250-PIPELINING") != l.end());
    CHECK(std::find(l.begin(), l.end(), "250-DSN") != l.end());
    CHECK(std::find(l.begin(), l.end(), "250-CHUNKING") == l.end());
    CHECK(std::find(l.begin(), l.end(), "250-ETRN") == l.end());
    std::vector<std::string> tail(l.end() - 13, l.end());
    CHECK(tail == std::vector<std::string>{"250 2.1.0 Ok", "250 2.1.5 Ok", "250 2.1.5 Ok",
                                           "354 End data with <CR><LF>.<CR><LF>", "250 2.0.0 Ok: queued as ABC1",
                                           "250 2.1.0 Ok", "250 2.1.5 Ok", "354 End data with <CR><LF>.<CR><LF>",
                                           "250 2.0.0 Ok: queued as ABC2", "250 2.0.0 Ok", "250 2.0.0 Ok",
                                           "252 2.0.0 bob", "221 2.0.0 Bye"});
    CHECK(d.done());
    REQUIRE(sub.messages.size() == 2);
    CHECK(sub.messages[0].committed);
    CHECK(sub.of(0, RecordType::kSender) == std::vector<std::string>{"alice@example.org"});
    CHECK(sub.of(0, RecordType::kDsnRet) == std::vector<std::string>{"HDRS"});
    CHECK(sub.of(0, RecordType::kDsnEnvid) == std::vector<std::string>{"E1"});
    CHECK(sub.of(0, RecordType::kDsnNotify) == std::vector<std::string>{"SUCCESS,FAILURE"});
    CHECK(sub.of(0, RecordType::kDsnOrcpt) == std::vector<std::string>{"rfc822;Bob@Remote.Test"});
    CHECK(sub.of(0, RecordType::kRecipient) == std::vector<std::string>{"Pbob@remote.test", "Pcarol@remote.test"});
    auto content = sub.of(0, RecordType::kNormal);
    REQUIRE(content.size() == 9);
    CHECK(content[0] == "Received: by mx.example.test (mailroom, from userid 1000)");
    CHECK(content[1].rfind("\tid ABC1; ", 0) == 0);
    CHECK(content[2] == "Received: from client.test (localhost [127.0.0.1])");
    CHECK(content[3] == "\tby mx.example.test (mailroom) with ESMTP id ABC1;");
    CHECK(std::vector<std::string>(content.end() - 4, content.end()) ==
          std::vector<std::string>{"Subject: hi", "", ".dot", "body"});
    CHECK(sub.messages[0].records.back().first == RecordType::kEnd);
    CHECK(sub.of(1, RecordType::kSender) == std::vector<std::string>{""});
    CHECK(sub.of(1, RecordType::kNormal)[3] == "\tby mx.example.test (mailroom) with ESMTP id ABC2");
}

TEST_CASE("sendmail -bs: sequence errors, unknown commands and HELO", "[unit]") {
    FakeSubmitter sub;
    sendmail::SmtpDialogue d(options(), &sub);
    auto l = lines_of(d.feed("RCPT TO:<a@b>\r\nDATA\r\nHELO x\r\nMAIL FROM:<a@b>\r\nMAIL FROM:<a@b>\r\nDATA\r\n"
                             "BDAT 10\r\nFOO\r\nMAIL FROM:<a@b> SIZE=99999999999\r\n"));
    CHECK(l == std::vector<std::string>{"503 5.5.1 Error: need MAIL command", "503 5.5.1 Error: need RCPT command",
                                        "250 mx.example.test", "250 2.1.0 Ok",
                                        "503 5.5.1 Error: nested MAIL command",
                                        "554 5.5.1 Error: no valid recipients",
                                        "502 5.5.2 Error: command not recognized",
                                        "502 5.5.2 Error: command not recognized",
                                        "503 5.5.1 Error: nested MAIL command"});
    CHECK(sub.messages.empty());
}

TEST_CASE("sendmail -bs: message_size_limit, long lines, bare LF and the end of input", "[unit]") {
    auto o = options();
    o.message_size_limit = 100;
    o.parse.line_length_limit = 64;
    FakeSubmitter sub;
    sendmail::SmtpDialogue d(o, &sub);
    std::string big(300, 'x');
    // Commands may end in a bare LF; the end of DATA must be <CR><LF>.<CR><LF>.
    auto l = lines_of(d.feed("HELO h\nMAIL FROM:<a@b>\nRCPT TO:<c@d>\nDATA\n" + big + "\n.\n" + "\r\n.\r\n"));
    REQUIRE(l.size() == 5);
    CHECK(l[4] == "552 5.3.4 Message size exceeds fixed limit");
    REQUIRE(sub.messages.size() == 1);
    CHECK_FALSE(sub.messages[0].committed);
    CHECK(sub.aborts == 1);

    // A command line over line_length_limit: its first 64 bytes run as the
    // command, the rest is skipped (Postfix's smtpd).
    l = lines_of(d.feed("NOOP " + std::string(200, 'N') + "\r\nNOOP\r\n"));
    CHECK(l == std::vector<std::string>{"250 2.0.0 Ok", "250 2.0.0 Ok"});
    l = lines_of(d.feed(std::string(200, 'N') + "\r\nNOOP\r\n"));
    CHECK(l == std::vector<std::string>{"502 5.5.2 Error: command not recognized", "250 2.0.0 Ok"});

    // A long body line in a message within limits is passed on in pieces.
    o.message_size_limit = 0;
    FakeSubmitter sub2;
    sendmail::SmtpDialogue d2(o, &sub2);
    l = lines_of(d2.feed("MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n" + big + "\r\n.\r\n"));
    CHECK(l.back() == "250 2.0.0 Ok: queued as ABC1");
    std::string joined;
    for (const auto& [t, p] : sub2.messages[0].records)
        if (t == RecordType::kContinued || (t == RecordType::kNormal && p[0] == 'x')) joined += p;
    CHECK(joined == big);
    CHECK_FALSE(sub2.of(0, RecordType::kContinued).empty());

    // Input that ends inside DATA queues nothing.
    FakeSubmitter sub3;
    {
        sendmail::SmtpDialogue d3(options(), &sub3);
        (void)d3.feed("MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\nSubject: cut\r\n");
        d3.end_of_input();
        CHECK(d3.done());
    }
    REQUIRE(sub3.messages.size() == 1);
    CHECK_FALSE(sub3.messages[0].committed);
    CHECK(sub3.aborts == 1);
}

TEST_CASE("sendmail -bs: the error limit and a submitter that cannot start", "[unit]") {
    auto o = options();
    o.hard_error_limit = 3;
    FakeSubmitter sub;
    sendmail::SmtpDialogue d(o, &sub);
    auto l = lines_of(d.feed("X\r\nY\r\nZ\r\nNOOP\r\n"));
    CHECK(l.size() == 4);
    CHECK(l[3] == "421 4.7.0 mx.example.test Error: too many errors");
    CHECK(d.done());

    FakeSubmitter failing;
    failing.fail_open = true;
    sendmail::SmtpDialogue d2(options(), &failing);
    l = lines_of(d2.feed("MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\nNOOP\r\n"));
    CHECK(l == std::vector<std::string>{"250 2.1.0 Ok", "250 2.1.5 Ok", "451 4.3.0 Error: queue file write error",
                                        "250 2.0.0 Ok"});
}
