// mailroom_pw_test.cc - `mailroom pw`: its hashes verify, -t checks a
// hash, the password comes from -p or a line of input, and bad use fails.
#include <catch2/catch.hpp>

#include <cstdio>
#include <string>
#include <vector>

#include "lib/auth/password.h"
#include "mailroom/mailroom_pw.h"

using namespace mailroom;

namespace {

struct Run {
    int status;
    std::string out;
};

Run pw(std::vector<std::string> args, const std::string& input = "") {
    args.insert(args.begin(), "pw");
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    std::FILE* in = std::tmpfile();
    std::FILE* out = std::tmpfile();
    REQUIRE((in && out));
    std::fputs(input.c_str(), in);
    std::rewind(in);
    int status = ctl::pw_command(static_cast<int>(argv.size()), argv.data(), in, out);
    std::rewind(out);
    std::string text;
    for (int c; (c = std::fgetc(out)) != EOF;) text.push_back(static_cast<char>(c));
    std::fclose(in);
    std::fclose(out);
    return {status, text};
}

}  // namespace

TEST_CASE("mailroom pw prints a hash that verifies", "[unit]") {
    for (const char* scheme : {"SHA512-CRYPT", "SHA256-CRYPT", "MD5-CRYPT", "BLF-CRYPT", "SSHA256", "PLAIN-MD5"}) {
        INFO(scheme);
        auto r = pw({"-s", scheme, "-p", "s3cret pass"});
        REQUIRE(r.status == 0);
        REQUIRE(r.out.back() == '\n');
        std::string hash = r.out.substr(0, r.out.size() - 1);
        CHECK(hash.rfind(std::string("{") + scheme + "}", 0) == 0);
        CHECK(auth::verify_password(hash, "s3cret pass") == auth::VerifyResult::kMatch);
    }
    auto r = pw({"-p", "x"});  // SHA512-CRYPT by default
    CHECK(r.out.rfind("{SHA512-CRYPT}$6$", 0) == 0);
}

TEST_CASE("mailroom pw reads the password from its input", "[unit]") {
    auto r = pw({"-s", "SSHA512"}, "from stdin\n");
    REQUIRE(r.status == 0);
    CHECK(auth::verify_password(r.out.substr(0, r.out.size() - 1), "from stdin") == auth::VerifyResult::kMatch);
    CHECK(pw({"-s", "SSHA512"}, "").status == 1);
}

TEST_CASE("mailroom pw -t and -V check a hash", "[unit]") {
    const std::string hash = "{MD5-CRYPT}$1$saltsalt$2HM3oGhH6VPi/5dxZ798f/";
    auto r = pw({"-t", hash, "-p", "secret1"});
    CHECK(r.status == 0);
    CHECK(r.out == hash + " (verified)\n");
    CHECK(pw({"-t", hash, "-p", "wrong"}).status == 1);
    CHECK(pw({"-t", "{NOSUCH}x", "-p", "x"}).status == 1);
    r = pw({"-V", "-s", "SHA256", "-p", "x"});
    CHECK(r.status == 0);
    CHECK(r.out.find(" (verified)\n") != std::string::npos);
}

TEST_CASE("mailroom pw refuses bad use", "[unit]") {
    CHECK(pw({"-s", "NOSUCH", "-p", "x"}).status == 1);
    CHECK(pw({"-x"}).status == 2);
    CHECK(pw({"-s"}).status == 2);
    auto r = pw({"-l"});
    CHECK(r.status == 0);
    CHECK(r.out.find("SHA512-CRYPT") != std::string::npos);
}
