// smtp_command_corpus_test.cc - replays the fuzz corpus of hostile
// command lines (tests/fuzz/smtpd_command_corpus) through the parser.
//
// Summary
//   Each file is one command line (no CRLF). The parser must return either
//   a command or an error with a well-formed 4xx/5xx reply, never crash,
//   hang or leak the input's control bytes into a reply. Also replays each
//   file's prefixes so truncation at every byte is covered.
#include <dirent.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "lib/smtp/smtp_command.h"
#include "smtpd_input_fuzz.h"

using namespace mailroom::smtp;

namespace {

std::vector<std::string> corpus_files() {
    std::vector<std::string> out;
    DIR* d = opendir(MAILROOM_SMTPD_CORPUS);
    if (d == nullptr) return out;
    while (dirent* e = readdir(d)) {
        std::string n = e->d_name;
        if (n == "." || n == "..") continue;
        out.push_back(std::string(MAILROOM_SMTPD_CORPUS) + "/" + n);
    }
    closedir(d);
    return out;
}

void check_one(const std::string& line, const ParseOptions& o) {
    auto r = parse_command(line, o);
    if (r.ok()) {
        // A parsed command never carries CR, LF or NUL in its fields.
        for (const std::string* f : {&r.command().address, &r.command().argument}) {
            CHECK(f->find('\0') == std::string::npos);
            CHECK(f->find('\r') == std::string::npos);
            CHECK(f->find('\n') == std::string::npos);
        }
        return;
    }
    const CommandError& e = r.error();
    CHECK(e.code >= 400);
    CHECK(e.code < 600);
    std::string reply = e.reply();
    CHECK(reply.find('\r') == std::string::npos);
    CHECK(reply.find('\n') == std::string::npos);
    CHECK(reply.size() < 512);
}

}  // namespace

TEST_CASE("smtp_command corpus replay never crashes", "[corpus]") {
    auto files = corpus_files();
    REQUIRE(files.size() >= 30);
    ParseOptions lenient;
    ParseOptions strict;
    strict.strict_rfc821_envelopes = true;
    ParseOptions tiny;
    tiny.line_length_limit = 16;
    for (const auto& f : files) {
        std::ifstream in(f, std::ios::binary);
        std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        INFO(f);
        for (const auto* o : {&lenient, &strict, &tiny}) {
            check_one(data, *o);
            for (size_t n = 0; n < data.size() && n < 600; ++n) check_one(data.substr(0, n), *o);
        }
    }
}

TEST_CASE("smtpd input fuzz target holds its invariants on the corpus", "[corpus]") {
    auto files = corpus_files();
    REQUIRE(files.size() >= 40);
    size_t ended = 0;
    for (const auto& f : files) {
        std::ifstream in(f, std::ios::binary);
        std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        INFO(f);
        for (size_t n = 0; n <= data.size() && n < 300; ++n) {
            auto v = mailroom::fuzz::fuzz_smtpd_input(std::string_view(data).substr(0, n));
            INFO("prefix " << n);
            REQUIRE(v.broken == "");
        }
        ended += data.find("\r\n.\r\n") != std::string::npos;
    }
    CHECK(ended >= 2);  // the corpus has complete DATA sections, not only commands
}

TEST_CASE("smtpd input fuzz target accepts only a real end of DATA", "[corpus]") {
    // The target's own check of the DATA end must be able to fail: the
    // smuggling shapes never end DATA, the real one does.
    using mailroom::fuzz::fuzz_smtpd_input;
    for (std::string s : {"x\n.\nMAIL\r\n", "x\r\n.\nMAIL\r\n", "x\n.\r\nMAIL\r\n", "x\r.\r\n",
                          "x\r\n.\r\n"}) {
        INFO(s);
        CHECK(fuzz_smtpd_input(s).broken == "");
        CHECK(fuzz_smtpd_input(s).valid);
    }
}
