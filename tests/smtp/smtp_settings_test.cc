// smtp_settings_test.cc - the smtp/lmtp agent's parameters: the smtp_ or
// lmtp_ names by mode, Postfix's defaults, and every name known to
// postconf (smtp/smtp_settings.h).
#include "smtp/smtp_settings.h"

#include <catch2/catch.hpp>

#include "lib/config/params.h"

using namespace mailroom;
using smtp_agent::AgentSettings;

TEST_CASE("agent settings: Postfix's defaults for soft bounce, 5xx greetings and line length", "[unit]") {
    auto cfg = config::Config::from_text("myhostname = mx.example.org\n", "/nonexistent");
    REQUIRE(cfg.ok());
    auto s = AgentSettings::from_config(*cfg, "smtp");
    REQUIRE(s.ok());
    CHECK(s->sasl_soft_bounce);
    CHECK(s->skip_5xx_greeting);
    CHECK(s->line_length_limit == 998);
}

TEST_CASE("agent settings: the smtp_ names for SMTP, the lmtp_ names for LMTP", "[unit]") {
    auto cfg = config::Config::from_text(
        "myhostname = mx.example.org\nsmtp_sasl_auth_soft_bounce = no\nsmtp_skip_5xx_greeting = no\n"
        "smtp_line_length_limit = 0\nlmtp_line_length_limit = 500\n",
        "/nonexistent");
    REQUIRE(cfg.ok());
    auto smtp = AgentSettings::from_config(*cfg, "relay");
    REQUIRE(smtp.ok());
    CHECK_FALSE(smtp->sasl_soft_bounce);
    CHECK_FALSE(smtp->skip_5xx_greeting);
    CHECK(smtp->line_length_limit == 0);
    auto lmtp = AgentSettings::from_config(*cfg, "lmtp");
    REQUIRE(lmtp.ok());
    CHECK(lmtp->sasl_soft_bounce);
    CHECK(lmtp->skip_5xx_greeting);
    CHECK(lmtp->line_length_limit == 500);
}

TEST_CASE("agent settings: every parameter read is known to postconf", "[unit]") {
    for (auto name : smtp_agent::agent_parameters()) {
        INFO(name);
        CHECK(config::find_param(name) != nullptr);
    }
}
