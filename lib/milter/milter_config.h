// milter_config.h - which milters a service talks to, and how: the
// smtpd_milters / non_smtpd_milters lists and the milter_* parameters.
//
// Summary
//   parse_milter_list() reads a milter list as Postfix 3.0 does: socket
//   specs separated by commas or white space, each either bare
//   ("inet:127.0.0.1:8891") or in braces with per-milter settings
//   ("{ inet:127.0.0.1:8891, default_action=accept, command_timeout=10s }").
//   MilterConfig::from_config() reads the list and the milter_* defaults.
//   parse_socket() splits "inet:host:port", "unix:/path" and "local:/path".
//
// Description
//   Per-milter settings: connect_timeout, command_timeout,
//   content_timeout, default_action (accept, reject, tempfail,
//   quarantine) and protocol (2 to 6); any other name is an error, as in
//   Postfix. The macro lists (milter_*_macros) are shared by all milters
//   of a service; a version 6 milter may ask for other lists in its
//   negotiation reply.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "lib/config/config.h"
#include "lib/milter/milter_codec.h"
#include "lib/table/maps.h"
#include "lib/util/result.h"

namespace mailroom::milter {

enum class DefaultAction { kAccept, kReject, kTempfail, kQuarantine };
Result<DefaultAction> parse_default_action(std::string_view value);

struct SocketSpec {
    bool inet = false;
    std::string host;  // inet: name or address (brackets removed)
    std::string port;  // inet: number or service name
    std::string path;  // unix/local
    // inet: the numeric addresses to try in order, and the port number:
    // set by parse_socket() for a numeric host and port, by
    // resolve_socket() for names. Empty: not resolved (resolve_error says
    // why, when it was tried).
    std::vector<std::string> addresses;
    std::uint16_t port_number = 0;
    std::string resolve_error;
};
Result<SocketSpec> parse_socket(std::string_view spec);
// Resolves an inet socket's host and service names with the system
// resolver (/etc/hosts, DNS: this blocks), once, when the configuration is
// read: the event loop never waits for a name. A failure is kept in
// resolve_error; the milter then gets its default_action at each connect.
void resolve_socket(SocketSpec* socket);

struct MilterSpec {
    std::string name;  // the socket spec as written: "inet:127.0.0.1:8891"
    SocketSpec socket;
    DefaultAction default_action = DefaultAction::kTempfail;
    int connect_timeout_s = 30;
    int command_timeout_s = 30;
    int content_timeout_s = 300;
    std::uint32_t protocol = 6;
};

// `defaults` gives every setting a milter's braces do not.
Result<std::vector<MilterSpec>> parse_milter_list(std::string_view value, const MilterSpec& defaults);

struct MilterConfig {
    std::vector<MilterSpec> milters;
    // Macro names per stage (Stage index), from milter_*_macros.
    std::array<std::vector<std::string>, kStages> macros;
    std::string daemon_name;  // milter_macro_daemon_name
    std::string macro_v;      // milter_macro_v
    // milter_header_checks, opened by from_config() (null when empty).
    std::shared_ptr<const table::Maps> header_checks;

    bool empty() const { return milters.empty(); }
    // list_param: "smtpd_milters" or "non_smtpd_milters". An error names the
    // parameter; receive_override_options = no_milters gives no milters.
    static Result<MilterConfig> from_config(const config::Config& config, std::string_view list_param);
};

// The parameters from_config() reads (for a daemon's parameter list).
extern const std::vector<std::string> kMilterParameters;

}  // namespace mailroom::milter
