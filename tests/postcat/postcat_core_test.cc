// postcat_core_test.cc - the postcat layout (postcat_core.h).
#include <stdio.h>
#include <stdlib.h>

#include <catch2/catch.hpp>
#include <filesystem>

#include "lib/queue/queue_file.h"
#include "postcat/postcat_core.h"

using namespace mailroom;

namespace {

struct Fixture {
    Fixture() {
        char tmpl[] = "/tmp/mr-postcat-test-XXXXXX";
        dir = ::mkdtemp(tmpl);
        layout.queue_directory = dir;
        REQUIRE(queue::create_queue_directories(layout));
        queue::WriterOptions opts;
        opts.queue = "hold";
        auto w = queue::QueueWriter::create(layout, opts);
        REQUIRE(w);
        REQUIRE(w->set_arrival_time(1795500000, 0));
        REQUIRE(w->set_sender("alice@x"));
        REQUIRE(w->add_recipient({"bob@x", "bob"}));
        REQUIRE(w->begin_content());
        REQUIRE(w->add_line("Subject: hi"));
        REQUIRE(w->add_line(""));
        REQUIRE(w->add_line("body line"));
        REQUIRE(w->begin_extracted());
        REQUIRE(w->add_recipient({"carol@x"}));
        id = w->queue_id();
        REQUIRE(w->commit());
    }
    ~Fixture() { std::filesystem::remove_all(dir); }

    std::string cat(postcat::PostcatParts parts) {
        std::string label;
        auto path = postcat::find_queue_file(layout, id, &label);
        REQUIRE(path);
        CHECK(label == "hold/" + id);
        char* buf = nullptr;
        size_t len = 0;
        FILE* out = ::open_memstream(&buf, &len);
        REQUIRE(postcat::postcat_file(*path, label, parts, out));
        std::fclose(out);
        std::string text(buf, len);
        std::free(buf);
        return text;
    }

    std::string dir;
    std::string id;
    queue::QueueLayout layout;
};

}  // namespace

TEST_CASE("postcat shows envelope content and extracted records", "[unit]") {
    Fixture f;
    std::string out = f.cat({});
    std::string l = "hold/" + f.id;
    CHECK(out.find("*** ENVELOPE RECORDS " + l + " ***\n") == 0);
    CHECK(out.find("\nsender: alice@x\n") != std::string::npos);
    CHECK(out.find("\noriginal_recipient: bob\nrecipient: bob@x\n") != std::string::npos);
    CHECK(out.find("\n*** MESSAGE CONTENTS " + l + " ***\nSubject: hi\n\nbody line\n*** HEADER EXTRACTED " + l +
                   " ***\nrecipient: carol@x\n*** MESSAGE FILE END " + l + " ***\n") != std::string::npos);
}

TEST_CASE("postcat -h and -b select the header or the body", "[unit]") {
    Fixture f;
    postcat::PostcatParts header;
    header.header = true;
    CHECK(f.cat(header) == "*** MESSAGE CONTENTS hold/" + f.id + " ***\nSubject: hi\n");
    postcat::PostcatParts body;
    body.body = true;
    CHECK(f.cat(body) == "body line\n");
}

TEST_CASE("postcat -q of an unknown ID fails", "[unit]") {
    Fixture f;
    std::string label;
    CHECK_FALSE(postcat::find_queue_file(f.layout, "ABCDEF0", &label));
}
