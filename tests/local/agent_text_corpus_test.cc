// agent_text_corpus_test.cc - replays tests/fuzz/agent_text_corpus and a
// fixed stream of pseudo-random inputs through fuzz_agent_text().
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "agent_text_fuzz.h"

using namespace mailroom;

TEST_CASE("agent text corpus replay", "[corpus]") {
    std::vector<std::filesystem::path> files;
    for (const auto& e : std::filesystem::directory_iterator(MAILROOM_AGENT_TEXT_CORPUS)) files.push_back(e.path());
    REQUIRE(files.size() >= 5);
    for (const auto& f : files) {
        std::ifstream in(f, std::ios::binary);
        std::stringstream ss;
        ss << in.rdbuf();
        auto v = fuzz::fuzz_agent_text(ss.str());
        INFO("corpus file " << f.filename().string() << ": " << v.broken);
        CHECK(v.broken.empty());
    }
}

TEST_CASE("agent text invariants over generated inputs", "[corpus]") {
    std::mt19937 rng(20261124);
    const std::string alphabet = "ab .,\"\\#$(){}:|/@+-\n\r\tFrom Delivered-To:";
    for (int i = 0; i < 2000; ++i) {
        std::string s;
        std::size_t len = rng() % 80;
        for (std::size_t j = 0; j < len; ++j) {
            if (rng() % 8 == 0) {
                static const char* words[] = {"From ", "Delivered-To: ", "${recipient}", ":include:", "\n.", "owner-"};
                s += words[rng() % 6];
            } else {
                s += alphabet[rng() % alphabet.size()];
            }
        }
        auto v = fuzz::fuzz_agent_text(s);
        INFO("input: " << s << " -> " << v.broken);
        REQUIRE(v.broken.empty());
    }
}
