// tls.h - the server side of TLS: policy from main.cf, an OpenSSL server
// context, and Postfix's descriptions of an established session.
//
// Summary
//   ServerPolicy::from_config() reads the smtpd_tls_* parameters into a
//   plain value (which security level, which files, protocols, ciphers,
//   logging); it does no I/O. ServerContext::create() builds an SSL_CTX
//   from a policy: certificate chain, private key, CA file for client
//   certificates, protocol range and cipher list. SessionInfo describes an
//   established SSL session; received_clause() and established_log() are
//   the texts Postfix puts in the Received: header and in the log.
//
// Description
//   Security level: smtpd_tls_security_level (none, may, encrypt) when it
//   is set, else the legacy smtpd_enforce_tls (encrypt) and smtpd_use_tls
//   (may). smtpd_tls_wrappermode (SMTPS) makes TLS mandatory from the first
//   byte. With "encrypt" the mandatory protocols and ciphers apply, as in
//   Postfix. Protocol lists use Postfix's syntax: "!SSLv2, !SSLv3",
//   ">=TLSv1.2", "<=TLSv1.2" (names: SSLv2 SSLv3 TLSv1 TLSv1.1 TLSv1.2
//   TLSv1.3, separated by commas, colons or white space). Cipher grades:
//   high, medium, low, export, null.
//
// Diagnostics
//   create() reports a missing or unreadable certificate or key, a key
//   that does not match the certificate, or an unusable CA file with the
//   file's name and OpenSSL's reason; the caller then offers no TLS.
//
// Thread safety
//   A ServerContext may be shared by many connections of one loop; SSL
//   objects made from it belong to one connection each.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "lib/config/config.h"
#include "lib/util/result.h"

typedef struct ssl_ctx_st SSL_CTX;
typedef struct ssl_st SSL;

namespace mailroom::tls {

enum class SecurityLevel { kNone, kMay, kEncrypt };

struct ServerPolicy {
    SecurityLevel level = SecurityLevel::kNone;
    bool wrappermode = false;   // smtpd_tls_wrappermode: TLS before the greeting
    bool auth_only = false;     // smtpd_tls_auth_only
    bool received_header = false;  // smtpd_tls_received_header
    int loglevel = 0;           // smtpd_tls_loglevel
    std::string cert_file;      // smtpd_tls_cert_file
    std::string key_file;       // smtpd_tls_key_file (default: the cert file)
    std::string ca_file;        // smtpd_tls_CAfile
    bool ask_ccert = false;     // smtpd_tls_ask_ccert: request (never require) a client certificate
    std::string protocols;      // smtpd_tls_protocols, or the mandatory ones with encrypt
    std::string ciphers;        // cipher grade, likewise

    // TLS is offered (STARTTLS, or SMTPS in wrapper mode).
    bool enabled() const { return level != SecurityLevel::kNone || wrappermode; }
    // Commands other than EHLO/HELO/STARTTLS/NOOP/RSET/QUIT need TLS first.
    bool required() const { return level == SecurityLevel::kEncrypt || wrappermode; }

    static Result<ServerPolicy> from_config(const config::Config& config);
};

// Parses a security level name ("none", "may", "encrypt"); Postfix's
// client-only levels are refused for the server.
Result<SecurityLevel> parse_security_level(std::string_view name);

// A protocol list as an OpenSSL version range plus the versions to turn
// off inside it (TLS1_VERSION etc.; 0 = no bound).
struct ProtocolRange {
    int min_version = 0;
    int max_version = 0;
    long disable_options = 0;  // SSL_OP_NO_TLSv1_1 ...
};
Result<ProtocolRange> parse_protocols(std::string_view list);

// The OpenSSL cipher list of a Postfix cipher grade.
Result<std::string> cipher_list(std::string_view grade);

// What an established session uses.
struct SessionInfo {
    std::string protocol;  // "TLSv1.3"
    std::string cipher;    // "TLS_AES_256_GCM_SHA384"
    int cipher_bits = 0;   // 256
    int algorithm_bits = 0;
    // The client's certificate, when it presented one (smtpd_tls_ask_ccert).
    bool peer_cert = false;
    bool peer_trusted = false;  // it verified against smtpd_tls_CAfile
    std::string peer_cn;        // subject CommonName ({cert_subject})
    std::string issuer_cn;      // issuer CommonName ({cert_issuer})
};
SessionInfo session_info(SSL* ssl);

// "Anonymous TLS connection established from NAME[ADDR]: TLSv1.3 with
// cipher TLS_AES_256_GCM_SHA384 (256/256 bits)"; "Untrusted" or "Trusted"
// instead of "Anonymous" when the client presented a certificate.
std::string established_log(std::string_view namaddr, const SessionInfo& info);
// "(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits))".
std::string received_clause(const SessionInfo& info);
// The Received: header's line on the client certificate, as Postfix writes
// it: "(Client CN "NAME", Issuer "NAME" (verified OK|not verified))" when the
// client presented one, "(Client did not present a certificate)" when one was
// asked for (smtpd_tls_ask_ccert), else "(No client certificate requested)".
std::string received_cert_clause(const SessionInfo& info, bool asked);

// The most recent OpenSSL errors of this thread, joined with ": "
// (empty when there are none); clears the queue.
std::string last_errors();

class ServerContext {
public:
    static Result<std::shared_ptr<ServerContext>> create(const ServerPolicy& policy);
    ~ServerContext();
    ServerContext(const ServerContext&) = delete;
    ServerContext& operator=(const ServerContext&) = delete;

    // A new server-side SSL object for one connection (nullptr: out of memory).
    SSL* new_ssl() const;
    SSL_CTX* native() const { return ctx_; }

    struct Private {};
    explicit ServerContext(Private) {}

private:
    SSL_CTX* ctx_ = nullptr;
};

}  // namespace mailroom::tls
