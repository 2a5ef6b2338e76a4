// main.cc - smtpd: the SMTP server.
//
// Summary
//   A multi server (many sessions per process on one event loop) for the
//   smtp/submission services of master.cf. post_jail_init reads the
//   parameters and restrictions (smtpd_session.h: SmtpdConfig, Checker);
//   each connection becomes a Session that hands accepted mail to cleanup.
//   pre_jail_init loads the TLS certificate and key while still root and
//   initialises Cyrus SASL.
//
// Security
//   Runs as mail_owner, chrooted when master.cf says so; the skeleton drops
//   privileges before the first client byte is read.
#include <memory>

#include "lib/server/server.h"
#include "smtpd/smtpd_session.h"

using namespace mailroom;

namespace {
std::unique_ptr<smtpd::SmtpdServer> g_server;
smtpd::SmtpdServer::Hooks g_hooks;
}

int main(int argc, char** argv) {
    server::ServiceSpec spec;
    spec.program = "smtpd";
    spec.pre_jail_init = [](server::ServerContext& ctx) -> Status {
        // The private key is readable only before the privilege drop.
        g_hooks.tls_context = smtpd::SmtpdServer::load_tls_context(ctx.config());
        g_hooks.tls_loaded = true;
        // Cyrus loads its plugins and reads <smtpd_sasl_path>.conf here,
        // before the chroot and before any client byte.
        auto sasl = smtpd::SmtpdServer::load_sasl(ctx.config());
        if (!sasl) return sasl.error();
        g_hooks.sasl = std::move(*sasl);
        g_hooks.sasl_loaded = true;
        return ok_status();
    };
    spec.post_jail_init = [](server::ServerContext& ctx) -> Status {
        g_hooks.service = ctx.service_name();
        auto srv = smtpd::SmtpdServer::create(ctx.config(), ctx.loop(), std::move(g_hooks));
        if (!srv) return srv.error();
        g_server = std::move(*srv);
        return ok_status();
    };
    spec.on_connection = [](server::ServerContext&, server::Connection conn) {
        smtpd::Peer peer = conn.peer() ? smtpd::peer_of(conn.peer(), conn.peer_len()) : smtpd::peer_of(conn.fd());
        g_server->start_session(std::move(conn), std::move(peer));
    };
    spec.on_exit = [](server::ServerContext&) { g_server.reset(); };
    // The parameters this service reads (besides the skeleton's).
    spec.parameters = {
        "double_bounce_sender",
        "access_map_defer_code", "access_map_reject_code", "allow_percent_hack", "allow_untrusted_routing",
        "auth_mechanisms", "authd_client_timeout", "broken_sasl_auth_clients", "canonical_maps", "content_filter", "cyrus_sasl_config_path", "defer_code",
        "disable_vrfy_command", "dns_servers", "empty_address_recipient", "inet_interfaces",
        "invalid_hostname_reject_code", "line_length_limit", "local_recipient_maps", "mail_name",
        "maps_rbl_reject_code", "message_size_limit", "mydestination", "myhostname", "mynetworks", "myorigin",
        "non_fqdn_reject_code", "owner_request_special", "parent_domain_matches_subdomains",
        "plaintext_reject_code", "proxy_interfaces", "receive_override_options", "recipient_canonical_maps",
        "recipient_delimiter", "reject_code", "relay_domains", "relay_domains_reject_code",
        "relay_recipient_maps", "resolve_dequoted_address", "resolve_numeric_domain", "sender_canonical_maps",
        "show_user_unknown_table_name", "smtpd_banner", "smtpd_clamav_action", "smtpd_clamav_failure_action", "smtpd_clamav_max_length",
        "smtpd_clamav_socket", "smtpd_clamav_timeout", "smtpd_client_connection_count_limit",
        "smtpd_client_connection_rate_limit", "smtpd_client_event_limit_exceptions",
        "smtpd_client_message_rate_limit", "smtpd_client_recipient_rate_limit", "smtpd_client_restrictions",
        "smtpd_data_restrictions", "smtpd_delay_reject", "smtpd_discard_ehlo_keywords",
        "smtpd_end_of_data_restrictions", "smtpd_enforce_tls", "smtpd_error_sleep_time",
        "smtpd_etrn_restrictions", "smtpd_forbid_bare_newline", "smtpd_forbid_bare_newline_exclusions",
        "smtpd_forbid_unauth_pipelining", "smtpd_hard_error_limit", "smtpd_helo_required",
        "smtpd_helo_restrictions", "smtpd_junk_command_limit", "smtpd_null_access_lookup_key",
        "smtpd_peername_lookup", "smtpd_proxy_ehlo", "smtpd_proxy_filter", "smtpd_proxy_options",
        "smtpd_proxy_timeout", "smtpd_recipient_limit", "smtpd_recipient_restrictions",
        "smtpd_reject_unlisted_recipient", "smtpd_reject_unlisted_sender",
        "smtpd_relay_before_recipient_restrictions", "smtpd_relay_restrictions", "smtpd_restriction_classes",
        "smtpd_sasl_auth_enable", "smtpd_sasl_authenticated_header", "smtpd_sasl_exceptions_networks",
        "smtpd_sasl_failure_delay",
        "smtpd_sasl_local_domain", "smtpd_sasl_path", "smtpd_sasl_response_limit",
        "smtpd_sasl_security_options", "smtpd_sasl_service", "smtpd_sasl_tls_security_options",
        "smtpd_sasl_type", "smtpd_sender_login_maps", "smtpd_sender_restrictions", "smtpd_soft_error_limit",
        "smtpd_timeout", "smtpd_tls_CAfile", "smtpd_tls_ask_ccert", "smtpd_tls_auth_only", "smtpd_tls_cert_file", "smtpd_tls_ciphers",
        "smtpd_tls_key_file", "smtpd_tls_loglevel", "smtpd_tls_mandatory_ciphers",
        "smtpd_tls_mandatory_protocols", "smtpd_tls_protocols", "smtpd_tls_received_header",
        "smtpd_tls_security_level", "smtpd_tls_wrappermode", "smtpd_use_tls", "smtputf8_enable",
        "strict_rfc821_envelopes", "swap_bangpath", "unknown_address_reject_code",
        "unknown_client_reject_code", "unknown_hostname_reject_code", "unknown_local_recipient_reject_code",
        "unknown_relay_recipient_reject_code", "unknown_virtual_alias_reject_code",
        "unknown_virtual_mailbox_reject_code", "virtual_alias_domains", "virtual_alias_maps",
        "virtual_mailbox_domains", "virtual_mailbox_maps"};
    spec.parameters.insert(spec.parameters.end(), milter::kMilterParameters.begin(), milter::kMilterParameters.end());
    // The routes behind the milter macros {mail_mailer}, {rcpt_host}, ...
    for (const char* p : {"local_transport", "virtual_transport", "relay_transport", "default_transport", "relayhost",
                          "transport_maps"})
        spec.parameters.push_back(p);
    return server::run_multi_server(argc, argv, std::move(spec));
}
