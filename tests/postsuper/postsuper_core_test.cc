// postsuper_core_test.cc - hold, release, delete and requeue on a temporary
// queue (postsuper_core.h).
#include <stdlib.h>
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <ctime>
#include <filesystem>

#include "lib/queue/queue_file.h"
#include "postsuper/postsuper_core.h"

using namespace mailroom;

namespace {

struct TempQueue {
    TempQueue() {
        char tmpl[] = "/tmp/mr-postsuper-test-XXXXXX";
        dir = ::mkdtemp(tmpl);
        layout.queue_directory = dir;
        REQUIRE(queue::create_queue_directories(layout));
    }
    ~TempQueue() { std::filesystem::remove_all(dir); }

    std::string add(const char* queue_name, const char* rcpt) {
        queue::WriterOptions opts;
        opts.queue = queue_name;
        auto w = queue::QueueWriter::create(layout, opts);
        REQUIRE(w);
        REQUIRE(w->set_arrival_time(1795500000, 0));
        REQUIRE(w->set_sender("alice@x"));
        REQUIRE(w->add_recipient({rcpt}));
        REQUIRE(w->begin_content());
        REQUIRE(w->add_line("Subject: hi"));
        REQUIRE(w->begin_extracted());
        std::string id = w->queue_id();
        REQUIRE(w->commit());
        return id;
    }
    bool in(const char* queue_name, const std::string& id) const {
        return std::filesystem::exists(layout.file_path(queue_name, id));
    }

    std::string dir;
    queue::QueueLayout layout;
};

}  // namespace

TEST_CASE("hold and release move files and release makes them due", "[unit]") {
    TempQueue q;
    std::string a = q.add("incoming", "a@x");
    std::string b = q.add("deferred", "b@x");
    CHECK(postsuper::hold_messages(q.layout, {"ALL"}, postsuper::default_queues('h')) == 2);
    CHECK(q.in("hold", a));
    CHECK(q.in("hold", b));
    CHECK_FALSE(q.in("incoming", a));

    CHECK(postsuper::release_messages(q.layout, {a}) == 1);
    CHECK(q.in("deferred", a));
    CHECK(q.in("hold", b));
    struct stat st {};
    REQUIRE(::stat(q.layout.file_path("deferred", a).c_str(), &st) == 0);
    CHECK(st.st_mtime <= std::time(nullptr));
}

TEST_CASE("delete removes only the named messages in the named queues", "[unit]") {
    TempQueue q;
    std::string a = q.add("incoming", "a@x");
    std::string b = q.add("deferred", "b@x");
    CHECK(postsuper::delete_messages(q.layout, {a}, {"deferred"}) == 0);
    CHECK(q.in("incoming", a));
    CHECK(postsuper::delete_messages(q.layout, {a}, postsuper::default_queues('d')) == 1);
    CHECK_FALSE(q.in("incoming", a));
    CHECK(q.in("deferred", b));
    CHECK(postsuper::delete_messages(q.layout, {"ALL"}, postsuper::default_queues('d')) == 1);
    CHECK_FALSE(q.in("deferred", b));
}

TEST_CASE("delete removes the message's status logfiles too", "[unit]") {
    TempQueue q;
    std::string a = q.add("deferred", "a@x");
    std::string b = q.add("deferred", "b@x");
    for (const char* logq : {"bounce", "defer", "trace"}) {
        std::filesystem::create_directories(q.layout.file_dir(logq, a));
        std::filesystem::create_directories(q.layout.file_dir(logq, b));
        std::ofstream(q.layout.file_path(logq, a)) << "x";
        std::ofstream(q.layout.file_path(logq, b)) << "x";
    }
    CHECK(postsuper::delete_messages(q.layout, {a}, postsuper::default_queues('d')) == 1);
    for (const char* logq : {"bounce", "defer", "trace"}) {
        INFO(logq);
        CHECK_FALSE(q.in(logq, a));
        CHECK(q.in(logq, b));
    }
}

TEST_CASE("a file being delivered is skipped", "[unit]") {
    TempQueue q;
    std::string a = q.add("active", "a@x");
    auto f = queue::QueueFile::open(q.layout.file_path("active", a), true);
    REQUIRE(f);
    REQUIRE(f->lock());
    CHECK(postsuper::delete_messages(q.layout, {a}, {"active"}) == 0);
    CHECK(q.in("active", a));
}

TEST_CASE("requeue copies pending recipients into maildrop", "[unit]") {
    TempQueue q;
    std::string a = q.add("deferred", "a@x");
    CHECK(postsuper::requeue_messages(q.layout, {a}, postsuper::default_queues('r')) == 1);
    CHECK_FALSE(q.in("deferred", a));
    auto ids = queue::list_queue(q.layout, "maildrop");
    REQUIRE(ids);
    REQUIRE(ids->size() == 1);
    auto f = queue::QueueFile::open(q.layout.file_path("maildrop", ids->front()), false);
    REQUIRE(f);
    auto env = f->read();
    REQUIRE(env);
    REQUIRE(env->recipients.size() == 1);
    CHECK(env->recipients[0].address == "a@x");
    CHECK(env->sender == "alice@x");
}

TEST_CASE("check_structure moves corrupt files away", "[unit]") {
    TempQueue q;
    std::string a = q.add("deferred", "a@x");
    std::filesystem::resize_file(q.layout.file_path("deferred", a), 20);
    CHECK(postsuper::check_structure(q.layout) == 1);
    CHECK(q.in("corrupt", a));
}
