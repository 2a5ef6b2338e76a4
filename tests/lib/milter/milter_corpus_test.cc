// milter_corpus_test.cc - replays tests/fuzz/milter_packet_corpus.
//
// Each file is named ok_* (whole packets that parse) or bad_* (must be
// rejected). The fuzz target reads each whole and byte by byte and checks
// that both ways agree.
#include <catch2/catch.hpp>
#include <random>

#include "lib/util/fs.h"
#include "tests/fuzz/milter_packet_fuzz.h"
#include "tests/support/corpus.h"

using namespace mailroom;

TEST_CASE("milter packet corpus replay", "[corpus]") {
    auto files = testing::corpus_files(MAILROOM_MILTER_CORPUS);
    REQUIRE(files.size() >= 20);
    for (const auto& path : files) {
        auto expect_ok = testing::corpus_expects_valid(path);
        REQUIRE(expect_ok);
        auto bytes = util::read_file(path.string());
        REQUIRE(bytes.ok());
        fuzz::FuzzVerdict v = fuzz::fuzz_milter_packets(*bytes);
        INFO("corpus file " << path.filename().string() << ": " << v.error << v.broken);
        CHECK(v.broken.empty());
        CHECK(v.valid == *expect_ok);
    }
}

TEST_CASE("random mutations of the milter corpus keep the reader consistent", "[corpus]") {
    std::mt19937 rng(1818);
    for (const auto& path : testing::corpus_files(MAILROOM_MILTER_CORPUS)) {
        auto bytes = util::read_file(path.string());
        REQUIRE(bytes.ok());
        for (int i = 0; i < 200; ++i) {
            static const std::string alphabet("\0\1acdhimrsty+-2eOqbp<>@ :", 26);
            std::string m = testing::mutate(*bytes, rng, alphabet, 0);
            fuzz::FuzzVerdict v = fuzz::fuzz_milter_packets(m);
            INFO("mutation of " << path.filename().string() << ": " << v.broken);
            CHECK(v.broken.empty());
        }
    }
}
