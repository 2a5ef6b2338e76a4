// tls_client.cc - see tls_client.h.
#include "lib/tls/tls_client.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

namespace mailroom::tls {

namespace {

bool is_address(const std::string& s) {
    unsigned char buf[16];
    return inet_pton(AF_INET, s.c_str(), buf) == 1 || inet_pton(AF_INET6, s.c_str(), buf) == 1;
}

Result<SSL_CTX*> make_ctx(const ClientPolicy& policy, const std::string& protocols) {
    SSL_CTX* c = SSL_CTX_new(TLS_client_method());
    if (!c) return make_error("cannot create the TLS client context: " + last_errors());
    auto fail = [c](std::string why) -> Error {
        SSL_CTX_free(c);
        return make_error(std::move(why));
    };
    auto range = parse_protocols(protocols);
    if (!range) return fail(range.error().message);
    if (range->min_version && !SSL_CTX_set_min_proto_version(c, range->min_version))
        return fail("smtp_tls_protocols: " + last_errors());
    if (range->max_version && !SSL_CTX_set_max_proto_version(c, range->max_version))
        return fail("smtp_tls_protocols: " + last_errors());
    SSL_CTX_set_options(c, range->disable_options | SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
    if (!policy.ca_file.empty() || !policy.ca_path.empty()) {
        if (SSL_CTX_load_verify_locations(c, policy.ca_file.empty() ? nullptr : policy.ca_file.c_str(),
                                          policy.ca_path.empty() ? nullptr : policy.ca_path.c_str()) != 1)
            return fail("cannot load CA certificates from " + (policy.ca_file.empty() ? policy.ca_path : policy.ca_file) +
                        ": " + last_errors());
    }
    // The handshake completes whatever the certificate; assess() judges it
    // afterwards, so that "may" and "encrypt" accept any certificate.
    SSL_CTX_set_verify(c, SSL_VERIFY_NONE, nullptr);
    return c;
}

}  // namespace

Result<ClientLevel> parse_client_level(std::string_view word, std::string_view param) {
    if (word.empty() || word == "none") return ClientLevel::kNone;
    if (word == "may") return ClientLevel::kMay;
    if (word == "encrypt") return ClientLevel::kEncrypt;
    if (word == "verify") return ClientLevel::kVerify;
    if (word == "secure") return ClientLevel::kSecure;
    if (word == "dane" || word == "dane-only")
        return make_error(std::string(param) + " = " + std::string(word) +
                          ": DANE is not implemented; use encrypt, verify or secure");
    return make_error(std::string(param) + ": unknown TLS security level: " + std::string(word));
}

const char* client_level_name(ClientLevel level) {
    switch (level) {
        case ClientLevel::kNone: return "none";
        case ClientLevel::kMay: return "may";
        case ClientLevel::kEncrypt: return "encrypt";
        case ClientLevel::kVerify: return "verify";
        case ClientLevel::kSecure: return "secure";
    }
    return "none";
}

Result<std::shared_ptr<ClientContext>> ClientContext::create(const ClientPolicy& policy) {
    ERR_clear_error();
    auto ctx = std::make_shared<ClientContext>(Private{});
    auto may = make_ctx(policy, policy.protocols);
    if (!may) return may.error();
    ctx->may_ = *may;
    auto mandatory = make_ctx(policy, policy.mandatory_protocols);
    if (!mandatory) return mandatory.error();
    ctx->mandatory_ = *mandatory;
    return ctx;
}

ClientContext::~ClientContext() {
    if (may_) SSL_CTX_free(may_);
    if (mandatory_) SSL_CTX_free(mandatory_);
}

SSL* ClientContext::new_ssl(ClientLevel level, const std::string& server_name, bool match_name,
                            const std::string& nexthop) const {
    SSL* ssl = SSL_new(level == ClientLevel::kMay ? may_ : mandatory_);
    if (!ssl) return nullptr;
    bool address = is_address(server_name);
    if (!server_name.empty() && !address) SSL_set_tlsext_host_name(ssl, server_name.c_str());
    // secure matches the nexthop, not the (DNS-supplied) MX name, as
    // Postfix's smtp_tls_secure_cert_match = nexthop, dot-nexthop.
    const std::string& name = level == ClientLevel::kSecure && !nexthop.empty() ? nexthop : server_name;
    if (match_name && !name.empty()) {
        X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
        bool ok = true;
        if (is_address(name)) {
            ok = X509_VERIFY_PARAM_set1_ip_asc(param, name.c_str()) == 1;
        } else {
            ok = X509_VERIFY_PARAM_set1_host(param, name.c_str(), 0) == 1;
            // A leading dot: any subdomain of the nexthop.
            if (ok && &name == &nexthop) ok = X509_VERIFY_PARAM_add1_host(param, ("." + name).c_str(), 0) == 1;
        }
        X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
        if (!ok) {
            SSL_free(ssl);
            return nullptr;
        }
    }
    return ssl;
}

Trust assess(SSL* ssl, bool name_checked, std::string* why) {
    X509* cert = SSL_get1_peer_certificate(ssl);
    if (!cert) {
        if (why) *why = "no server certificate";
        return Trust::kUntrusted;
    }
    X509_free(cert);
    long result = SSL_get_verify_result(ssl);
    if (result == X509_V_OK) {
        // A name to match was set: it matched (OpenSSL checks it as part
        // of the chain verification).
        return name_checked ? Trust::kVerified : Trust::kTrusted;
    }
    if (why) *why = X509_verify_cert_error_string(result);
    if (result == X509_V_ERR_HOSTNAME_MISMATCH || result == X509_V_ERR_IP_ADDRESS_MISMATCH) return Trust::kTrusted;
    return Trust::kUntrusted;
}

const char* trust_word(Trust trust) {
    switch (trust) {
        case Trust::kUntrusted: return "Untrusted";
        case Trust::kTrusted: return "Trusted";
        case Trust::kVerified: return "Verified";
    }
    return "Untrusted";
}

std::string client_established_log(Trust trust, std::string_view host_addr_port, const SessionInfo& info) {
    return std::string(trust_word(trust)) + " TLS connection established to " + std::string(host_addr_port) + ": " +
           info.protocol + " with cipher " + info.cipher + " (" + std::to_string(info.cipher_bits) + "/" +
           std::to_string(info.algorithm_bits) + " bits)";
}

}  // namespace mailroom::tls
