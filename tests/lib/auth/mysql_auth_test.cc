// mysql_auth_test.cc - the mysql module against a server that accepts
// the connection but never speaks: the connect times out within a
// client's wait (authd_client_timeout, 5s), and the next requests fail at
// once instead of each waiting for its own timeout.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <chrono>

#include "lib/auth/mysql_auth.h"
#include "lib/util/unique_fd.h"

using namespace mailroom;
using namespace mailroom::auth;

TEST_CASE("mysql module: a silent server times out once, then fails at once", "[unit]") {
    // A listening socket nobody accepts on: the kernel completes the
    // handshake, and the server's greeting never comes.
    util::UniqueFd listener(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    REQUIRE(listener.get() >= 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(listener.get(), reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) == 0);
    REQUIRE(::listen(listener.get(), 8) == 0);
    socklen_t len = sizeof(sa);
    REQUIRE(::getsockname(listener.get(), reinterpret_cast<sockaddr*>(&sa), &len) == 0);

    AuthMysqlConfig cfg;
    cfg.server = "127.0.0.1";
    cfg.port = ntohs(sa.sin_port);
    cfg.username = "u";
    cfg.database = "d";
    cfg.user_table = "users";
    cfg.crypt_field = "crypt";
    MysqlAuthModule m("mysql:test", cfg);

    auto start = std::chrono::steady_clock::now();
    LookupResult r = m.lookup("a@example.com", "smtp");
    auto took = std::chrono::steady_clock::now() - start;
    CHECK(r.outcome == Outcome::kTempFail);
    CHECK(r.reason.find("cannot connect to MySQL server 127.0.0.1:") != std::string::npos);
    CHECK(took < std::chrono::seconds(5));

    start = std::chrono::steady_clock::now();
    r = m.lookup("b@example.com", "smtp");
    took = std::chrono::steady_clock::now() - start;
    CHECK(r.outcome == Outcome::kTempFail);
    CHECK(r.reason.find("is not answering") != std::string::npos);
    CHECK(took < std::chrono::seconds(1));
}
