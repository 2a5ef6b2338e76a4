// attr_corpus_test.cc - replays tests/fuzz/ipc_attr_corpus.
//
// Each file is named ok_* (one valid record) or bad_* (must be rejected).
// The fuzz target decodes each whole and byte by byte and checks its
// invariants (same verdict both ways, canonical re-encoding).
#include <catch2/catch.hpp>
#include <algorithm>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "lib/util/fs.h"
#include "tests/fuzz/ipc_attr_fuzz.h"
#include "tests/support/corpus.h"

using namespace mailroom;

namespace {
std::vector<std::filesystem::path> corpus() { return testing::corpus_files(MAILROOM_IPC_ATTR_CORPUS); }
}  // namespace

TEST_CASE("attribute record corpus replay", "[corpus]") {
    auto files = corpus();
    REQUIRE(files.size() >= 15);
    for (const auto& path : files) {
        std::optional<bool> expect_ok = testing::corpus_expects_valid(path);
        REQUIRE(expect_ok);
        auto bytes = util::read_file(path.string());
        REQUIRE(bytes.ok());
        fuzz::FuzzVerdict v = fuzz::fuzz_ipc_attrs(*bytes);
        INFO("corpus file " << path.filename().string() << ": " << v.error << v.broken);
        CHECK(v.broken.empty());
        CHECK(v.valid == *expect_ok);
    }
}

TEST_CASE("random mutations of the corpus stay within the invariants", "[corpus]") {
    std::mt19937 rng(4242);
    for (const auto& path : corpus()) {
        std::string bytes = *util::read_file(path.string());
        if (bytes.empty()) continue;
        for (int round = 0; round < 300; ++round) {
            std::string m = testing::mutate(bytes, rng, std::string_view("\0sil_a9", 7));
            fuzz::FuzzVerdict v = fuzz::fuzz_ipc_attrs(m);
            if (!v.broken.empty()) FAIL_CHECK(path.filename().string() << " mutated: " << v.broken);
        }
    }
}
