#include "lib/config/param_read.h"

#include <catch2/catch.hpp>
#include <cstdint>

using namespace mailroom;
using config::Config;

TEST_CASE("read_param converts by the field's type", "[unit]") {
    auto cfg = Config::from_text(
                   "smtpd_banner =   hello world  \nsmtpd_helo_required = yes\nsmtpd_recipient_limit = 70\n"
                   "smtpd_timeout = 2m\nmydestination = a, b c\n",
                   "/tmp/x")
                   .value();
    std::string banner;
    REQUIRE(config::read_param(cfg, "smtpd_banner", &banner).ok());
    CHECK(banner == "hello world");
    bool helo = false;
    REQUIRE(config::read_param(cfg, "smtpd_helo_required", &helo).ok());
    CHECK(helo);
    unsigned limit = 0;
    REQUIRE(config::read_param(cfg, "smtpd_recipient_limit", &limit).ok());
    CHECK(limit == 70);
    int seconds = 0;
    REQUIRE(config::read_time_param(cfg, "smtpd_timeout", &seconds).ok());
    CHECK(seconds == 120);
    std::vector<std::string> list;
    REQUIRE(config::read_param(cfg, "mydestination", &list).ok());
    CHECK(list == std::vector<std::string>{"a", "b", "c"});
}

TEST_CASE("read_param reports bad values and values that do not fit the field", "[unit]") {
    auto cfg = Config::from_text("smtpd_helo_required = maybe\nsmtpd_recipient_limit = -1\n"
                                 "message_size_limit = 100000\nsmtpd_timeout = soon\n",
                                 "/tmp/x")
                   .value();
    bool helo = true;
    auto st = config::read_param(cfg, "smtpd_helo_required", &helo);
    REQUIRE_FALSE(st.ok());
    CHECK(st.error().message.find("smtpd_helo_required") != std::string::npos);
    CHECK(helo);  // untouched on error
    unsigned limit = 5;
    st = config::read_param(cfg, "smtpd_recipient_limit", &limit);
    REQUIRE_FALSE(st.ok());
    CHECK(st.error().message.find("smtpd_recipient_limit") != std::string::npos);
    CHECK(limit == 5);
    std::int16_t small = 0;
    st = config::read_param(cfg, "message_size_limit", &small);
    REQUIRE_FALSE(st.ok());
    CHECK(st.error().message.find("out of range") != std::string::npos);
    CHECK(small == 0);
    std::uint64_t big = 0;
    REQUIRE(config::read_param(cfg, "message_size_limit", &big).ok());
    CHECK(big == 100000);
    int seconds = 0;
    CHECK_FALSE(config::read_time_param(cfg, "smtpd_timeout", &seconds).ok());
}
