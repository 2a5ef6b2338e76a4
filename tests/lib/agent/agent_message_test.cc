// agent_message_test.cc - the message copy read from a real queue file and pipe's transformations.
#include "lib/agent/agent_message.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>

#include "lib/queue/queue_dirs.h"
#include "lib/queue/queue_file.h"

using namespace mailroom;
using namespace mailroom::agent;

namespace {

std::string temp_dir() {
    char tmpl[] = "/tmp/mr-agent-msg-XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    return tmpl;
}

MessageCopy copy_of(std::string_view content) {
    auto c = MessageCopy::from_text(queue::QueueEnvelope{}, content);
    REQUIRE(c.ok());
    return std::move(*c);
}

std::string render(std::string_view content, const RenderOptions& o, std::string_view prefix = "") {
    auto c = copy_of(content);
    auto s = c.render_to_string(prefix, o);
    REQUIRE(s.ok());
    return *s;
}

}  // namespace

TEST_CASE("message copy from a real queue file", "[unit]") {
    std::string dir = temp_dir();
    queue::QueueLayout layout{dir};
    REQUIRE(queue::create_queue_directories(layout).ok());
    auto w = queue::QueueWriter::create(layout);
    REQUIRE(w.ok());
    REQUIRE(w->set_arrival_time(1462452545, 0).ok());
    REQUIRE(w->set_sender("hadoop@PXE1.localdomain").ok());
    REQUIRE(w->add_attribute("client_address", "127.0.0.1").ok());
    REQUIRE(w->add_recipient(queue::RecipientSpec("openstack@PXE1.localdomain", "openstack")).ok());
    REQUIRE(w->begin_content().ok());
    REQUIRE(w->add_line("Subject: hi").ok());
    REQUIRE(w->add_line("").ok());
    REQUIRE(w->add_piece("how are ", false).ok());
    REQUIRE(w->add_piece("you?", true).ok());
    REQUIRE(w->begin_extracted().ok());
    auto path = w->commit();
    REQUIRE(path.ok());

    auto copy = MessageCopy::from_queue_file(*path);
    REQUIRE(copy.ok());
    CHECK(copy->envelope().sender == "hadoop@PXE1.localdomain");
    CHECK(copy->envelope().attribute("client_address") == "127.0.0.1");
    REQUIRE(copy->envelope().recipients.size() == 1);
    std::string all;
    REQUIRE(copy->for_each_chunk([&](std::string_view c) {
        all += c;
        return ok_status();
    }).ok());
    CHECK(all == "Subject: hi\n\nhow are you?\n");
    CHECK(copy->size() == all.size());
    auto head = copy->head();
    REQUIRE(head.ok());
    CHECK(*head == "Subject: hi\n\n");

    auto missing = MessageCopy::from_queue_file(dir + "/active/NOSUCHFILE");
    CHECK(!missing.ok());
    std::filesystem::remove_all(dir);
}

namespace {

// A committed queue file with `content` as its lines (no final newline
// handling: every line ends with "\n") and an extracted recipient.
std::string write_message(const queue::QueueLayout& layout, const std::string& content) {
    auto w = queue::QueueWriter::create(layout);
    REQUIRE(w.ok());
    REQUIRE(w->set_arrival_time(1462452545, 0).ok());
    REQUIRE(w->set_sender("a@example.test").ok());
    REQUIRE(w->add_recipient(queue::RecipientSpec("b@example.test")).ok());
    REQUIRE(w->begin_content().ok());
    std::size_t at = 0;
    while (at < content.size()) {
        std::size_t nl = content.find('\n', at);
        REQUIRE(w->add_line(std::string_view(content).substr(at, nl - at)).ok());
        at = nl + 1;
    }
    REQUIRE(w->begin_extracted().ok());
    REQUIRE(w->add_recipient(queue::RecipientSpec("bcc@example.test")).ok());
    auto path = w->commit();
    REQUIRE(path.ok());
    return *path;
}

// A queue file whose first content record's type byte is one that is no
// record (the envelope stays intact).
std::string damaged_message(const queue::QueueLayout& layout) {
    std::string path = write_message(layout, "Subject: x\n\nbody\n");
    auto f = queue::QueueFile::open(path, false);
    REQUIRE(f.ok());
    auto env = f->read_envelope();
    REQUIRE(env.ok());
    int fd = ::open(path.c_str(), O_WRONLY);
    REQUIRE(fd >= 0);
    REQUIRE(::pwrite(fd, "Q", 1, static_cast<off_t>(env->size.content_offset)) == 1);
    ::close(fd);
    return path;
}

std::string all_of(const MessageCopy& copy) {
    std::string all;
    auto st = copy.for_each_chunk([&](std::string_view c) {
        all += c;
        return ok_status();
    });
    INFO((st.ok() ? std::string() : st.error().message));
    REQUIRE(st.ok());
    return all;
}

}  // namespace

TEST_CASE("a large message streams from the queue file's records, and the envelope read jumps over it", "[unit]") {
    std::string dir = temp_dir();
    queue::QueueLayout layout{dir};
    REQUIRE(queue::create_queue_directories(layout).ok());
    std::string content = "Subject: big\nX-Long: " + std::string(200 * 1024, 'h') + "\n\n";
    for (int i = 0; i < 3000; ++i) content += "line " + std::to_string(i) + " " + std::string(90, 'b') + "\n";
    std::string path = write_message(layout, content);

    auto copy = MessageCopy::from_queue_file(path);
    REQUIRE(copy.ok());
    CHECK(copy->size() == content.size());
    REQUIRE(copy->envelope().recipients.size() == 2);
    CHECK(copy->envelope().recipients[1].address == "bcc@example.test");
    CHECK(copy->envelope().recipients[1].extracted);
    auto head = copy->head();
    REQUIRE(head.ok());
    CHECK(*head == content.substr(0, content.find("\n\n") + 2));
    // Twice: each delivery reads the content again, from the start.
    CHECK(all_of(*copy) == content);
    CHECK(all_of(*copy) == content);
    CHECK_FALSE(copy->damage());

    // The envelope alone, read in small pieces with the content jumped over,
    // is the envelope of the whole-file read.
    auto f = queue::QueueFile::open(path, false);
    REQUIRE(f.ok());
    auto full = f->read();
    REQUIRE(full.ok());
    auto env = f->read_envelope();
    REQUIRE(env.ok());
    REQUIRE(env->recipients.size() == full->recipients.size());
    for (std::size_t i = 0; i < env->recipients.size(); ++i) {
        CHECK(env->recipients[i].address == full->recipients[i].address);
        CHECK(env->recipients[i].status_offset == full->recipients[i].status_offset);
    }
    CHECK(env->size.message_size == full->size.message_size);

    // A small message: read once, the same bytes for every reader.
    std::string small = "Subject: s\n\nbody\n";
    auto small_copy = MessageCopy::from_queue_file(write_message(layout, small));
    REQUIRE(small_copy.ok());
    CHECK(all_of(*small_copy) == small);
    CHECK(*small_copy->head() == "Subject: s\n\n");
    CHECK(all_of(*small_copy) == small);
    std::filesystem::remove_all(dir);
}

namespace {

std::size_t open_descriptors() {
    std::size_t n = 0;
    for (const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) {
        (void)e;
        ++n;
    }
    return n;
}

}  // namespace

TEST_CASE("a small queue file is read whole when it is opened and not kept open", "[unit]") {
    std::string dir = temp_dir();
    queue::QueueLayout layout{dir};
    REQUIRE(queue::create_queue_directories(layout).ok());
    std::string small = "Subject: s\n\nbody\n";
    std::string path = write_message(layout, small);
    struct stat sb;
    REQUIRE(::stat(path.c_str(), &sb) == 0);
    std::size_t before = open_descriptors();
    auto copy = MessageCopy::from_queue_file(path);
    REQUIRE(copy.ok());
    CHECK(open_descriptors() == before);
    REQUIRE(copy->queue_device());
    CHECK(*copy->queue_device() == sb.st_dev);
    // Gone from the disk: the content comes from the one read.
    REQUIRE(::unlink(path.c_str()) == 0);
    CHECK(all_of(*copy) == small);
    CHECK(*copy->head() == "Subject: s\n\n");
    MessageCopy::Cursor cursor;
    std::string streamed;
    while (true) {
        auto more = copy->read_next(&cursor, &streamed);
        REQUIRE(more.ok());
        if (!*more) break;
    }
    CHECK(streamed == small);

    // A large one keeps its descriptor (and reads the content from it).
    std::string content = "Subject: big\n\n";
    for (int i = 0; i < 1000; ++i) content += "line " + std::to_string(i) + " " + std::string(90, 'b') + "\n";
    std::string big_path = write_message(layout, content);
    auto big = MessageCopy::from_queue_file(big_path);
    REQUIRE(big.ok());
    CHECK(open_descriptors() == before + 1);
    REQUIRE(::unlink(big_path.c_str()) == 0);
    CHECK(all_of(*big) == content);
    std::filesystem::remove_all(dir);
}

TEST_CASE("damage in the content is found as it is read, and kept", "[unit]") {
    std::string dir = temp_dir();
    queue::QueueLayout layout{dir};
    REQUIRE(queue::create_queue_directories(layout).ok());
    std::string path = damaged_message(layout);
    auto copy = MessageCopy::from_queue_file(path);
    REQUIRE(copy.ok());  // the envelope is intact
    auto st = copy->for_each_chunk([](std::string_view) { return ok_status(); });
    REQUIRE_FALSE(st.ok());
    CHECK(queue::is_corruption(st.error()));
    REQUIRE(copy->damage());
    CHECK(copy->damage()->message.find("corrupt queue file") == 0);

    // A sink's own failure (a full disk) is not the queue file's.
    auto good = MessageCopy::from_queue_file(write_message(layout, "Subject: y\n\nbody\n"));
    REQUIRE(good.ok());
    auto full = good->for_each_chunk([](std::string_view) { return Status(make_temp_error("disk full")); });
    REQUIRE_FALSE(full.ok());
    CHECK_FALSE(good->damage());
    std::filesystem::remove_all(dir);
}

TEST_CASE("rendering for commands applies pipe's transformations", "[unit]") {
    std::string msg = "Subject: x\n\n.dot\nFrom me\n>From x\nplain\n";
    CHECK(render(msg, {}) == msg);
    RenderOptions dot;
    dot.dot_stuff = true;
    CHECK(render(msg, dot) == "Subject: x\n\n..dot\nFrom me\n>From x\nplain\n");
    RenderOptions gt;
    gt.from_quote = true;
    CHECK(render(msg, gt) == "Subject: x\n\n.dot\n>From me\n>From x\nplain\n");
    RenderOptions crlf;
    crlf.eol = "\r\n";
    crlf.blank_line_end = true;
    CHECK(render("a\n\nb\n", crlf, "Delivered-To: u@x\n") == "Delivered-To: u@x\r\na\r\n\r\nb\r\n\r\n");
    RenderOptions all;
    all.dot_stuff = all.from_quote = true;
    // Our own prefix is never quoted.
    CHECK(render("From x\n", all, "From sender date\n") == "From sender date\n>From x\n");
    // Short lines, a line without its newline, and "From" without a space.
    CHECK(render(".\nFr\nFrom\nlast", all) == "..\nFr\nFrom\nlast\n");
}

TEST_CASE("line transformer is independent of chunking", "[unit]") {
    std::string msg = "From a\n.b\n\nFrom \nxFrom y\n..z\nFro\nm q\n";
    RenderOptions o;
    o.dot_stuff = o.from_quote = true;
    o.eol = "\r\n";
    std::string whole;
    {
        LineTransformer t(o);
        t.feed(msg, &whole);
        t.finish(&whole);
    }
    for (size_t step = 1; step <= 7; ++step) {
        std::string out;
        LineTransformer t(o);
        for (size_t i = 0; i < msg.size(); i += step) t.feed(std::string_view(msg).substr(i, step), &out);
        t.finish(&out);
        INFO(step);
        CHECK(out == whole);
    }
    CHECK(whole == ">From a\r\n..b\r\n\r\n>From \r\nxFrom y\r\n...z\r\nFro\r\nm q\r\n");
}

namespace {

// Everything read_next() hands out, and the largest piece.
std::string streamed(const MessageCopy& copy, std::size_t* largest = nullptr) {
    MessageCopy::Cursor cursor;
    std::string all, piece;
    for (int guard = 0; guard < 100000; ++guard) {
        piece.clear();
        auto more = copy.read_next(&cursor, &piece);
        INFO((more.ok() ? std::string() : more.error().message));
        REQUIRE(more.ok());
        all += piece;
        if (largest) *largest = std::max(*largest, piece.size());
        if (!*more) return all;
    }
    FAIL("read_next never ended");
    return all;
}

}  // namespace

TEST_CASE("read_next streams the content in bounded pieces", "[unit]") {
    std::string dir = temp_dir();
    queue::QueueLayout layout{dir};
    REQUIRE(queue::create_queue_directories(layout).ok());
    std::string content = "Subject: big\nX-Long: " + std::string(300 * 1024, 'h') + "\n\n";
    for (int i = 0; i < 5000; ++i) content += "line " + std::to_string(i) + "\n";
    auto copy = MessageCopy::from_queue_file(write_message(layout, content));
    REQUIRE(copy.ok());
    std::size_t largest = 0;
    CHECK(streamed(*copy, &largest) == content);
    CHECK(largest <= 64 * 1024 + 4096);  // a chunk plus at most one record
    CHECK(streamed(*copy) == content);   // again, from the start
    CHECK_FALSE(copy->damage());

    std::string small = "Subject: s\n\nbody\n";
    auto small_copy = MessageCopy::from_queue_file(write_message(layout, small));
    REQUIRE(small_copy.ok());
    CHECK(streamed(*small_copy) == small);
    CHECK(all_of(*small_copy) == small);  // now cached for the next readers
    CHECK(streamed(*small_copy) == small);

    auto text = MessageCopy::from_text(queue::QueueEnvelope{}, content);
    REQUIRE(text.ok());
    CHECK(streamed(*text) == content);
    std::filesystem::remove_all(dir);
}

TEST_CASE("read_next reports damage and keeps it", "[unit]") {
    std::string dir = temp_dir();
    queue::QueueLayout layout{dir};
    REQUIRE(queue::create_queue_directories(layout).ok());
    std::string path = damaged_message(layout);
    auto copy = MessageCopy::from_queue_file(path);
    REQUIRE(copy.ok());
    MessageCopy::Cursor cursor;
    std::string piece;
    auto more = copy->read_next(&cursor, &piece);
    REQUIRE_FALSE(more.ok());
    CHECK(queue::is_corruption(more.error()));
    REQUIRE(copy->damage());
    std::filesystem::remove_all(dir);
}

namespace {

// The smtp agent's DATA form (smtp/smtp_delivery.cc): CRLF, dots doubled,
// lines over `limit` broken; fed in pieces of `piece` bytes.
std::string wire(std::string_view content, std::size_t limit, std::size_t piece = 0) {
    RenderOptions o;
    o.dot_stuff = true;
    o.eol = "\r\n";
    o.line_length_limit = limit;
    LineTransformer t(o);
    std::string out;
    if (piece == 0) piece = content.size() + 1;
    for (std::size_t i = 0; i < content.size(); i += piece) t.feed(content.substr(i, piece), &out);
    t.finish(&out);
    return out;
}

}  // namespace

TEST_CASE("wire form: CRLF and dot-stuffing", "[unit]") {
    CHECK(wire("a\n.b\n..c\n\n.\n", 998) == "a\r\n..b\r\n...c\r\n\r\n..\r\n");
    CHECK(wire("no newline", 998) == "no newline\r\n");
    CHECK(wire("", 998).empty());
    CHECK(wire("x.\n", 998) == "x.\r\n");
}

TEST_CASE("wire form: pieces cut anywhere give the same bytes", "[unit]") {
    std::string content = "Subject: t\n\n.dot\nline two\n" + std::string(50, 'x') + "\n.\n";
    std::string whole = wire(content, 20);
    for (std::size_t p = 1; p < 12; ++p) CHECK(wire(content, 20, p) == whole);
}

TEST_CASE("wire form: lines over the limit are broken with CRLF SPACE", "[unit]") {
    CHECK(wire("abcdefghij\n", 10) == "abcdefghij\r\n");  // exactly the limit
    CHECK(wire("abcdefghijk\n", 10) == "abcdefghij\r\n k\r\n");
    // Each continuation holds the space and limit - 1 bytes.
    CHECK(wire(std::string(28, 'a') + "\n", 10) ==
          std::string(10, 'a') + "\r\n " + std::string(9, 'a') + "\r\n " + std::string(9, 'a') + "\r\n");
    // The doubled dot does not count.
    CHECK(wire(".123456789\n", 10) == "..123456789\r\n");
    CHECK(wire("Subject: " + std::string(995, 's') + "\n", 998) ==
          "Subject: " + std::string(989, 's') + "\r\n " + std::string(6, 's') + "\r\n");
    // Limit 1 is taken as 2.
    CHECK(wire("abcd\n", 1) == "ab\r\n c\r\n d\r\n");
}

TEST_CASE("wire form: limit 0 sends lines as they are", "[unit]") {
    std::string long_line(5000, 'z');
    CHECK(wire(long_line + "\n", 0) == long_line + "\r\n");
}

TEST_CASE("wire form: a last line broken at the limit without a newline", "[unit]") {
    CHECK(wire("abcdefghij", 10) == "abcdefghij\r\n");
}
