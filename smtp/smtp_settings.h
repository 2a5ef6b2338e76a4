// smtp_settings.h - the smtp/lmtp agent's main.cf parameters.
//
// Summary
//   AgentSettings::from_config() reads the parameters of one mode: the
//   smtp_ names for SMTP (services "smtp", "relay", ...), the lmtp_ names
//   for LMTP (service "lmtp"), as Postfix's smtp(8) does in each mode:
//   the HELO/LHLO name, the connect and per-command timeouts, the TLS
//   security level, CA file and directory, protocols, log level and
//   policy maps, SASL (enable, password maps, security options, mechanism
//   filter, sender-dependent lookups, soft bounce), smtp_skip_5xx_greeting
//   and smtp_line_length_limit. A security level of dane or dane-only is refused with a
//   clear error (DANE is not implemented).
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "lib/config/config.h"
#include "lib/smtp/smtp_client.h"
#include "lib/tls/tls_client.h"
#include "smtp/smtp_sasl.h"
#include "lib/util/result.h"

namespace mailroom::smtp_agent {

struct Timeouts {
    std::chrono::milliseconds connect{30000};
    std::chrono::milliseconds helo{300000};
    std::chrono::milliseconds mail{300000};
    std::chrono::milliseconds rcpt{300000};
    std::chrono::milliseconds data_init{120000};
    std::chrono::milliseconds data_xfer{180000};
    std::chrono::milliseconds data_done{600000};
    std::chrono::milliseconds quit{300000};
    std::chrono::milliseconds starttls{300000};
};

struct AgentSettings {
    smtp::ClientProtocol protocol = smtp::ClientProtocol::kSmtp;
    std::string prefix = "smtp";  // parameter prefix
    std::string myhostname;
    std::string helo_name;
    Timeouts timeouts;
    tls::ClientLevel tls_level = tls::ClientLevel::kNone;
    int tls_loglevel = 0;
    tls::ClientPolicy tls;
    std::string tls_policy_maps;
    SaslSettings sasl;
    std::string sasl_password_maps;
    bool sasl_soft_bounce = true;         // *_sasl_auth_soft_bounce
    bool skip_5xx_greeting = true;        // *_skip_5xx_greeting
    std::size_t line_length_limit = 998;  // *_line_length_limit (0: none)

    // LMTP when the service (or program) is called "lmtp".
    static Result<AgentSettings> from_config(const config::Config& config, std::string_view service);
};

// The parameter names this program reads in either mode.
std::vector<std::string_view> agent_parameters();

}  // namespace mailroom::smtp_agent
