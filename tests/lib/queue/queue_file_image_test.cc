// queue_file_image_test.cc - read_envelope() with an image: a small queue
// file read whole in one call, checked as strictly as read_envelope().
#include <catch2/catch.hpp>
#include <string>

#include "lib/queue/queue_file.h"
#include "lib/util/fs.h"
#include "queue_test_util.h"

using namespace mailroom;
using namespace mailroom::queue;
using mailroom::queue::testing::TempQueue;

namespace {

std::string write_message(const QueueLayout& layout) {
    auto w = QueueWriter::create(layout);
    REQUIRE(w.ok());
    REQUIRE(w->set_arrival_time(1795500000, 0));
    REQUIRE(w->set_sender("a@example.com"));
    REQUIRE(w->add_attribute("client_address", "127.0.0.1"));
    REQUIRE(w->add_recipient({"b@example.com"}));
    REQUIRE(w->add_recipient({"c@example.com"}));
    REQUIRE(w->begin_content());
    REQUIRE(w->add_line("Subject: x"));
    REQUIRE(w->add_line(""));
    REQUIRE(w->add_line("body"));
    REQUIRE(w->begin_extracted());
    REQUIRE(w->add_recipient({"d@example.com"}));
    auto path = w->commit();
    REQUIRE(path.ok());
    return *path;
}

}  // namespace

TEST_CASE("read_envelope with an image reads a small file whole, as strictly", "[unit]") {
    TempQueue q;
    std::string path = write_message(q.layout);
    std::string bytes = *util::read_file(path);
    auto f = QueueFile::open(path, false);
    REQUIRE(f.ok());
    auto plain = f->read_envelope();
    REQUIRE(plain.ok());
    std::string image = "stale";
    auto env = f->read_envelope(&image, bytes.size());
    REQUIRE(env.ok());
    CHECK(image == bytes);
    CHECK(env->sender == plain->sender);
    CHECK(env->attributes == plain->attributes);
    CHECK(env->size.content_offset == plain->size.content_offset);
    CHECK(env->size.message_size == plain->size.message_size);
    REQUIRE(env->recipients.size() == 3);
    REQUIRE(plain->recipients.size() == 3);
    for (std::size_t i = 0; i < env->recipients.size(); ++i) {
        CHECK(env->recipients[i].address == plain->recipients[i].address);
        CHECK(env->recipients[i].status_offset == plain->recipients[i].status_offset);
        CHECK(env->recipients[i].extracted == plain->recipients[i].extracted);
    }
    // Larger than the limit: read as read_envelope() does, no image.
    image = "stale";
    auto big = f->read_envelope(&image, bytes.size() - 1);
    REQUIRE(big.ok());
    CHECK(image.empty());
    CHECK(big->recipients.size() == 3);

    std::string victim = q.layout.file_path(kQueueIncoming, "00000ABCDE");
    auto whole_envelope_of = [&](const std::string& data, std::string* out) {
        ::unlink(victim.c_str());
        REQUIRE(util::write_file_atomic(victim, data, 0600));
        auto vf = QueueFile::open(victim, false);
        REQUIRE(vf.ok());
        return vf->read_envelope(out, 64 * 1024);
    };
    std::string out;
    for (std::size_t cut = 0; cut < bytes.size(); cut += 5) {
        auto r = whole_envelope_of(bytes.substr(0, cut), &out);
        INFO("cut " << cut);
        REQUIRE_FALSE(r.ok());
        CHECK(is_corruption(r.error()));
    }
    auto trailing = whole_envelope_of(bytes + "E", &out);
    REQUIRE_FALSE(trailing.ok());
    CHECK(is_corruption(trailing.error()));
    // Damage inside the content is left to the reader of the content.
    std::string bad = bytes;
    bad[plain->size.content_offset] = 'Q';
    auto damaged = whole_envelope_of(bad, &out);
    CHECK(damaged.ok());
    CHECK(out == bad);
}
