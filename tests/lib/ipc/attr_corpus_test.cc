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

using namespace mailroom;

namespace {
std::vector<std::filesystem::path> corpus() {
    std::vector<std::filesystem::path> out;
    for (const auto& e : std::filesystem::directory_iterator(MAILROOM_IPC_ATTR_CORPUS)) out.push_back(e.path());
    std::sort(out.begin(), out.end());
    return out;
}
}  // namespace

TEST_CASE("attribute record corpus replay", "[corpus]") {
    auto files = corpus();
    REQUIRE(files.size() >= 15);
    for (const auto& path : files) {
        std::string name = path.filename().string();
        bool expect_ok = name.rfind("ok_", 0) == 0;
        REQUIRE((expect_ok || name.rfind("bad_", 0) == 0));
        auto bytes = util::read_file(path.string());
        REQUIRE(bytes.ok());
        fuzz::FuzzVerdict v = fuzz::fuzz_ipc_attrs(*bytes);
        INFO("corpus file " << name << ": " << v.error << v.broken);
        CHECK(v.broken.empty());
        CHECK(v.valid == expect_ok);
    }
}

TEST_CASE("random mutations of the corpus stay within the invariants", "[corpus]") {
    std::mt19937 rng(4242);
    for (const auto& path : corpus()) {
        std::string bytes = *util::read_file(path.string());
        if (bytes.empty()) continue;
        for (int round = 0; round < 300; ++round) {
            std::string m = bytes;
            int edits = std::uniform_int_distribution<int>(1, 3)(rng);
            for (int e = 0; e < edits; ++e) {
                std::size_t at = std::uniform_int_distribution<std::size_t>(0, m.size() - 1)(rng);
                switch (std::uniform_int_distribution<int>(0, 2)(rng)) {
                    case 0: m[at] = static_cast<char>(rng()); break;
                    case 1: m.erase(at, 1); break;
                    case 2: m.insert(at, 1, "\0sil_a9"[rng() % 7]); break;
                }
                if (m.empty()) m.assign(1, '\0');
            }
            fuzz::FuzzVerdict v = fuzz::fuzz_ipc_attrs(m);
            if (!v.broken.empty()) FAIL_CHECK(path.filename().string() << " mutated: " << v.broken);
        }
    }
}
