// corpus.h - the fuzz corpora under tests/fuzz, for the tests that replay
// and mutate them.
//
// corpus_files() lists a corpus directory in name order; a file named ok_*
// is valid input and bad_* invalid (corpus_expects_valid). mutate() makes
// one random variant of a corpus file: 1 to 3 edits (overwrite, erase, or
// insert a character of `alphabet`) at offsets from `first` on, padded
// with `pad` to at least first + 1 bytes.
#pragma once

#include <algorithm>
#include <filesystem>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace mailroom::testing {

inline std::vector<std::filesystem::path> corpus_files(const char* dir) {
    std::vector<std::filesystem::path> out;
    for (const auto& e : std::filesystem::directory_iterator(dir)) out.push_back(e.path());
    std::sort(out.begin(), out.end());
    return out;
}

// ok_* -> true, bad_* -> false; anything else is a misnamed corpus file.
inline std::optional<bool> corpus_expects_valid(const std::filesystem::path& path) {
    std::string name = path.filename().string();
    if (name.rfind("ok_", 0) == 0) return true;
    if (name.rfind("bad_", 0) == 0) return false;
    return std::nullopt;
}

inline std::string mutate(std::string bytes, std::mt19937& rng, std::string_view alphabet, std::size_t first = 0,
                          char pad = '\0') {
    while (bytes.size() < first + 1) bytes.push_back(pad);
    int edits = std::uniform_int_distribution<int>(1, 3)(rng);
    for (int e = 0; e < edits; ++e) {
        std::size_t at = std::uniform_int_distribution<std::size_t>(first, bytes.size() - 1)(rng);
        switch (std::uniform_int_distribution<int>(0, 2)(rng)) {
            case 0: bytes[at] = static_cast<char>(rng()); break;
            case 1: bytes.erase(at, 1); break;
            case 2: bytes.insert(at, 1, alphabet[rng() % alphabet.size()]); break;
        }
        while (bytes.size() < first + 1) bytes.push_back(pad);
    }
    return bytes;
}

}  // namespace mailroom::testing
