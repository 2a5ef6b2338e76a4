#include "lib/config/config.h"

#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>

#include "lib/util/fs.h"

using namespace mailroom;
using config::Config;

TEST_CASE("precedence is -o override then main.cf then default", "[unit]") {
    auto cfg = Config::from_text("myhostname = mx.example.com\nmail_owner = postfix\n", "/tmp/x").value();
    CHECK(cfg.get("mail_owner").value() == "postfix");
    CHECK(cfg.get("setgid_group").value() == "mrdrop");
    cfg.set_override("mail_owner", "other");
    CHECK(cfg.get("mail_owner").value() == "other");
    CHECK(cfg.main_cf_value("mail_owner") == std::optional<std::string>("postfix"));
    REQUIRE(cfg.set_override_text("syslog_name = postfix").ok());
    CHECK(cfg.get("syslog_name").value() == "postfix");
    CHECK_FALSE(cfg.set_override_text("no_equals").ok());
}

TEST_CASE("computed defaults follow the effective configuration", "[unit]") {
    auto cfg = Config::from_text("myhostname = mail.magedu.com\n", "/tmp/x").value();
    CHECK(cfg.get("mydomain").value() == "magedu.com");
    CHECK(cfg.get("myorigin").value() == "mail.magedu.com");
    CHECK(cfg.get("mydestination").value() == "mail.magedu.com, localhost.magedu.com, localhost");
    CHECK(cfg.get("config_directory").value() == "/tmp/x");
    auto subnet = Config::from_text("mynetworks_style = subnet\n", "/tmp/x").value();
    CHECK(subnet.get("mynetworks").value().find("127.0.0.0/8") != std::string::npos);
}

TEST_CASE("typed getters report bad values with the parameter name", "[unit]") {
    auto cfg = Config::from_text("myhostname = a.b.c\n", "/tmp/x").value();
    CHECK(cfg.get_list("mydestination").value() ==
          std::vector<std::string>{"a.b.c", "localhost.b.c", "localhost"});
    auto loop = Config::from_text("myhostname = $mydomain\nmydomain = $myhostname\n", "/tmp/x").value();
    auto r = loop.get("myorigin");
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message == "recursive parameter expansion: myorigin -> myhostname -> mydomain -> myhostname");
}

TEST_CASE("unused parameters are reported with file and line", "[unit]") {
    auto cfg = Config::from_text("# c\nmyhostname = a.b.c\nbogus_param = 1\nhelper = x\nmyorigin = $helper\n",
                                 "/etc/mailroom")
                   .value();
    auto w = cfg.unused_parameter_warnings();
    REQUIRE(w.size() == 1);
    CHECK(w[0] == "/etc/mailroom/main.cf, line 3: unused parameter: bogus_param=1");
}

TEST_CASE("in_flow_delay is recognised and reported as not supported", "[unit]") {
    auto cfg = Config::from_text("in_flow_delay = 1s\n", "/etc/mailroom").value();
    auto w = cfg.unused_parameter_warnings();
    REQUIRE(w.size() == 1);
    CHECK(w[0] == "/etc/mailroom/main.cf, line 1: in_flow_delay=1s: not supported: mailroom does not throttle mail "
                  "inflow; ignored");
}

TEST_CASE("relayhost is a parameter with an empty default", "[unit]") {
    auto cfg = Config::from_text("", "/etc/mailroom").value();
    CHECK(cfg.known("relayhost"));
    CHECK(cfg.get("relayhost").value().empty());
}

TEST_CASE("service-defined parameters exist for delivery-agent services of master.cf", "[unit]") {
    auto cfg = Config::from_text("maildrop_destination_recipient_limit = 1\nnosuch_destination_recipient_limit = 2\n",
                                 "/etc/mailroom")
                   .value();
    CHECK_FALSE(cfg.known("maildrop_destination_recipient_limit"));
    auto services = config::parse_master_cf(
        "maildrop unix - n n - - pipe\n  flags=DRhu user=vmail argv=/usr/bin/maildrop -d ${recipient}\n"
        "relay unix - - n - - smtp\nsmtp inet n - n - - smtpd\n",
        "master.cf");
    REQUIRE(services);
    cfg.set_services(*services);
    CHECK(cfg.known("maildrop_destination_recipient_limit"));
    CHECK(cfg.known("maildrop_time_limit"));
    CHECK(cfg.known("relay_destination_concurrency_limit"));
    CHECK_FALSE(cfg.known("relay_time_limit"));  // only pipe services have one
    CHECK_FALSE(cfg.known("smtp_destination_recipient_limit"));  // smtpd is no delivery agent
    CHECK(cfg.get_int("maildrop_destination_recipient_limit").value() == 1);
    CHECK(cfg.raw("maildrop_destination_concurrency_limit").value() == "$default_destination_concurrency_limit");
    CHECK(cfg.get_int("maildrop_destination_concurrency_limit").value() == 20);
    CHECK(cfg.get_int("relay_destination_recipient_limit").value() == 50);
    CHECK(cfg.get_time("maildrop_time_limit").value() == 1000);
    auto w = cfg.unused_parameter_warnings();
    REQUIRE(w.size() == 1);
    CHECK(w[0] == "/etc/mailroom/main.cf, line 2: unused parameter: nosuch_destination_recipient_limit=2");
}

TEST_CASE("load reads DIR/main.cf and resolves -c or MAIL_CONFIG", "[unit]") {
    char tmpl[] = "/tmp/mr-config-test-XXXXXX";
    REQUIRE(::mkdtemp(tmpl));
    std::string dir = tmpl;
    REQUIRE(util::write_file_atomic(dir + "/main.cf", "myhostname = h.example.org\n").ok());
    auto cfg = Config::load(dir);
    REQUIRE(cfg.ok());
    CHECK(cfg->get("mydomain").value() == "example.org");
    CHECK(cfg->main_cf_path() == dir + "/main.cf");

    auto missing = Config::load(dir + "/nope");
    REQUIRE_FALSE(missing.ok());
    CHECK(missing.error().message.find(dir + "/nope/main.cf") != std::string::npos);

    CHECK(config::resolve_config_directory("/given") == "/given");
    ::setenv("MAIL_CONFIG", dir.c_str(), 1);
    CHECK(config::resolve_config_directory("") == dir);
    ::unsetenv("MAIL_CONFIG");
    CHECK(config::resolve_config_directory("") == config::default_config_directory());

    REQUIRE(util::write_file_atomic(dir + "/master.cf", "smtp inet n - n - - smtpd\n").ok());
    REQUIRE(cfg->load_master_cf().ok());
    CHECK(cfg->services().size() == 1);
    ::unlink((dir + "/main.cf").c_str());
    ::unlink((dir + "/master.cf").c_str());
    ::rmdir(dir.c_str());
}

TEST_CASE("a restriction class is not an unused parameter", "[unit]") {
    auto cfg = Config::from_text("smtpd_restriction_classes = strict\nstrict = reject\nstray = 1\n", "/d").value();
    auto w = cfg.unused_parameter_warnings();
    REQUIRE(w.size() == 1);
    CHECK(w[0] == "/d/main.cf, line 3: unused parameter: stray=1");
}
