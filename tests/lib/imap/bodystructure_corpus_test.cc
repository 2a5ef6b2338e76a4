// bodystructure_corpus_test.cc - replays tests/fuzz/imap_bodystructure_corpus
// through the fuzz target, then random mutations and every prefix of it:
// the parser never breaks an invariant and never nests without bound.
#include <catch2/catch.hpp>
#include <random>
#include <string>

#include "lib/util/fs.h"
#include "tests/fuzz/imap_bodystructure_fuzz.h"
#include "tests/support/corpus.h"

using namespace mailroom;

TEST_CASE("imap bodystructure corpus replay", "[corpus]") {
    auto files = testing::corpus_files(MAILROOM_IMAP_BODYSTRUCTURE_CORPUS);
    REQUIRE(files.size() >= 10);
    for (const auto& path : files) {
        auto expect = testing::corpus_expects_valid(path);
        REQUIRE(expect);
        auto bytes = util::read_file(path.string());
        REQUIRE(bytes.ok());
        INFO("corpus file " << path.filename().string());
        fuzz::FuzzVerdict v = fuzz::fuzz_imap_bodystructure(*bytes);
        CHECK(v.broken == "");
        CHECK(v.valid == *expect);
    }
}

TEST_CASE("imap bodystructure: prefixes and mutations of the corpus keep the invariants", "[corpus]") {
    std::mt19937 rng(20261207);
    const std::string alphabet = "-\n\r:;=\"\\()<>@,{}[]? \tabBX0123456789\x80\xff";
    for (const auto& path : testing::corpus_files(MAILROOM_IMAP_BODYSTRUCTURE_CORPUS)) {
        std::string bytes = *util::read_file(path.string());
        INFO("corpus file " << path.filename().string());
        for (std::size_t cut = 0; cut < bytes.size() && cut < 2000; cut += 3) {
            fuzz::FuzzVerdict v = fuzz::fuzz_imap_bodystructure(std::string_view(bytes).substr(0, cut));
            if (!v.broken.empty()) FAIL_CHECK("prefix " << cut << ": " << v.broken);
        }
        for (int n = 0; n < 300; ++n) {
            std::string m = testing::mutate(bytes, rng, alphabet);
            fuzz::FuzzVerdict v = fuzz::fuzz_imap_bodystructure(m);
            if (!v.broken.empty()) FAIL_CHECK("mutation " << n << ": " << v.broken << "\n" << m);
        }
    }
}
