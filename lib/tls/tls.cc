// tls.cc - see tls.h.
#include "lib/tls/tls.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <cctype>
#include <vector>

#include "lib/config/param_read.h"
#include "lib/util/strings.h"

namespace mailroom::tls {

using config::read_param;

namespace {

struct ProtocolName {
    const char* name;
    int version;
    long no_option;
};
constexpr ProtocolName kProtocols[] = {
    {"SSLv2", 0, 0},  // long gone from OpenSSL: always off
    {"SSLv3", SSL3_VERSION, SSL_OP_NO_SSLv3},
    {"TLSv1", TLS1_VERSION, SSL_OP_NO_TLSv1},
    {"TLSv1.1", TLS1_1_VERSION, SSL_OP_NO_TLSv1_1},
    {"TLSv1.2", TLS1_2_VERSION, SSL_OP_NO_TLSv1_2},
    {"TLSv1.3", TLS1_3_VERSION, SSL_OP_NO_TLSv1_3},
};

const ProtocolName* find_protocol(std::string_view name) {
    for (const auto& p : kProtocols) {
        if (util::iequals(name, p.name)) return &p;
    }
    return nullptr;
}

}  // namespace

Result<SecurityLevel> parse_security_level(std::string_view name) {
    std::string n = util::lowercase(util::trim(name));
    if (n == "none") return SecurityLevel::kNone;
    if (n == "may") return SecurityLevel::kMay;
    if (n == "encrypt") return SecurityLevel::kEncrypt;
    return make_error("invalid TLS security level: \"" + std::string(name) + "\"");
}

Result<ServerPolicy> ServerPolicy::from_config(const config::Config& cfg) {
    ServerPolicy p;
    auto level = cfg.get("smtpd_tls_security_level");
    if (!level) return level.error();
    if (!util::trim(*level).empty()) {
        auto l = parse_security_level(*level);
        if (!l) return make_error("smtpd_tls_security_level: " + l.error().message);
        p.level = *l;
    } else {
        auto enforce = cfg.get_bool("smtpd_enforce_tls");
        if (!enforce) return enforce.error();
        auto use = cfg.get_bool("smtpd_use_tls");
        if (!use) return use.error();
        p.level = *enforce ? SecurityLevel::kEncrypt : *use ? SecurityLevel::kMay : SecurityLevel::kNone;
    }
    if (auto st = read_param(cfg, "smtpd_tls_wrappermode", &p.wrappermode); !st) return st.error();
    if (auto st = read_param(cfg, "smtpd_tls_auth_only", &p.auth_only); !st) return st.error();
    if (auto st = read_param(cfg, "smtpd_tls_received_header", &p.received_header); !st) return st.error();
    if (auto st = read_param(cfg, "smtpd_tls_loglevel", &p.loglevel); !st) return st.error();
    if (auto st = read_param(cfg, "smtpd_tls_cert_file", &p.cert_file); !st) return st.error();
    if (auto st = read_param(cfg, "smtpd_tls_key_file", &p.key_file); !st) return st.error();
    if (auto st = read_param(cfg, "smtpd_tls_CAfile", &p.ca_file); !st) return st.error();
    if (auto st = read_param(cfg, "smtpd_tls_ask_ccert", &p.ask_ccert); !st) return st.error();
    bool mandatory = p.required();
    if (auto st = read_param(cfg, mandatory ? "smtpd_tls_mandatory_protocols" : "smtpd_tls_protocols", &p.protocols); !st)
        return st.error();
    if (auto st = read_param(cfg, mandatory ? "smtpd_tls_mandatory_ciphers" : "smtpd_tls_ciphers", &p.ciphers); !st)
        return st.error();
    // Syntax errors are configuration errors even when TLS is off.
    if (auto r = parse_protocols(p.protocols); !r) return r.error();
    if (auto r = cipher_list(p.ciphers); !r) return r.error();
    return p;
}

Result<ProtocolRange> parse_protocols(std::string_view list) {
    ProtocolRange r;
    std::vector<const ProtocolName*> excluded;
    std::string text(list);
    for (char& c : text) {
        if (c == ',' || c == ':') c = ' ';
    }
    for (const auto& word : util::split_list(text)) {
        std::string_view w = word;
        auto bad = [&] { return make_error("invalid TLS protocol list element: \"" + word + "\""); };
        if (w.substr(0, 2) == ">=" || w.substr(0, 2) == "<=") {
            const ProtocolName* p = find_protocol(w.substr(2));
            if (!p) return bad();
            if (w[0] == '>') {
                r.min_version = p->version;
            } else {
                r.max_version = p->version;
            }
        } else if (!w.empty() && w[0] == '!') {
            const ProtocolName* p = find_protocol(w.substr(1));
            if (!p) return bad();
            excluded.push_back(p);
        } else {
            // A bare name: Postfix reads an include list as "only these".
            const ProtocolName* p = find_protocol(w);
            if (!p) return bad();
            if (p->version == 0) continue;
            if (r.min_version == 0 || p->version < r.min_version) r.min_version = p->version;
            if (p->version > r.max_version) r.max_version = p->version;
        }
    }
    for (const ProtocolName* p : excluded) r.disable_options |= p->no_option;
    return r;
}

Result<std::string> cipher_list(std::string_view grade) {
    std::string g = util::lowercase(util::trim(grade));
    if (g == "high") return std::string("aNULL:-aNULL:HIGH:@STRENGTH");
    if (g == "medium") return std::string("aNULL:-aNULL:HIGH:MEDIUM:+RC4:@STRENGTH");
    if (g == "low") return std::string("aNULL:-aNULL:HIGH:MEDIUM:LOW:+RC4:@STRENGTH");
    if (g == "export") return std::string("aNULL:-aNULL:HIGH:MEDIUM:LOW:EXPORT:+RC4:@STRENGTH");
    if (g == "null") return std::string("eNULL:!aNULL");
    return make_error("invalid TLS cipher grade: \"" + std::string(grade) + "\"");
}

SessionInfo session_info(SSL* ssl) {
    SessionInfo info;
    if (!ssl) return info;
    info.protocol = SSL_get_version(ssl);
    const SSL_CIPHER* c = SSL_get_current_cipher(ssl);
    if (c) {
        info.cipher = SSL_CIPHER_get_name(c);
        info.cipher_bits = SSL_CIPHER_get_bits(c, &info.algorithm_bits);
    }
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
    X509* cert = SSL_get1_peer_certificate(ssl);
#else
    X509* cert = SSL_get_peer_certificate(ssl);
#endif
    if (cert != nullptr) {
        auto cn = [](X509_NAME* name) {
            char buf[256] = "";
            if (name == nullptr || X509_NAME_get_text_by_NID(name, NID_commonName, buf, sizeof(buf)) < 0) return std::string();
            std::string out(buf);
            for (char& ch : out) {
                if (static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f) ch = '?';
            }
            return out;
        };
        info.peer_cert = true;
        info.peer_trusted = SSL_get_verify_result(ssl) == X509_V_OK;
        info.peer_cn = cn(X509_get_subject_name(cert));
        info.issuer_cn = cn(X509_get_issuer_name(cert));
        X509_free(cert);
    }
    return info;
}

std::string established_log(std::string_view namaddr, const SessionInfo& info) {
    const char* kind = !info.peer_cert ? "Anonymous" : info.peer_trusted ? "Trusted" : "Untrusted";
    return std::string(kind) + " TLS connection established from " + std::string(namaddr) + ": " + info.protocol +
           " with cipher " + info.cipher + " (" + std::to_string(info.cipher_bits) + "/" +
           std::to_string(info.algorithm_bits) + " bits)";
}

std::string received_clause(const SessionInfo& info) {
    return "(using " + info.protocol + " with cipher " + info.cipher + " (" + std::to_string(info.cipher_bits) +
           "/" + std::to_string(info.algorithm_bits) + " bits))";
}

std::string received_cert_clause(const SessionInfo& info, bool asked) {
    if (info.peer_cert)
        return "(Client CN \"" + info.peer_cn + "\", Issuer \"" + info.issuer_cn + "\" (" +
               (info.peer_trusted ? "verified OK" : "not verified") + "))";
    return asked ? "(Client did not present a certificate)" : "(No client certificate requested)";
}

std::string last_errors() {
    std::string out;
    unsigned long e;
    while ((e = ERR_get_error()) != 0) {
        char buf[256];
        ERR_error_string_n(e, buf, sizeof(buf));
        if (!out.empty()) out += ": ";
        out += buf;
    }
    return out;
}

Result<std::shared_ptr<ServerContext>> ServerContext::create(const ServerPolicy& policy) {
    ERR_clear_error();
    if (policy.cert_file.empty())
        return make_error("TLS is enabled but smtpd_tls_cert_file is empty: no server certificate");
    auto ctx = std::make_shared<ServerContext>(Private{});
    ctx->ctx_ = SSL_CTX_new(TLS_server_method());
    if (!ctx->ctx_) return make_error("cannot create the TLS server context: " + last_errors());
    SSL_CTX* c = ctx->ctx_;
    auto range = parse_protocols(policy.protocols);
    if (!range) return range.error();
    if (range->min_version && !SSL_CTX_set_min_proto_version(c, range->min_version))
        return make_error("smtpd_tls_protocols: " + last_errors());
    if (range->max_version && !SSL_CTX_set_max_proto_version(c, range->max_version))
        return make_error("smtpd_tls_protocols: " + last_errors());
    SSL_CTX_set_options(c, range->disable_options | SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
    auto ciphers = cipher_list(policy.ciphers);
    if (!ciphers) return ciphers.error();
    if (!SSL_CTX_set_cipher_list(c, ciphers->c_str()))
        return make_error("cannot use cipher grade \"" + policy.ciphers + "\": " + last_errors());
    if (SSL_CTX_use_certificate_chain_file(c, policy.cert_file.c_str()) != 1)
        return make_error("cannot load certificate file " + policy.cert_file + ": " + last_errors());
    std::string key = policy.key_file.empty() ? policy.cert_file : policy.key_file;
    if (SSL_CTX_use_PrivateKey_file(c, key.c_str(), SSL_FILETYPE_PEM) != 1)
        return make_error("cannot load private key file " + key + ": " + last_errors());
    if (SSL_CTX_check_private_key(c) != 1)
        return make_error("private key file " + key + " does not match the certificate in " + policy.cert_file +
                          ": " + last_errors());
    if (!policy.ca_file.empty()) {
        if (SSL_CTX_load_verify_locations(c, policy.ca_file.c_str(), nullptr) != 1)
            return make_error("cannot load CA file " + policy.ca_file + ": " + last_errors());
        // The CA names go in the certificate request.
        if (policy.ask_ccert) {
            if (STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(policy.ca_file.c_str()))
                SSL_CTX_set_client_CA_list(c, names);
        }
    }
    if (policy.ask_ccert) {
        // Asked, never required: any certificate (or none) is taken; its
        // verification result only decides "Trusted" or "Untrusted".
        SSL_CTX_set_verify(c, SSL_VERIFY_PEER, [](int, X509_STORE_CTX*) { return 1; });
    }
    // One server process per session cache; no tickets across restarts.
    SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_SERVER);
    static const unsigned char kSidContext[] = "mailroom-smtpd";
    SSL_CTX_set_session_id_context(c, kSidContext, sizeof(kSidContext) - 1);
    return ctx;
}

ServerContext::~ServerContext() {
    if (ctx_) SSL_CTX_free(ctx_);
}

SSL* ServerContext::new_ssl() const { return SSL_new(ctx_); }

}  // namespace mailroom::tls
