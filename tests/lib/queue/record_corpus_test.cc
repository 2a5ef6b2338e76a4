// record_corpus_test.cc - replays tests/fuzz/queue_record_corpus.
//
// Each file is named ok_* (a valid queue file) or bad_* (corrupt). Every
// file goes through the fuzz target (pure decoder + segment checker, with
// its invariants) and through the queue file reader from a temp queue; the
// verdicts must match the name, and corrupt files must be reported as
// corruption, never as an I/O error.
#include <catch2/catch.hpp>
#include <filesystem>
#include <string>
#include <vector>

#include "lib/queue/queue_file.h"
#include "lib/util/fs.h"
#include "queue_test_util.h"
#include "tests/fuzz/queue_record_fuzz.h"
#include "tests/support/corpus.h"

using namespace mailroom;
using namespace mailroom::queue;

namespace {
std::vector<std::filesystem::path> corpus() {
    return mailroom::testing::corpus_files(MAILROOM_QUEUE_RECORD_CORPUS);
}
}  // namespace

TEST_CASE("queue record corpus replay", "[corpus]") {
    auto files = corpus();
    REQUIRE(files.size() >= 20);
    queue::testing::TempQueue q;
    std::string victim = q.layout.file_path(kQueueIncoming, "00000C0FFEE");
    for (const auto& path : files) {
        std::string name = path.filename().string();
        bool expect_ok = name.rfind("ok_", 0) == 0;
        REQUIRE((expect_ok || name.rfind("bad_", 0) == 0));
        auto bytes = util::read_file(path.string());
        REQUIRE(bytes.ok());
        INFO("corpus file " << name);

        fuzz::FuzzVerdict v = fuzz::fuzz_queue_records(*bytes);
        CHECK(v.broken.empty());
        // The pure pass does not cross-check the size record's counters.
        if (expect_ok || name != "bad_size_mismatch") {
            INFO("decoder: " << v.error);
            CHECK(v.valid == expect_ok);
        }

        REQUIRE(util::write_file_atomic(victim, *bytes, 0600).ok());
        auto f = QueueFile::open(victim, false);
        REQUIRE(f.ok());
        auto env = f->read();
        INFO("reader: " << (env.ok() ? std::string("ok") : env.error().message));
        CHECK(env.ok() == expect_ok);
        if (!env.ok()) CHECK(is_corruption(env.error()));
    }
}

TEST_CASE("every prefix and every single-byte change of a corpus file stays within the invariants", "[corpus]") {
    for (const auto& path : corpus()) {
        std::string name = path.filename().string();
        if (name.rfind("ok_", 0) != 0) continue;
        std::string bytes = *util::read_file(path.string());
        if (bytes.size() > 2000) continue;
        INFO("corpus file " << name);
        for (std::size_t cut = 0; cut < bytes.size(); ++cut) {
            fuzz::FuzzVerdict v = fuzz::fuzz_queue_records(std::string_view(bytes).substr(0, cut));
            CHECK(v.broken.empty());
            CHECK_FALSE(v.valid);
        }
        for (std::size_t i = 0; i < bytes.size(); ++i) {
            for (unsigned char x : {0x00, 0x01, 0x7f, 0x80, 0xff}) {
                std::string mutated = bytes;
                mutated[i] = static_cast<char>(static_cast<unsigned char>(mutated[i]) ^ x);
                fuzz::FuzzVerdict v = fuzz::fuzz_queue_records(mutated);
                if (!v.broken.empty()) FAIL_CHECK("offset " << i << " xor " << int(x) << ": " << v.broken);
            }
        }
    }
}
