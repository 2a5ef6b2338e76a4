// agent_message_test.cc - the message copy read from a real queue file and pipe's transformations.
#include "lib/agent/agent_message.h"

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
