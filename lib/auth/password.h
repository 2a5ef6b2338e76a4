// password.h - verifying and making stored password hashes.
//
// Summary
//   verify_password() checks a plaintext password against a stored value
//   in the forms Dovecot and courier-authlib store: "{SCHEME}data", or a
//   bare value read with a default scheme (CRYPT, the seed's
//   default_pass_scheme). make_password() makes a new stored value with a
//   random salt, as `doveadm pw -s SCHEME` prints it. plaintext_of()
//   returns the password itself where the scheme keeps it (PLAIN, CLEAR),
//   which challenge-response mechanisms (CRAM-MD5, APOP) need.
//
// Description
//   Schemes (names in any case):
//     PLAIN, CLEAR            the password itself
//     CRYPT                   any libcrypt hash: $1$ $5$ $6$ $2a$/$2b$/$2y$
//                             $y$ $7$ $gy$, or traditional DES
//     MD5-CRYPT, SHA256-CRYPT, SHA512-CRYPT, BLF-CRYPT
//                             libcrypt with that prefix ($1$ $5$ $6$ $2?$)
//     SHA, SHA256, SHA512     base64 (or hex) of the digest of the password
//     SSHA, SSHA256, SSHA512  base64 of digest(password + salt) + salt
//     PLAIN-MD5 (LDAP-MD5)    hex (or base64) of the MD5 digest
//     ARGON2ID, ARGON2I       libargon2's "$argon2id$v=19$m=..,t=..,p=..$salt$hash"
//   A scheme name may carry Dovecot's ".HEX" or ".B64" suffix; without
//   one, the digest schemes accept either encoding by its length.
//   libcrypt is called through crypt_rn() (reentrant), and every
//   comparison of secrets takes time independent of where they differ.
//
// Diagnostics
//   kUnsupported: an unknown scheme or a stored value that is not a
//   well-formed hash of its scheme (it never matches any password).
//
// Thread safety
//   All functions are reentrant.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "lib/util/result.h"

namespace mailroom::auth {

enum class VerifyResult { kMatch, kMismatch, kUnsupported };

// `stored` as a passdb holds it; `default_scheme` applies when it has no
// "{SCHEME}" prefix.
VerifyResult verify_password(std::string_view stored, std::string_view plain,
                             std::string_view default_scheme = "CRYPT");

// The plaintext of a PLAIN/CLEAR value ("{PLAIN}secret", or a bare value
// when `default_scheme` is PLAIN or CLEAR); nullopt for hashes.
std::optional<std::string> plaintext_of(std::string_view stored, std::string_view default_scheme = "CRYPT");

// APOP (RFC 1939): does `digest` (hex, any case) equal MD5(timestamp +
// the password kept in `stored`)? kUnsupported when `stored` is a hash,
// whose password can not be had back.
VerifyResult verify_apop(std::string_view stored, std::string_view timestamp, std::string_view digest,
                         std::string_view default_scheme = "CRYPT");

// A new "{SCHEME}value" for `plain`, salted from the system's random
// source; an error names an unknown scheme or a libcrypt failure.
Result<std::string> make_password(std::string_view scheme, std::string_view plain);

// The scheme names make_password() accepts, for usage messages.
const char* password_scheme_list();

// Splits "{SCHEME}rest" into an upper-case scheme name and the rest;
// without a well-formed prefix the scheme is empty and rest is `stored`.
struct SchemeSplit {
    std::string scheme;
    std::string_view rest;
};
SchemeSplit split_scheme(std::string_view stored);

}  // namespace mailroom::auth
