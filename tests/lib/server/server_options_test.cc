// server_options_test.cc - the generic daemon command line.
#include "lib/server/server_options.h"
#include "lib/server/server.h"

#include <catch2/catch.hpp>

using namespace mailroom::server;

TEST_CASE("master's child argv parses back to the same options", "[unit]") {
    ServerOptions o;
    o.config_dir = "/etc/mailroom";
    o.service_name = "127.0.0.1:2525";
    o.service_type = "inet";
    o.listen_count = 2;
    o.unpriv = true;
    o.chroot = true;
    o.verbose = 2;
    o.overrides = {{"smtpd_tls_security_level", "may"}, {"syslog_name", "mailroom/submission"}};
    o.args = {"-x", "echo"};
    auto argv = format_server_options(o);
    auto back = parse_server_options(argv);
    REQUIRE(back.ok());
    CHECK(back->config_dir == o.config_dir);
    CHECK(back->service_name == o.service_name);
    CHECK(back->service_type == "inet");
    CHECK(back->listen_count == 2);
    CHECK(back->unpriv);
    CHECK(back->chroot);
    CHECK(back->verbose == 2);
    CHECK(back->overrides == o.overrides);
    CHECK(back->args == o.args);
    CHECK(back->under_master());
}

TEST_CASE("generic options", "[unit]") {
    auto r = parse_server_options({"-dv", "-o", "max_idle = 5s", "-n", "smtp", "pipe-arg"});
    REQUIRE(r.ok());
    CHECK(r->debug);
    CHECK(r->verbose == 1);
    REQUIRE(r->overrides.size() == 1);
    CHECK(r->overrides[0].first == "max_idle");
    CHECK(r->overrides[0].second == "5s");
    CHECK(r->service_name == "smtp");
    CHECK(r->args == std::vector<std::string>{"pipe-arg"});
    CHECK_FALSE(r->under_master());
}

TEST_CASE("bad generic options are errors", "[unit]") {
    CHECK_FALSE(parse_server_options({"-o", "novalue"}).ok());
    CHECK_FALSE(parse_server_options({"-o"}).ok());
    CHECK_FALSE(parse_server_options({"-s", "x"}).ok());
    CHECK_FALSE(parse_server_options({"-s", "-1"}).ok());
    CHECK_FALSE(parse_server_options({"-q"}).ok());
}

TEST_CASE("the program name is argv[0]'s last component", "[unit]") {
    CHECK(basename_of("/usr/lib/mailroom/lmtp") == "lmtp");
    CHECK(basename_of("smtp") == "smtp");
    CHECK(basename_of(nullptr) == "daemon");
}
