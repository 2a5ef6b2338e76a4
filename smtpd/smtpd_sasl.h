// smtpd_sasl.h - SMTP AUTH (RFC 4954) for smtpd through Cyrus SASL or authd.
//
// Summary
//   SaslConfig::from_config() reads the smtpd_sasl_* parameters (pure).
//   CyrusSasl::init() initialises libsasl2 once per process, before the
//   privilege drop and before any client byte is read: sasl_server_init()
//   with the application name $smtpd_sasl_path (Cyrus then reads
//   <path>.conf, e.g. "pwcheck_method: saslauthd" and "mech_list: PLAIN
//   LOGIN", from $cyrus_sasl_config_path or its built-in directories), and
//   the mechanism lists for plaintext and TLS sessions. SaslServer runs the
//   exchanges of the sessions of one process: every libsasl2 call after
//   init happens on one worker thread (event::Offload), so a password check
//   that waits for saslauthd never stalls the loop, and the library is
//   used by one thread at a time.
//
// Description
//   One exchange per AUTH command: start() creates a Cyrus connection
//   (service $smtpd_sasl_service, realm $smtpd_sasl_local_domain, the
//   security options of the session: $smtpd_sasl_security_options, or
//   $smtpd_sasl_tls_security_options with TLS; no SASL security layer),
//   step() feeds it the client's decoded responses, end() disposes of it.
//   Results say continue (with the raw challenge), ok (with the user
//   name), fail or temporary failure (with Cyrus's error text, the words
//   Postfix shows: "authentication failure", "no mechanism available").
//
//   With smtpd_sasl_type = authd, libsasl2 is not used: PLAIN and LOGIN
//   run in smtpd (smtpd_sasl_authd.h) and the password is checked by
//   authd (or courier's authdaemond) on the socket smtpd_sasl_path names,
//   with the same replies and log lines.
//
// Thread safety
//   SaslServer's methods are called on the loop thread; the done callbacks
//   run there too.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lib/config/config.h"
#include "lib/event/event_loop.h"
#include "lib/event/offload.h"
#include "lib/smtp/sasl_text.h"
#include "lib/util/result.h"

typedef struct sasl_conn sasl_conn_t;

namespace mailroom::smtpd {

struct SaslConfig {
    bool enabled = false;              // smtpd_sasl_auth_enable
    std::string type = "cyrus";        // smtpd_sasl_type: cyrus or authd
    std::string path = "smtpd";        // smtpd_sasl_path: the Cyrus application name, or
                                       // authd's socket (relative: under queue_directory)
    std::string authd_socket;          // type authd: the socket's absolute path
    std::chrono::milliseconds authd_timeout{5000};   // authd_client_timeout
    std::chrono::milliseconds failure_delay{0};      // smtpd_sasl_failure_delay (type authd)
    std::vector<std::string> authd_mechanisms{"PLAIN", "LOGIN"};  // auth_mechanisms, upper case
    std::string config_path;           // cyrus_sasl_config_path ("" = Cyrus's default)
    std::string service = "smtp";      // smtpd_sasl_service
    std::string local_domain;          // smtpd_sasl_local_domain (the realm)
    unsigned security_flags = 0;       // smtpd_sasl_security_options (SASL_SEC_*)
    unsigned tls_security_flags = 0;   // smtpd_sasl_tls_security_options
    bool broken_clients = false;       // broken_sasl_auth_clients
    bool authenticated_header = false; // smtpd_sasl_authenticated_header
    std::vector<std::string> exceptions_networks;  // smtpd_sasl_exceptions_networks
    size_t response_limit = 12288;     // smtpd_sasl_response_limit
    // How long the session waits for one Cyrus step before answering 454.
    // 20 s, or authd_client_timeout when Cyrus's only password check is
    // courier's authdaemond (pwcheck_method: authdaemond), whose socket
    // mailroom's authd serves: libsasl2 itself waits 30 s for a silent one.
    std::chrono::milliseconds cyrus_step_timeout{20000};

    // smtpd_sasl_type must be "cyrus" or "authd": "dovecot" and others are
    // refused. With authd and smtpd_sasl_path left at "smtpd", the socket
    // is private/authd.
    static Result<SaslConfig> from_config(const config::Config& config);
};

// The value of `key` in Cyrus's configuration file for application `app`
// (<dir>/<app>.conf, "key: value" lines, '#' comments), from the first
// directory of the colon-separated `dirs` that has the file, as libsasl2
// reads it; nullopt when no file or no such key.
std::optional<std::string> cyrus_app_option(const std::string& dirs, const std::string& app, std::string_view key);

// The directories libsasl2 searches for <app>.conf: $cyrus_sasl_config_path,
// else $SASL_CONF_PATH, else Debian's built-in list for the libsasl2 the
// program is built with (cyrus_default_config_dirs of its library
// directory, /usr/lib/<multiarch triplet> on Debian).
std::string cyrus_config_dirs(const std::string& config_path);

// Debian's built-in list for a libsasl2 in `library_dir`:
// "/etc/sasl2:/etc/sasl:<library_dir>/sasl2:/usr/lib/sasl2".
std::string cyrus_default_config_dirs(std::string_view library_dir);

// parse_sasl_security_options() and sasl_status_text() are shared with
// the SMTP client (lib/smtp/sasl_text.h).
using smtp::parse_sasl_security_options;
using smtp::sasl_status_text;

// The process's SASL state: libsasl2's (sasl_server_init is process-wide),
// or with smtpd_sasl_type = authd only the mechanism lists.
class CyrusSasl {
public:
    static Result<std::shared_ptr<CyrusSasl>> init(const SaslConfig& config, const std::string& myhostname);
    ~CyrusSasl();
    CyrusSasl(const CyrusSasl&) = delete;
    CyrusSasl& operator=(const CyrusSasl&) = delete;

    // The mechanisms offered in EHLO ("PLAIN", "LOGIN"), Cyrus's order.
    const std::vector<std::string>& mechanisms(bool tls) const { return tls ? tls_mechs_ : plain_mechs_; }
    const SaslConfig& config() const { return config_; }
    const std::string& myhostname() const { return myhostname_; }
    bool authd() const { return config_.type == "authd"; }

    struct Private {};
    explicit CyrusSasl(Private) {}

private:
    SaslConfig config_;
    std::string myhostname_;
    std::vector<std::string> plain_mechs_;
    std::vector<std::string> tls_mechs_;
};

struct SaslStep {
    enum class Kind { kContinue, kOk, kFail, kTempFail };
    Kind kind = Kind::kFail;
    std::string challenge;  // kContinue: raw bytes (the caller encodes them)
    std::string username;   // kOk
    std::string reason;     // kFail/kTempFail: "authentication failure"
};

class AuthdSasl;

class SaslServer {
public:
    static Result<std::unique_ptr<SaslServer>> create(event::Loop& loop, std::shared_ptr<CyrusSasl> sasl);
    ~SaslServer();
    SaslServer(const SaslServer&) = delete;
    SaslServer& operator=(const SaslServer&) = delete;

    const CyrusSasl& cyrus() const { return *sasl_; }

    struct Peer {
        std::string local;   // "127.0.0.1;25"
        std::string remote;  // "127.0.0.1;40312"
        bool tls = false;
    };
    using Done = std::function<void(SaslStep)>;
    // A new exchange; `initial` is the decoded initial response, if any.
    uint64_t start(const Peer& peer, const std::string& mechanism, std::optional<std::string> initial, Done done);
    void step(uint64_t id, std::string response, Done done);
    void end(uint64_t id);

    struct Private {};
    explicit SaslServer(Private);

private:
    std::shared_ptr<CyrusSasl> sasl_;
    std::unique_ptr<AuthdSasl> authd_;  // smtpd_sasl_type = authd
    std::unique_ptr<event::Offload> worker_;
    uint64_t next_id_ = 1;
    // Touched only on the worker thread (and after it is joined).
    std::shared_ptr<std::map<uint64_t, sasl_conn_t*>> conns_;
};

}  // namespace mailroom::smtpd
