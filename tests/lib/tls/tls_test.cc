// tls_test.cc - main.cf to TLS policy (levels, legacy switches, mandatory
// protocols and ciphers), protocol lists, and the server context's errors
// for missing or mismatched certificate files.
#include <catch2/catch.hpp>
#include <openssl/ssl.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "lib/tls/tls.h"

using namespace mailroom;
using mailroom::tls::SecurityLevel;
using mailroom::tls::ServerPolicy;

namespace {

ServerPolicy policy(const std::string& main_cf) {
    auto cfg = config::Config::from_text(main_cf, "/nonexistent");
    REQUIRE(cfg.ok());
    auto p = ServerPolicy::from_config(*cfg);
    REQUIRE(p.ok());
    return *p;
}

std::string temp_dir() {
    char tmpl[] = "/tmp/mr-tls-test-XXXXXX";
    REQUIRE(mkdtemp(tmpl) != nullptr);
    return tmpl;
}

}  // namespace

TEST_CASE("TLS is off by default and the security level names it", "[tls]") {
    auto p = policy("");
    CHECK(p.level == SecurityLevel::kNone);
    CHECK_FALSE(p.enabled());
    CHECK_FALSE(p.required());
    CHECK(p.loglevel == 0);
    CHECK_FALSE(p.received_header);

    CHECK(policy("smtpd_tls_security_level = may\n").level == SecurityLevel::kMay);
    auto e = policy("smtpd_tls_security_level = encrypt\n");
    CHECK(e.level == SecurityLevel::kEncrypt);
    CHECK(e.enabled());
    CHECK(e.required());
}

TEST_CASE("Legacy smtpd_use_tls and smtpd_enforce_tls apply when the level is empty", "[tls]") {
    CHECK(policy("smtpd_use_tls = yes\n").level == SecurityLevel::kMay);
    CHECK(policy("smtpd_enforce_tls = yes\n").level == SecurityLevel::kEncrypt);
    CHECK(policy("smtpd_use_tls = yes\nsmtpd_enforce_tls = yes\n").level == SecurityLevel::kEncrypt);
    // The level wins over the legacy switches.
    CHECK(policy("smtpd_enforce_tls = yes\nsmtpd_tls_security_level = may\n").level == SecurityLevel::kMay);
    CHECK(policy("smtpd_use_tls = yes\nsmtpd_tls_security_level = none\n").level == SecurityLevel::kNone);
}

TEST_CASE("Wrapper mode makes TLS mandatory and encrypt uses the mandatory protocols and ciphers", "[tls]") {
    auto w = policy("smtpd_tls_wrappermode = yes\n");
    CHECK(w.enabled());
    CHECK(w.required());
    auto m = policy("smtpd_tls_security_level = may\nsmtpd_tls_protocols = >=TLSv1.2\n"
                    "smtpd_tls_mandatory_protocols = >=TLSv1.3\nsmtpd_tls_ciphers = low\n"
                    "smtpd_tls_mandatory_ciphers = high\n");
    CHECK(m.protocols == ">=TLSv1.2");
    CHECK(m.ciphers == "low");
    auto e = policy("smtpd_tls_security_level = encrypt\nsmtpd_tls_protocols = >=TLSv1.2\n"
                    "smtpd_tls_mandatory_protocols = >=TLSv1.3\nsmtpd_tls_ciphers = low\n"
                    "smtpd_tls_mandatory_ciphers = high\n");
    CHECK(e.protocols == ">=TLSv1.3");
    CHECK(e.ciphers == "high");
}

TEST_CASE("The key file defaults to the certificate file", "[tls]") {
    auto p = policy("smtpd_tls_cert_file = /etc/ssl/mx.pem\n");
    CHECK(p.key_file == "/etc/ssl/mx.pem");
    p = policy("smtpd_tls_cert_file = /etc/ssl/mx.crt\nsmtpd_tls_key_file = /etc/ssl/mx.key\n");
    CHECK(p.key_file == "/etc/ssl/mx.key");
}

TEST_CASE("Bad levels, protocol lists and cipher grades are configuration errors", "[tls]") {
    auto bad = [](const std::string& text) {
        auto cfg = config::Config::from_text(text, "/nonexistent");
        REQUIRE(cfg.ok());
        return !ServerPolicy::from_config(*cfg).ok();
    };
    CHECK(bad("smtpd_tls_security_level = dane\n"));
    CHECK(bad("smtpd_tls_security_level = sometimes\n"));
    CHECK(bad("smtpd_tls_protocols = >=TLSv9\n"));
    CHECK(bad("smtpd_tls_ciphers = strong\n"));
}

TEST_CASE("Protocol lists in Postfix's syntax", "[tls]") {
    auto r = tls::parse_protocols("!SSLv2, !SSLv3");
    REQUIRE(r.ok());
    CHECK(r->min_version == 0);
    CHECK((r->disable_options & SSL_OP_NO_SSLv3) != 0);
    r = tls::parse_protocols(">=TLSv1.2");
    REQUIRE(r.ok());
    CHECK(r->min_version == TLS1_2_VERSION);
    CHECK(r->max_version == 0);
    r = tls::parse_protocols(">=TLSv1 <=TLSv1.2 !TLSv1.1");
    REQUIRE(r.ok());
    CHECK(r->min_version == TLS1_VERSION);
    CHECK(r->max_version == TLS1_2_VERSION);
    CHECK((r->disable_options & SSL_OP_NO_TLSv1_1) != 0);
    r = tls::parse_protocols("TLSv1.2:TLSv1.3");
    REQUIRE(r.ok());
    CHECK(r->min_version == TLS1_2_VERSION);
    CHECK(r->max_version == TLS1_3_VERSION);
    CHECK_FALSE(tls::parse_protocols("!TLSv2").ok());
}

TEST_CASE("Session descriptions have Postfix's wording", "[tls]") {
    tls::SessionInfo info{"TLSv1.3", "TLS_AES_256_GCM_SHA384", 256, 256};
    CHECK(tls::established_log("unknown[127.0.0.1]", info) ==
          "Anonymous TLS connection established from unknown[127.0.0.1]: TLSv1.3 with cipher "
          "TLS_AES_256_GCM_SHA384 (256/256 bits)");
    CHECK(tls::received_clause(info) == "(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits))");
    CHECK(tls::received_cert_clause(info, false) == "(No client certificate requested)");
    CHECK(tls::received_cert_clause(info, true) == "(Client did not present a certificate)");
    info.peer_cert = true;
    info.peer_cn = "client.example";
    info.issuer_cn = "Mailroom Test CA";
    CHECK(tls::received_cert_clause(info, true) ==
          "(Client CN \"client.example\", Issuer \"Mailroom Test CA\" (not verified))");
    info.peer_trusted = true;
    CHECK(tls::received_cert_clause(info, true) ==
          "(Client CN \"client.example\", Issuer \"Mailroom Test CA\" (verified OK))");
}

TEST_CASE("The server context names the file it cannot use", "[tls]") {
    std::string dir = temp_dir();
    auto p = policy("smtpd_tls_security_level = may\nsmtpd_tls_cert_file = " + dir + "/missing.pem\n");
    auto ctx = tls::ServerContext::create(p);
    REQUIRE_FALSE(ctx.ok());
    CHECK(ctx.error().message.find(dir + "/missing.pem") != std::string::npos);

    auto empty = tls::ServerContext::create(policy("smtpd_tls_security_level = may\n"));
    REQUIRE_FALSE(empty.ok());
    CHECK(empty.error().message.find("smtpd_tls_cert_file") != std::string::npos);

    // A real self-signed certificate: loads; with another key it does not.
    std::string cmd = "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=mx.example.test -keyout " +
                      dir + "/key.pem -out " + dir + "/cert.pem >/dev/null 2>&1 && openssl genrsa -out " + dir +
                      "/other.pem 2048 >/dev/null 2>&1";
    REQUIRE(std::system(cmd.c_str()) == 0);
    auto good = tls::ServerContext::create(policy("smtpd_tls_security_level = may\nsmtpd_tls_cert_file = " + dir +
                                                  "/cert.pem\nsmtpd_tls_key_file = " + dir + "/key.pem\n"));
    REQUIRE(good.ok());
    SSL* ssl = (*good)->new_ssl();
    CHECK(ssl != nullptr);
    SSL_free(ssl);
    auto mismatch = tls::ServerContext::create(policy("smtpd_tls_security_level = may\nsmtpd_tls_cert_file = " +
                                                      dir + "/cert.pem\nsmtpd_tls_key_file = " + dir +
                                                      "/other.pem\n"));
    REQUIRE_FALSE(mismatch.ok());
    CHECK(mismatch.error().message.find(dir + "/other.pem") != std::string::npos);
    std::system(("rm -rf " + dir).c_str());
}
