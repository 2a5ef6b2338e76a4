// password_test.cc - every scheme against known vectors, mismatches and
// malformed values. The crypt vectors come from `openssl passwd` and
// Python's crypt module (libcrypt), the digest ones from their
// definitions (base64 of SHA/MD5 of password + salt), the Argon2i one is
// the reference implementation's published test vector.
#include <catch2/catch.hpp>

#include "lib/auth/password.h"

using namespace mailroom::auth;

namespace {

struct Vector {
    const char* stored;
    const char* password;
};

const Vector kVectors[] = {
    {"{PLAIN}secret", "secret"},
    {"{CLEAR}secret", "secret"},
    {"{plain}with space", "with space"},
    {"{MD5-CRYPT}$1$saltsalt$2HM3oGhH6VPi/5dxZ798f/", "secret1"},
    {"{CRYPT}$1$saltsalt$2HM3oGhH6VPi/5dxZ798f/", "secret1"},
    {"$1$saltsalt$2HM3oGhH6VPi/5dxZ798f/", "secret1"},
    {"{SHA256-CRYPT}$5$saltsaltsalt$FruymSKj7hU9S/Zpql2wzM8hw8OeoAp5aeSncC9YTl7", "secret5"},
    {"{SHA512-CRYPT}$6$saltsaltsalt$yuUUIxrnaIVd81s8i7k2pn7CR0o.EXG3PbZGFC.8fPbOn7VybnLpSU/wRV80eI/2Bxtk2VosuQyfAZKNEVQqa.",
     "secret6"},
    {"$6$saltsaltsalt$yuUUIxrnaIVd81s8i7k2pn7CR0o.EXG3PbZGFC.8fPbOn7VybnLpSU/wRV80eI/2Bxtk2VosuQyfAZKNEVQqa.",
     "secret6"},
    {"{BLF-CRYPT}$2b$05$abcdefghijklmnopqrstuu/s6yL0X7sQu4E3MbdQdAAy0u.NUuigq", "secretbf"},
    {"$2b$05$abcdefghijklmnopqrstuu/s6yL0X7sQu4E3MbdQdAAy0u.NUuigq", "secretbf"},
    {"$y$j9T$k2XAnEHBqQ1Ct2aMXFKNa/$JuJYLTuoOvq2nSVYzdHSPUYf1DwD22XqoDx.bEctYX4", "secrety"},
    {"{CRYPT}abg7ZpjICzU4k", "des7"},
    {"abg7ZpjICzU4k", "des7"},
    {"{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ=", "secret"},
    {"{SHA}e5e9fa1ba31ecd1ae84f75caaa474f3a663f05f4", "secret"},
    {"{SHA.HEX}e5e9fa1ba31ecd1ae84f75caaa474f3a663f05f4", "secret"},
    {"{SSHA}gVK8WC9YyFT1gMsQHTGCgT3sSv5zYWx0", "secret"},
    {"{SHA256}K7gNU3sdo+OL0wNhqoVWhr3g6s1xYv72ol/pe/Unols=", "secret"},
    {"{SSHA256}oBmrdHcA6OZEkkCLeXh71YAerbvhXz1qqwjrPsXmEtNzYWx0c2FsdA==", "secret"},
    {"{SHA512}vSsar3708Jvp9Szi2NWZZ02Bqp1qRCFpbcTZPdBhnWgs5WtNZKnvCXdhztmeD2cmW192CF5bDufKRpayrW/isg==", "secret"},
    {"{SSHA512}iRjXxi6rhPYpuxX1j9XfoMia+YOZ6MBLltGn46bREX+b3os6Fh/Dl8WNN5YGrc4n7fSBhWch1IoYiLBEukHNAE5hQ2w=",
     "secret"},
    {"{PLAIN-MD5}5ebe2294ecd0e0f08eab7690d2a6ee69", "secret"},
    {"{PLAIN-MD5}Xr4ilOzQ4PCOq3aQ0qbuaQ==", "secret"},
    {"{LDAP-MD5}Xr4ilOzQ4PCOq3aQ0qbuaQ==", "secret"},
    {"{ARGON2I}$argon2i$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$wWKIMhR9lyDFvRz9YTZweHKfbftvj+qf+YFY4NeBbtA", "password"},
    {"{ARGON2ID}$argon2id$v=19$m=1024,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$3ueKE2+CYEnS3py++MXxr85HedM1u4oXakpxNLufyLk",
     "secret2"},
};

}  // namespace

TEST_CASE("every scheme matches its known vector and rejects other passwords", "[unit]") {
    for (const Vector& v : kVectors) {
        INFO(v.stored);
        CHECK(verify_password(v.stored, v.password) == VerifyResult::kMatch);
        CHECK(verify_password(v.stored, std::string(v.password) + "x") == VerifyResult::kMismatch);
        CHECK(verify_password(v.stored, "") == VerifyResult::kMismatch);
    }
}

TEST_CASE("a bare value is read with the default scheme", "[unit]") {
    CHECK(verify_password("secret", "secret", "PLAIN") == VerifyResult::kMatch);
    CHECK(verify_password("5ebe2294ecd0e0f08eab7690d2a6ee69", "secret", "PLAIN-MD5") == VerifyResult::kMatch);
    // CRYPT by default: "secret" is not a crypt hash of anything.
    CHECK(verify_password("secret", "secret") != VerifyResult::kMatch);
}

TEST_CASE("malformed hashes and unknown schemes are unsupported", "[unit]") {
    CHECK(verify_password("{NOSUCH}abc", "abc") == VerifyResult::kUnsupported);
    CHECK(verify_password("{SHA}not base64!", "secret") == VerifyResult::kUnsupported);
    CHECK(verify_password("{SHA}Xr4ilOzQ4PCOq3aQ0qbuaQ==", "secret") == VerifyResult::kUnsupported);  // MD5 size
    CHECK(verify_password("{SSHA}5en6G6MezRroT3XKqkdPOmY/BfQ=", "secret") == VerifyResult::kUnsupported);  // no salt
    CHECK(verify_password("{PLAIN-MD5}5ebe2294", "secret") == VerifyResult::kUnsupported);
    CHECK(verify_password("{SHA512-CRYPT}$1$saltsalt$2HM3oGhH6VPi/5dxZ798f/", "secret1") == VerifyResult::kUnsupported);
    CHECK(verify_password("{CRYPT}", "") == VerifyResult::kUnsupported);
    CHECK(verify_password("!", "") == VerifyResult::kUnsupported);
    CHECK(verify_password("*", "x") == VerifyResult::kUnsupported);
    CHECK(verify_password("$6$", "x") != VerifyResult::kMatch);
    CHECK(verify_password("{ARGON2ID}$argon2id$v=19$garbage", "x") == VerifyResult::kUnsupported);
    CHECK(verify_password("{ARGON2ID}$2b$05$abcdefghijklmnopqrstuu/s6yL0X7sQu4E3MbdQdAAy0u.NUuigq", "secretbf") ==
          VerifyResult::kUnsupported);
}

TEST_CASE("plaintext_of returns only clear-text passwords", "[unit]") {
    CHECK(plaintext_of("{PLAIN}secret") == std::optional<std::string>("secret"));
    CHECK(plaintext_of("{CLEAR}a b") == std::optional<std::string>("a b"));
    CHECK(plaintext_of("bare", "PLAIN") == std::optional<std::string>("bare"));
    CHECK_FALSE(plaintext_of("bare").has_value());
    CHECK_FALSE(plaintext_of("{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ=").has_value());
}

TEST_CASE("split_scheme reads only a well-formed prefix", "[unit]") {
    CHECK(split_scheme("{sha512-crypt}$6$x").scheme == "SHA512-CRYPT");
    CHECK(split_scheme("{sha512-crypt}$6$x").rest == "$6$x");
    CHECK(split_scheme("{}x").scheme.empty());
    CHECK(split_scheme("{a b}x").scheme.empty());
    CHECK(split_scheme("{unterminated").rest == "{unterminated");
}

TEST_CASE("make_password output verifies, with a fresh salt each time", "[unit]") {
    for (const char* scheme : {"PLAIN", "CLEAR", "CRYPT", "MD5-CRYPT", "SHA256-CRYPT", "SHA512-CRYPT", "BLF-CRYPT",
                               "SHA", "SSHA", "SHA256", "SSHA256", "SHA512", "SSHA512", "PLAIN-MD5", "ARGON2ID",
                               "sha512-crypt", "SHA256.HEX"}) {
        INFO(scheme);
        auto made = make_password(scheme, "pa55 word");
        REQUIRE(made.ok());
        std::string upper(scheme);
        for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        CHECK(made->rfind("{" + upper + "}", 0) == 0);
        CHECK(verify_password(*made, "pa55 word") == VerifyResult::kMatch);
        CHECK(verify_password(*made, "pa55 wore") == VerifyResult::kMismatch);
    }
    auto a = make_password("SSHA512", "x");
    auto b = make_password("SSHA512", "x");
    REQUIRE((a.ok() && b.ok()));
    CHECK(*a != *b);
    CHECK(make_password("SHA512-CRYPT", "x")->substr(0, 17) == "{SHA512-CRYPT}$6$");
    CHECK_FALSE(make_password("NOSUCH", "x").ok());
}

TEST_CASE("APOP: RFC 1939's example, only from a retrievable password", "[unit]") {
    const char* ts = "<1896.697170952@dbc.mtview.ca.us>";
    CHECK(verify_apop("{PLAIN}tanstaaf", ts, "c4c9334bac560ecc979e58001b3e22fb") == VerifyResult::kMatch);
    CHECK(verify_apop("{CLEAR}tanstaaf", ts, "C4C9334BAC560ECC979E58001B3E22FB") == VerifyResult::kMatch);
    CHECK(verify_apop("tanstaaf", ts, "c4c9334bac560ecc979e58001b3e22fb", "PLAIN") == VerifyResult::kMatch);
    CHECK(verify_apop("{PLAIN}other", ts, "c4c9334bac560ecc979e58001b3e22fb") == VerifyResult::kMismatch);
    CHECK(verify_apop("{PLAIN}tanstaaf", ts, "not hex") == VerifyResult::kMismatch);
    CHECK(verify_apop("{SHA512-CRYPT}$6$abc$def", ts, "c4c9334bac560ecc979e58001b3e22fb") ==
          VerifyResult::kUnsupported);
}
