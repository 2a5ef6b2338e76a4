// queue_listing_test.cc - the mailq listing and JSON lines (queue_listing.h).
#include <stdlib.h>

#include <catch2/catch.hpp>
#include <filesystem>

#include "lib/bounce/bounce_log.h"
#include "lib/queue/queue_file.h"
#include "lib/showq/queue_listing.h"

using namespace mailroom;

namespace {

// Local time as ctime() would print it, so the test holds in any zone.
std::string when(std::time_t t) {
    struct tm tm {};
    ::localtime_r(&t, &tm);
    char buf[64];
    std::strftime(buf, sizeof(buf), "%a %b %e %H:%M:%S", &tm);
    return buf;
}

using Rcpts = std::vector<showq::QueueEntry::Recipient>;

Rcpts rcpts(std::initializer_list<const char*> addresses) {
    Rcpts out;
    for (const char* a : addresses) out.push_back({a, ""});
    return out;
}

// A message from alice@x in deferred/ (12 bytes of content); returns its ID.
std::string add_deferred(const queue::QueueLayout& layout, std::initializer_list<const char*> recipients) {
    queue::WriterOptions opts;
    opts.queue = "deferred";
    auto w = queue::QueueWriter::create(layout, opts);
    REQUIRE(w);
    REQUIRE(w->set_arrival_time(1795500000, 0));
    REQUIRE(w->set_sender("alice@x"));
    for (const char* r : recipients) REQUIRE(w->add_recipient({r}));
    REQUIRE(w->begin_content());
    REQUIRE(w->add_line("Subject: hi"));
    REQUIRE(w->begin_extracted());
    std::string id = w->queue_id();
    REQUIRE(w->commit());
    return id;
}

}  // namespace

TEST_CASE("an empty queue", "[unit]") { CHECK(showq::format_mailq({}) == "Mail queue is empty\n"); }

TEST_CASE("mailq format follows Postfix column for column", "[unit]") {
    std::vector<showq::QueueEntry> e(3);
    e[0] = {"active", "D786582E95", 346, 1795500000, "hadoop@example.com", rcpts({"user@example.com", "two@example.com"})};
    e[1] = {"hold", "ABCDE1", 1500, 1795500000, "", rcpts({"x@y"})};
    e[2] = {"deferred", "12345678901", 20, 1795500000, "s@t", rcpts({"r@t"})};
    std::string w = when(1795500000);
    std::string expected =
        "-Queue ID-  --Size-- ----Arrival Time---- -Sender/Recipient-------\n"
        "D786582E95*     346 " + w + "  hadoop@example.com\n"
        "                                         user@example.com\n"
        "                                         two@example.com\n"
        "\n"
        "ABCDE1!        1500 " + w + "  MAILER-DAEMON\n"
        "                                         x@y\n"
        "\n"
        "12345678901       20 " + w + "  s@t\n"  // a long ID pushes the size over, as in Postfix
        "                                         r@t\n"
        "\n"
        "-- 2 Kbytes in 3 Requests.\n";
    CHECK(showq::format_mailq(e) == expected);
}

TEST_CASE("one request is singular and sizes round up to Kbytes", "[unit]") {
    std::vector<showq::QueueEntry> e(1);
    e[0] = {"incoming", "ABCDEF", 1, 1795500000, "a@b", rcpts({"c@d"})};
    std::string out = showq::format_mailq(e);
    CHECK(out.substr(out.rfind("--")) == "-- 1 Kbytes in 1 Request.\n");
    CHECK(out.find("ABCDEF ") != std::string::npos);  // blank status: neither active nor hold
}

TEST_CASE("JSON lines quote what needs quoting", "[unit]") {
    showq::QueueEntry e{"deferred", "ABCDEF", 12, 100, "a\"b@c", rcpts({"x@y", "z\\w@v"})};
    CHECK(showq::format_json_line(e) ==
          "{\"queue_name\": \"deferred\", \"queue_id\": \"ABCDEF\", \"arrival_time\": 100, \"message_size\": 12, "
          "\"forced_expire\": false, \"sender\": \"a\\\"b@c\", \"recipients\": [{\"address\": \"x@y\"}, "
          "{\"address\": \"z\\\\w@v\"}]}\n");
    CHECK(showq::json_quote("\x01") == "\"\\u0001\"");
}

TEST_CASE("collect_queue reads queue files and lists pending recipients", "[unit]") {
    char tmpl[] = "/tmp/mr-postqueue-test-XXXXXX";
    std::string dir = ::mkdtemp(tmpl);
    queue::QueueLayout layout;
    layout.queue_directory = dir;
    REQUIRE(queue::create_queue_directories(layout));
    std::string id = add_deferred(layout, {"done@x", "todo@x"});
    {
        auto f = queue::QueueFile::open(layout.file_path("deferred", id), true);
        REQUIRE(f);
        auto env = f->read();
        REQUIRE(env);
        REQUIRE(f->mark_done(env->recipients[0]));
    }
    auto entries = showq::collect_queue(layout);
    REQUIRE(entries.size() == 1);
    CHECK(entries[0].queue == "deferred");
    CHECK(entries[0].id == id);
    CHECK(entries[0].sender == "alice@x");
    CHECK(entries[0].size == 12);
    CHECK(entries[0].recipients == rcpts({"todo@x"}));
    std::filesystem::remove_all(dir);
}

TEST_CASE("deferral reasons: a right-aligned line where the reason changes, delay_reason in JSON", "[unit]") {
    std::vector<showq::QueueEntry> e(1);
    e[0] = {"deferred", "ABCDEF", 100, 1795500000, "s@t",
            Rcpts{{"a@x", "connect to x[1.2.3.4]:25: Connection refused"},
                  {"b@x", "connect to x[1.2.3.4]:25: Connection refused"},
                  {"c@y", ""}}};
    std::string w = when(1795500000);
    std::string reason = "(connect to x[1.2.3.4]:25: Connection refused)";
    std::string expected =
        "-Queue ID-  --Size-- ----Arrival Time---- -Sender/Recipient-------\n"
        "ABCDEF          100 " + w + "  s@t\n" + std::string(78 - reason.size(), ' ') + reason + "\n"
        "                                         a@x\n"
        "                                         b@x\n" +
        std::string(58, ' ') + "(reason unavailable)\n"
        "                                         c@y\n"
        "\n"
        "-- 1 Kbytes in 1 Request.\n";
    CHECK(showq::format_mailq(e) == expected);
    CHECK(showq::format_json_line(e[0]).find(
              "\"recipients\": [{\"address\": \"a@x\", \"delay_reason\": \"connect to x[1.2.3.4]:25: Connection "
              "refused\"}, {\"address\": \"b@x\", \"delay_reason\": \"connect to x[1.2.3.4]:25: Connection "
              "refused\"}, {\"address\": \"c@y\"}]}") != std::string::npos);
    // A reason longer than the line starts at column 0.
    std::string long_reason(90, 'r');
    e[0].recipients = Rcpts{{"a@x", long_reason}};
    CHECK(showq::format_mailq(e).find("\n(" + long_reason + ")\n") != std::string::npos);
}

TEST_CASE("collect_queue takes the reasons of deferred mail from the defer logfile", "[unit]") {
    char tmpl[] = "/tmp/mr-postqueue-test-XXXXXX";
    std::string dir = ::mkdtemp(tmpl);
    queue::QueueLayout layout;
    layout.queue_directory = dir;
    REQUIRE(queue::create_queue_directories(layout));
    std::string id = add_deferred(layout, {"one@x", "two@y"});
    bounce::BounceRecipient b;
    b.recipient = "one@x";
    b.status = "4.4.1";
    b.action = "delayed";
    b.reason = "connect to x[127.0.0.1]:25: Connection refused";
    REQUIRE(bounce::append_log(layout, queue::kQueueDefer, id, b));
    auto entries = showq::collect_queue(layout);
    REQUIRE(entries.size() == 1);
    CHECK(entries[0].recipients == Rcpts{{"one@x", "connect to x[127.0.0.1]:25: Connection refused"}, {"two@y", ""}});
    std::filesystem::remove_all(dir);
}
