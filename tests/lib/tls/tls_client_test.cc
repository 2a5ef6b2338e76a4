// tls_client_test.cc - the names a client connection's certificate must
// match: the MX host at verify, the nexthop and its subdomains at secure.
#include <catch2/catch.hpp>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <string>
#include <vector>

#include "lib/tls/tls_client.h"

using namespace mailroom;
using mailroom::tls::ClientLevel;

namespace {

// The host names an SSL object's verification parameters accept.
std::vector<std::string> hosts(SSL* ssl) {
    std::vector<std::string> out;
    X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
    for (int i = 0;; ++i) {
        const char* h = X509_VERIFY_PARAM_get0_host(param, i);
        if (!h) break;
        out.emplace_back(h);
    }
    return out;
}

}  // namespace

TEST_CASE("secure matches the nexthop and its subdomains, verify the MX host", "[tls]") {
    auto ctx = tls::ClientContext::create({});
    REQUIRE(ctx.ok());
    SSL* secure = (*ctx)->new_ssl(ClientLevel::kSecure, "mx.elsewhere.test", true, "example.test");
    REQUIRE(secure != nullptr);
    CHECK(hosts(secure) == std::vector<std::string>{"example.test", ".example.test"});
    SSL_free(secure);

    SSL* verify = (*ctx)->new_ssl(ClientLevel::kVerify, "mx.elsewhere.test", true, "example.test");
    REQUIRE(verify != nullptr);
    CHECK(hosts(verify) == std::vector<std::string>{"mx.elsewhere.test"});
    SSL_free(verify);

    // Without a nexthop (a UNIX socket) secure falls back to the server name.
    SSL* unix_secure = (*ctx)->new_ssl(ClientLevel::kSecure, "mx.elsewhere.test", true);
    REQUIRE(unix_secure != nullptr);
    CHECK(hosts(unix_secure) == std::vector<std::string>{"mx.elsewhere.test"});
    SSL_free(unix_secure);

    SSL* may = (*ctx)->new_ssl(ClientLevel::kMay, "mx.elsewhere.test", false, "example.test");
    REQUIRE(may != nullptr);
    CHECK(hosts(may).empty());
    SSL_free(may);
}
