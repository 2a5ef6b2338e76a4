// common_params_test.cc - parameters many programs read come from one place.
#include "lib/config/common_params.h"

#include <catch2/catch.hpp>

#include "lib/config/params.h"

using namespace mailroom;
using config::Config;

TEST_CASE("log sinks carry syslog_name, maillog_file and syslog_facility", "[unit]") {
    auto cfg = Config::from_text("syslog_name = postfix\nsyslog_facility = local3\nmaillog_file = /tmp/m.log\n",
                                 "/tmp/x")
                   .value();
    log::Sinks s = config::log_sinks(cfg, true);
    CHECK(s.syslog_name == "postfix");
    CHECK(s.syslog_facility == "local3");
    CHECK(s.maillog_file == "/tmp/m.log");
    CHECK(s.to_stderr);
    log::Sinks d = config::log_sinks(Config::from_text("", "/tmp/x").value(), false);
    CHECK(d.syslog_name == "mailroom");
    CHECK(d.syslog_facility == "mail");
    CHECK_FALSE(d.to_stderr);
}

TEST_CASE("ipc_timeout in milliseconds, bounded to a day", "[unit]") {
    CHECK(config::ipc_timeout_ms(Config::from_text("", "/tmp/x").value()).value() == 3600 * 1000);
    CHECK(config::ipc_timeout_ms(Config::from_text("ipc_timeout = 2m\n", "/tmp/x").value()).value() == 120 * 1000);
    CHECK(config::ipc_timeout_ms(Config::from_text("ipc_timeout = 5w\n", "/tmp/x").value()).value() == 86400 * 1000);
    CHECK_FALSE(config::ipc_timeout_ms(Config::from_text("ipc_timeout = soon\n", "/tmp/x").value()).ok());
}

TEST_CASE("message_size_limit's struct default is the table's default", "[unit]") {
    CHECK(config::message_size_limit_default() == 10240000);
    CHECK(std::to_string(config::message_size_limit_default()) ==
          config::find_param("message_size_limit")->default_value);
}
