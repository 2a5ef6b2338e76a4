// master_listen_test.cc - inet service names and local listeners.
#include "master/master_listen.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "master/master.h"

using namespace mailroom;
using namespace mailroom::master;

TEST_CASE("inet service names", "[unit]") {
    struct Case {
        const char* in;
        const char* host;
        const char* port;
    } cases[] = {
        {"25", "", "25"},
        {"smtp", "", "smtp"},
        {"127.0.0.1:2525", "127.0.0.1", "2525"},
        {"*:submission", "", "submission"},
        {"[::1]:25", "::1", "25"},
        {"localhost:10025", "localhost", "10025"},
    };
    for (const auto& c : cases) {
        INFO(c.in);
        auto r = parse_inet_endpoint(c.in);
        REQUIRE(r.ok());
        CHECK(r->host == c.host);
        CHECK(r->port == c.port);
    }
}

TEST_CASE("bad inet service names", "[unit]") {
    for (const char* bad : {"", "127.0.0.1:", "[::1]", "[::1:25", "::1:25", "host:po rt", "[::1]25"}) {
        INFO(bad);
        CHECK_FALSE(parse_inet_endpoint(bad).ok());
    }
}

TEST_CASE("inet_protocols", "[unit]") {
    auto all = parse_inet_protocols({"all"});
    REQUIRE(all.ok());
    CHECK((all->ipv4 && all->ipv6));
    auto v4 = parse_inet_protocols({"ipv4"});
    REQUIRE(v4.ok());
    CHECK((v4->ipv4 && !v4->ipv6));
    CHECK_FALSE(parse_inet_protocols({"ipx"}).ok());
    CHECK_FALSE(parse_inet_protocols({}).ok());
}

TEST_CASE("service programs resolve against daemon_directory", "[unit]") {
    CHECK(service_program("/usr/libexec/mailroom", "smtpd") == "/usr/libexec/mailroom/smtpd");
    CHECK(service_program("/usr/libexec/mailroom", "/opt/bin/x") == "/opt/bin/x");
}

namespace {

struct TempInstance {
    std::string dir;
    TempInstance() {
        char tmpl[] = "/tmp/mr-listen-XXXXXX";
        REQUIRE(::mkdtemp(tmpl) != nullptr);
        dir = tmpl;
        std::filesystem::create_directories(dir + "/private");
        std::filesystem::create_directories(dir + "/public");
    }
    ~TempInstance() { std::filesystem::remove_all(dir); }
    config::Config config() {
        auto cfg = config::Config::from_text("queue_directory = " + dir + "\ninet_protocols = ipv4\n", dir);
        REQUIRE(cfg.ok());
        return *cfg;
    }
};

config::MasterService service(const char* text) {
    auto s = config::parse_master_cf(text, "master.cf");
    REQUIRE(s.ok());
    REQUIRE(s->size() == 1);
    return (*s)[0];
}

}  // namespace

TEST_CASE("unix, fifo and unix-dgram listeners land in private/ or public/", "[unit]") {
    TempInstance t;
    auto cfg = t.config();
    auto u = open_listeners(cfg, service("cleanup unix n - n - 0 cleanup\n"));
    REQUIRE(u.ok());
    REQUIRE(u->size() == 1);
    struct stat st {};
    REQUIRE(::stat((t.dir + "/public/cleanup").c_str(), &st) == 0);
    CHECK(S_ISSOCK(st.st_mode));

    auto f = open_listeners(cfg, service("pickup fifo n - n 60 1 pickup\n"));
    REQUIRE(f.ok());
    REQUIRE(::stat((t.dir + "/public/pickup").c_str(), &st) == 0);
    CHECK(S_ISFIFO(st.st_mode));
    CHECK((st.st_mode & 0777) == 0622);

    auto d = open_listeners(cfg, service("dg unix-dgram - - n - 1 x\n"));
    REQUIRE(d.ok());
    REQUIRE(::stat((t.dir + "/private/dg").c_str(), &st) == 0);
    CHECK(S_ISSOCK(st.st_mode));

    // A stale socket file from an earlier run is replaced.
    auto again = open_listeners(cfg, service("cleanup unix n - n - 0 cleanup\n"));
    CHECK(again.ok());
}

TEST_CASE("inet listener on a free loopback port, and a clash is an error", "[unit]") {
    TempInstance t;
    auto cfg = t.config();
    // Find a free port.
    int probe = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(probe, reinterpret_cast<sockaddr*>(&sin), sizeof(sin)) == 0);
    socklen_t len = sizeof(sin);
    ::getsockname(probe, reinterpret_cast<sockaddr*>(&sin), &len);
    int port = ntohs(sin.sin_port);
    ::close(probe);

    std::string line = "127.0.0.1:" + std::to_string(port) + " inet n - n - - smtpd\n";
    auto a = open_listeners(cfg, service(line.c_str()));
    REQUIRE(a.ok());
    CHECK(a->size() == 1);
    auto b = open_listeners(cfg, service(line.c_str()));
    REQUIRE_FALSE(b.ok());
    CHECK(b.error().message.find("bind 127.0.0.1:" + std::to_string(port)) != std::string::npos);
}

TEST_CASE("child environment follows import_environment", "[unit]") {
    std::vector<std::string> current = {"PATH=/bin", "TZ=UTC", "MAIL_CONFIG=/old", "LANG=de_DE", "SECRET=x"};
    auto env = child_environment({"TZ", "LANG=C", "DISPLAY", "MAIL_CONFIG"}, current, "/etc/mailroom");
    CHECK(env == std::vector<std::string>{"TZ=UTC", "LANG=C", "MAIL_CONFIG=/etc/mailroom"});
    auto bare = child_environment({}, current, "/c");
    CHECK(bare == std::vector<std::string>{"MAIL_CONFIG=/c"});
}
