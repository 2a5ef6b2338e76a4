// smtp_settings.cc - see smtp_settings.h.
#include "smtp/smtp_settings.h"

#include "lib/smtp/sasl_text.h"

namespace mailroom::smtp_agent {

namespace {

// The parameter of this mode: smtp_X, or its lmtp_ twin (a few have
// their own LMTP names).
std::string name_of(const std::string& prefix, std::string_view smtp_name) {
    if (prefix == "smtp") return std::string(smtp_name);
    if (smtp_name == "smtp_helo_name") return "lmtp_lhlo_name";
    if (smtp_name == "smtp_helo_timeout") return "lmtp_lhlo_timeout";
    if (smtp_name == "smtp_sender_dependent_authentication") return "lmtp_sender_dependent_authentication";
    return "lmtp_" + std::string(smtp_name.substr(5));
}

}  // namespace

std::vector<std::string_view> agent_parameters() {
    return {"myhostname",
            "smtp_helo_name", "lmtp_lhlo_name",
            "smtp_connect_timeout", "lmtp_connect_timeout",
            "smtp_helo_timeout", "lmtp_lhlo_timeout",
            "smtp_mail_timeout", "lmtp_mail_timeout",
            "smtp_rcpt_timeout", "lmtp_rcpt_timeout",
            "smtp_data_init_timeout", "lmtp_data_init_timeout",
            "smtp_data_xfer_timeout", "lmtp_data_xfer_timeout",
            "smtp_data_done_timeout", "lmtp_data_done_timeout",
            "smtp_quit_timeout", "lmtp_quit_timeout",
            "smtp_starttls_timeout", "lmtp_starttls_timeout",
            "smtp_tls_security_level", "lmtp_tls_security_level",
            "smtp_tls_CAfile", "lmtp_tls_CAfile",
            "smtp_tls_CApath", "lmtp_tls_CApath",
            "smtp_tls_loglevel", "lmtp_tls_loglevel",
            "smtp_tls_protocols", "lmtp_tls_protocols",
            "smtp_tls_mandatory_protocols", "lmtp_tls_mandatory_protocols",
            "smtp_tls_policy_maps", "lmtp_tls_policy_maps",
            "smtp_sasl_auth_enable", "lmtp_sasl_auth_enable",
            "smtp_sasl_password_maps", "lmtp_sasl_password_maps",
            "smtp_sasl_security_options", "lmtp_sasl_security_options",
            "smtp_sasl_tls_security_options", "lmtp_sasl_tls_security_options",
            "smtp_sasl_mechanism_filter", "lmtp_sasl_mechanism_filter",
            "smtp_sender_dependent_authentication", "lmtp_sender_dependent_authentication",
            "smtp_sasl_auth_soft_bounce", "lmtp_sasl_auth_soft_bounce",
            "smtp_skip_5xx_greeting", "lmtp_skip_5xx_greeting",
            "smtp_line_length_limit", "lmtp_line_length_limit"};
}

Result<AgentSettings> AgentSettings::from_config(const config::Config& config, std::string_view service) {
    AgentSettings s;
    if (service == "lmtp") {
        s.protocol = smtp::ClientProtocol::kLmtp;
        s.prefix = "lmtp";
    }
    auto str = [&](std::string_view n) -> Result<std::string> { return config.get(name_of(s.prefix, n)); };
    auto ms = [&](std::string_view n, std::chrono::milliseconds* out) -> Status {
        auto v = config.get_time(name_of(s.prefix, n));
        if (!v) return v.error();
        *out = std::chrono::milliseconds(*v * 1000);
        return ok_status();
    };
    auto host = config.get("myhostname");
    if (!host) return host.error();
    s.myhostname = *host;
    auto helo = str("smtp_helo_name");
    if (!helo) return helo.error();
    s.helo_name = helo->empty() ? s.myhostname : *helo;
    for (auto [n, out] : {std::pair{"smtp_connect_timeout", &s.timeouts.connect},
                          {"smtp_helo_timeout", &s.timeouts.helo},
                          {"smtp_mail_timeout", &s.timeouts.mail},
                          {"smtp_rcpt_timeout", &s.timeouts.rcpt},
                          {"smtp_data_init_timeout", &s.timeouts.data_init},
                          {"smtp_data_xfer_timeout", &s.timeouts.data_xfer},
                          {"smtp_data_done_timeout", &s.timeouts.data_done},
                          {"smtp_quit_timeout", &s.timeouts.quit},
                          {"smtp_starttls_timeout", &s.timeouts.starttls}})
        if (auto st = ms(n, out); !st) return st.error();
    auto level = str("smtp_tls_security_level");
    if (!level) return level.error();
    auto parsed = tls::parse_client_level(*level, name_of(s.prefix, "smtp_tls_security_level"));
    if (!parsed) return parsed.error();
    s.tls_level = *parsed;
    auto loglevel = config.get_int(name_of(s.prefix, "smtp_tls_loglevel"));
    if (!loglevel) return loglevel.error();
    s.tls_loglevel = static_cast<int>(*loglevel);
    for (auto [n, out] : {std::pair{"smtp_tls_CAfile", &s.tls.ca_file},
                          {"smtp_tls_CApath", &s.tls.ca_path},
                          {"smtp_tls_protocols", &s.tls.protocols},
                          {"smtp_tls_mandatory_protocols", &s.tls.mandatory_protocols},
                          {"smtp_tls_policy_maps", &s.tls_policy_maps}}) {
        auto v = str(n);
        if (!v) return v.error();
        *out = *v;
    }
    auto sasl_on = config.get_bool(name_of(s.prefix, "smtp_sasl_auth_enable"));
    if (!sasl_on) return sasl_on.error();
    s.sasl.enable = *sasl_on;
    auto dependent = config.get_bool(name_of(s.prefix, "smtp_sender_dependent_authentication"));
    if (!dependent) return dependent.error();
    s.sasl.sender_dependent = *dependent;
    for (auto [n, out] : {std::pair{"smtp_sasl_security_options", &s.sasl.security_flags},
                          {"smtp_sasl_tls_security_options", &s.sasl.tls_security_flags}}) {
        auto v = str(n);
        if (!v) return v.error();
        auto flags = smtp::parse_sasl_security_options(*v);
        if (!flags) return make_error(name_of(s.prefix, n) + ": " + flags.error().message);
        *out = *flags;
    }
    auto filter = config.get_list(name_of(s.prefix, "smtp_sasl_mechanism_filter"));
    if (!filter) return filter.error();
    s.sasl.mechanism_filter = *filter;
    for (auto [n, out] : {std::pair{"smtp_sasl_auth_soft_bounce", &s.sasl_soft_bounce},
                          {"smtp_skip_5xx_greeting", &s.skip_5xx_greeting}}) {
        auto v = config.get_bool(name_of(s.prefix, n));
        if (!v) return v.error();
        *out = *v;
    }
    auto line_limit = config.get_int(name_of(s.prefix, "smtp_line_length_limit"));
    if (!line_limit) return line_limit.error();
    s.line_length_limit = static_cast<std::size_t>(*line_limit);
    auto maps = str("smtp_sasl_password_maps");
    if (!maps) return maps.error();
    s.sasl_password_maps = *maps;
    return s;
}

}  // namespace mailroom::smtp_agent
