// password.cc - see password.h.
#include "lib/auth/password.h"

#include <crypt.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#ifdef MAILROOM_HAVE_ARGON2
#include <argon2.h>
#endif

#include <cctype>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "lib/util/base64.h"
#include "lib/util/strings.h"

namespace mailroom::auth {

namespace {

enum class Kind { kPlain, kCrypt, kDigest, kSaltedDigest, kArgon2 };
enum class Encoding { kAny, kHex, kBase64 };

struct Scheme {
    const char* name;
    Kind kind;
    const char* digest;        // OpenSSL digest name (kDigest, kSaltedDigest)
    const char* crypt_prefix;  // libcrypt salt prefix (kCrypt); "" = any
    Encoding default_encoding;  // what make_password writes
};

const Scheme kSchemes[] = {
    {"PLAIN", Kind::kPlain, nullptr, nullptr, Encoding::kAny},
    {"CLEAR", Kind::kPlain, nullptr, nullptr, Encoding::kAny},
    {"CLEARTEXT", Kind::kPlain, nullptr, nullptr, Encoding::kAny},
    {"CRYPT", Kind::kCrypt, nullptr, "", Encoding::kAny},
    {"MD5-CRYPT", Kind::kCrypt, nullptr, "$1$", Encoding::kAny},
    {"SHA256-CRYPT", Kind::kCrypt, nullptr, "$5$", Encoding::kAny},
    {"SHA512-CRYPT", Kind::kCrypt, nullptr, "$6$", Encoding::kAny},
    {"BLF-CRYPT", Kind::kCrypt, nullptr, "$2b$", Encoding::kAny},
    {"SHA", Kind::kDigest, "SHA1", nullptr, Encoding::kBase64},
    {"SHA1", Kind::kDigest, "SHA1", nullptr, Encoding::kBase64},
    {"SHA256", Kind::kDigest, "SHA256", nullptr, Encoding::kBase64},
    {"SHA512", Kind::kDigest, "SHA512", nullptr, Encoding::kBase64},
    {"SSHA", Kind::kSaltedDigest, "SHA1", nullptr, Encoding::kBase64},
    {"SSHA256", Kind::kSaltedDigest, "SHA256", nullptr, Encoding::kBase64},
    {"SSHA512", Kind::kSaltedDigest, "SHA512", nullptr, Encoding::kBase64},
    {"PLAIN-MD5", Kind::kDigest, "MD5", nullptr, Encoding::kHex},
    {"LDAP-MD5", Kind::kDigest, "MD5", nullptr, Encoding::kBase64},
    {"ARGON2ID", Kind::kArgon2, nullptr, "$argon2id$", Encoding::kAny},
    {"ARGON2I", Kind::kArgon2, nullptr, "$argon2i$", Encoding::kAny},
};

constexpr size_t kSaltLen = 8;

// Looks a scheme name up, with an optional ".HEX"/".B64" suffix.
const Scheme* find_scheme(std::string_view name, Encoding* enc) {
    std::string n(name);
    for (char& c : n) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    *enc = Encoding::kAny;
    if (n.size() > 4 && n.compare(n.size() - 4, 4, ".HEX") == 0) {
        *enc = Encoding::kHex;
        n.resize(n.size() - 4);
    } else if (n.size() > 4 && n.compare(n.size() - 4, 4, ".B64") == 0) {
        *enc = Encoding::kBase64;
        n.resize(n.size() - 4);
    }
    for (const Scheme& s : kSchemes) {
        if (n == s.name) return &s;
    }
    return nullptr;
}

std::optional<std::string> digest(const char* name, std::string_view a, std::string_view b = {}) {
    const EVP_MD* md = EVP_get_digestbyname(name);
    if (md == nullptr) return std::nullopt;
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    if (!ctx || EVP_DigestInit_ex(ctx.get(), md, nullptr) != 1 ||
        EVP_DigestUpdate(ctx.get(), a.data(), a.size()) != 1 ||
        EVP_DigestUpdate(ctx.get(), b.data(), b.size()) != 1 || EVP_DigestFinal_ex(ctx.get(), out, &len) != 1)
        return std::nullopt;
    return std::string(reinterpret_cast<char*>(out), len);
}

size_t digest_size(const char* name) {
    const EVP_MD* md = EVP_get_digestbyname(name);
    return md ? static_cast<size_t>(EVP_MD_get_size(md)) : 0;
}

std::optional<std::string> hex_decode(std::string_view s) {
    if (s.size() % 2 != 0) return std::nullopt;
    auto nibble = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
    };
    std::string out;
    out.reserve(s.size() / 2);
    for (size_t i = 0; i < s.size(); i += 2) {
        int hi = nibble(s[i]), lo = nibble(s[i + 1]);
        if (hi < 0 || lo < 0) return std::nullopt;
        out.push_back(static_cast<char>(hi << 4 | lo));
    }
    return out;
}

std::string hex_encode(std::string_view s) {
    static const char kHex[] = "0123456789abcdef";
    std::string out;
    out.reserve(s.size() * 2);
    for (unsigned char c : s) {
        out.push_back(kHex[c >> 4]);
        out.push_back(kHex[c & 15]);
    }
    return out;
}

// Equal-length secrets compared in constant time.
bool same_bytes(std::string_view a, std::string_view b) {
    return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

// Secrets whose lengths must not leak either: compare their digests.
bool same_secret(std::string_view a, std::string_view b) {
    auto da = digest("SHA256", a);
    auto db = digest("SHA256", b);
    return da && db && same_bytes(*da, *db) && a.size() == b.size();
}

// The raw digest (and salt) a digest scheme stores, in either encoding.
std::optional<std::string> decode_stored(std::string_view data, Encoding enc, size_t raw_size, bool salted) {
    if (enc != Encoding::kBase64) {
        // Hex: exactly the digest (salted values are never hex in practice,
        // but Dovecot's .HEX suffix allows it).
        if (enc == Encoding::kHex || (!salted && data.size() == raw_size * 2)) {
            auto raw = hex_decode(data);
            if (raw || enc == Encoding::kHex) return raw;
        }
    }
    return util::base64_decode(data);
}

VerifyResult verify_crypt(const Scheme& s, std::string_view hash, std::string_view plain) {
    if (hash.empty() || hash.find('\0') != std::string_view::npos || plain.find('\0') != std::string_view::npos)
        return VerifyResult::kUnsupported;
    std::string_view prefix = s.crypt_prefix;
    if (prefix == "$2b$") {
        // Blowfish: $2a$, $2b$ and $2y$ are one scheme to the verifier.
        if (hash.size() < 4 || hash.substr(0, 2) != "$2" || hash[3] != '$') return VerifyResult::kUnsupported;
    } else if (!prefix.empty() && hash.substr(0, prefix.size()) != prefix) {
        return VerifyResult::kUnsupported;
    }
    auto data = std::make_unique<crypt_data>();
    std::memset(data.get(), 0, sizeof(crypt_data));
    std::string h(hash), p(plain);
    const char* out = crypt_rn(p.c_str(), h.c_str(), data.get(), sizeof(crypt_data));
    if (out == nullptr || out[0] == '*') return VerifyResult::kUnsupported;
    return same_bytes(out, hash) ? VerifyResult::kMatch : VerifyResult::kMismatch;
}

VerifyResult verify_argon2(const Scheme& s, std::string_view hash, std::string_view plain) {
    if (hash.substr(0, std::strlen(s.crypt_prefix)) != s.crypt_prefix) return VerifyResult::kUnsupported;
#ifdef MAILROOM_HAVE_ARGON2
    std::string h(hash);
    int rc = argon2_verify(h.c_str(), plain.data(), plain.size(),
                           std::string_view(s.crypt_prefix) == "$argon2id$" ? Argon2_id : Argon2_i);
    if (rc == ARGON2_OK) return VerifyResult::kMatch;
    if (rc == ARGON2_VERIFY_MISMATCH) return VerifyResult::kMismatch;
    return VerifyResult::kUnsupported;
#else
    (void)plain;
    return VerifyResult::kUnsupported;
#endif
}

}  // namespace

SchemeSplit split_scheme(std::string_view stored) {
    SchemeSplit out;
    out.rest = stored;
    if (stored.size() < 3 || stored[0] != '{') return out;
    size_t close = stored.find('}');
    if (close == std::string_view::npos || close == 1 || close > 32) return out;
    std::string_view name = stored.substr(1, close - 1);
    for (char c : name) {
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_')) return out;
    }
    out.scheme.assign(name);
    for (char& c : out.scheme) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    out.rest = stored.substr(close + 1);
    return out;
}

VerifyResult verify_password(std::string_view stored, std::string_view plain, std::string_view default_scheme) {
    SchemeSplit split = split_scheme(stored);
    std::string_view name = split.scheme.empty() ? default_scheme : std::string_view(split.scheme);
    Encoding enc;
    const Scheme* s = find_scheme(name, &enc);
    if (s == nullptr) return VerifyResult::kUnsupported;
    std::string_view data = split.rest;
    switch (s->kind) {
        case Kind::kPlain:
            return same_secret(data, plain) ? VerifyResult::kMatch : VerifyResult::kMismatch;
        case Kind::kCrypt:
            return verify_crypt(*s, data, plain);
        case Kind::kArgon2:
            return verify_argon2(*s, data, plain);
        case Kind::kDigest:
        case Kind::kSaltedDigest: {
            bool salted = s->kind == Kind::kSaltedDigest;
            size_t size = digest_size(s->digest);
            auto raw = decode_stored(data, enc, size, salted);
            if (!raw || size == 0) return VerifyResult::kUnsupported;
            if (salted ? raw->size() <= size : raw->size() != size) return VerifyResult::kUnsupported;
            std::string_view want = std::string_view(*raw).substr(0, size);
            std::string_view salt = std::string_view(*raw).substr(size);
            auto got = digest(s->digest, plain, salt);
            if (!got) return VerifyResult::kUnsupported;
            return same_bytes(*got, want) ? VerifyResult::kMatch : VerifyResult::kMismatch;
        }
    }
    return VerifyResult::kUnsupported;
}

std::optional<std::string> plaintext_of(std::string_view stored, std::string_view default_scheme) {
    SchemeSplit split = split_scheme(stored);
    std::string_view name = split.scheme.empty() ? default_scheme : std::string_view(split.scheme);
    Encoding enc;
    const Scheme* s = find_scheme(name, &enc);
    if (s == nullptr || s->kind != Kind::kPlain) return std::nullopt;
    return std::string(split.rest);
}

VerifyResult verify_apop(std::string_view stored, std::string_view timestamp, std::string_view digest_text,
                         std::string_view default_scheme) {
    auto plain = plaintext_of(stored, default_scheme);
    if (!plain) return VerifyResult::kUnsupported;
    auto want = digest("md5", timestamp, *plain);
    auto got = hex_decode(digest_text);
    if (!want || !got) return VerifyResult::kMismatch;
    return same_secret(*want, *got) ? VerifyResult::kMatch : VerifyResult::kMismatch;
}

const char* password_scheme_list() {
    return "PLAIN CLEAR CRYPT MD5-CRYPT SHA256-CRYPT SHA512-CRYPT BLF-CRYPT SHA SSHA SHA256 SSHA256 SHA512 SSHA512 "
           "PLAIN-MD5 LDAP-MD5 ARGON2ID ARGON2I";
}

Result<std::string> make_password(std::string_view scheme_name, std::string_view plain) {
    Encoding enc;
    const Scheme* s = find_scheme(scheme_name, &enc);
    if (s == nullptr) return make_error("unknown password scheme: " + std::string(scheme_name));
    if (plain.find('\0') != std::string_view::npos) return make_error("password contains a null byte");
    std::string label = std::string("{") + s->name + (enc == Encoding::kHex ? ".HEX" : enc == Encoding::kBase64 ? ".B64" : "") + "}";
    unsigned char rnd[16];
    if (RAND_bytes(rnd, sizeof(rnd)) != 1) return make_temp_error("cannot get random bytes for a salt");
    switch (s->kind) {
        case Kind::kPlain:
            return label + std::string(plain);
        case Kind::kCrypt: {
            // CRYPT: libcrypt's preferred method (yescrypt on Debian).
            const char* prefix = *s->crypt_prefix ? s->crypt_prefix : nullptr;
            char setting[CRYPT_GENSALT_OUTPUT_SIZE];
            if (crypt_gensalt_rn(prefix, 0, reinterpret_cast<const char*>(rnd), sizeof(rnd), setting,
                                 sizeof(setting)) == nullptr)
                return make_error(std::string("cannot make a salt for ") + s->name + ": " + std::strerror(errno));
            auto data = std::make_unique<crypt_data>();
            std::memset(data.get(), 0, sizeof(crypt_data));
            std::string p(plain);
            const char* out = crypt_rn(p.c_str(), setting, data.get(), sizeof(crypt_data));
            if (out == nullptr || out[0] == '*') return make_error(std::string("libcrypt cannot hash ") + s->name);
            return label + out;
        }
        case Kind::kArgon2: {
#ifdef MAILROOM_HAVE_ARGON2
            // Dovecot's defaults: 3 passes over 64 MiB, one lane.
            const uint32_t t = 3, m = 65536, p = 1;
            argon2_type type = std::string_view(s->name) == "ARGON2ID" ? Argon2_id : Argon2_i;
            size_t len = argon2_encodedlen(t, m, p, sizeof(rnd), 32, type);
            std::string out(len, '\0');
            int rc = argon2_hash(t, m, p, plain.data(), plain.size(), rnd, sizeof(rnd), nullptr, 32, out.data(),
                                 out.size(), type, ARGON2_VERSION_NUMBER);
            if (rc != ARGON2_OK) return make_error(std::string("argon2: ") + argon2_error_message(rc));
            out.resize(std::strlen(out.c_str()));
            return label + out;
#else
            return make_error(std::string(s->name) + " is not available: built without libargon2");
#endif
        }
        case Kind::kDigest:
        case Kind::kSaltedDigest: {
            std::string salt;
            if (s->kind == Kind::kSaltedDigest) salt.assign(reinterpret_cast<char*>(rnd), kSaltLen);
            auto d = digest(s->digest, plain, salt);
            if (!d) return make_error(std::string("digest not available: ") + s->digest);
            Encoding out_enc = enc == Encoding::kAny ? s->default_encoding : enc;
            return label + (out_enc == Encoding::kHex ? hex_encode(*d + salt) : util::base64_encode(*d + salt));
        }
    }
    return make_error("unknown password scheme: " + std::string(scheme_name));
}

}  // namespace mailroom::auth
