// tls_client.h - the client side of TLS for the smtp/lmtp delivery agent:
// security levels, an OpenSSL client context, and Postfix's log line.
//
// Summary
//   parse_client_level() reads smtp_tls_security_level's words (none, may,
//   encrypt, verify, secure; dane and dane-only are refused as not
//   implemented). ClientContext::create() builds an SSL_CTX with the CA
//   file/directory and the protocol range; new_ssl() makes the SSL object
//   of one connection, with SNI and, for verify/secure, the name (or
//   address literal) the server certificate must match: the MX host at
//   verify, the nexthop (or a subdomain of it) at secure. assess() says
//   what an established session proved: Untrusted (no valid chain),
//   Trusted (a chain to a trusted CA) or Verified (chain and name);
//   client_established_log() is Postfix's line
//     "Trusted TLS connection established to mx[1.2.3.4]:25: TLSv1.3 with
//      cipher TLS_AES_256_GCM_SHA384 (256/256 bits)".
//
// Thread safety
//   A ClientContext is shared by the connections of one loop.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "lib/tls/tls.h"
#include "lib/util/result.h"

namespace mailroom::tls {

enum class ClientLevel { kNone, kMay, kEncrypt, kVerify, kSecure };

// "" is none. `param` names the parameter in the error text.
Result<ClientLevel> parse_client_level(std::string_view word, std::string_view param);
const char* client_level_name(ClientLevel level);

struct ClientPolicy {
    std::string ca_file;
    std::string ca_path;
    std::string protocols;            // opportunistic (may)
    std::string mandatory_protocols;  // encrypt and above
};

enum class Trust { kUntrusted, kTrusted, kVerified };

class ClientContext {
public:
    static Result<std::shared_ptr<ClientContext>> create(const ClientPolicy& policy);
    ~ClientContext();
    ClientContext(const ClientContext&) = delete;
    ClientContext& operator=(const ClientContext&) = delete;

    // One connection's SSL object (nullptr: out of memory). `server_name`
    // is sent as SNI when it is a host name; with `match_name` the
    // certificate must match it (a host name, or an IP address literal).
    // At kSecure a non-empty `nexthop` is matched instead: the nexthop
    // host or any subdomain of it (Postfix's "nexthop, dot-nexthop").
    SSL* new_ssl(ClientLevel level, const std::string& server_name, bool match_name,
                 const std::string& nexthop = {}) const;

    struct Private {};
    explicit ClientContext(Private) {}

private:
    SSL_CTX* may_ = nullptr;        // opportunistic protocols
    SSL_CTX* mandatory_ = nullptr;  // mandatory protocols
};

// What the handshake proved (`name_checked`: new_ssl() had match_name);
// `why` gets OpenSSL's verification error.
Trust assess(SSL* ssl, bool name_checked, std::string* why);
const char* trust_word(Trust trust);  // "Untrusted", "Trusted", "Verified"

std::string client_established_log(Trust trust, std::string_view host_addr_port, const SessionInfo& info);

}  // namespace mailroom::tls
