// login.h - the login part every mail-access server shares (pop3d, imapd).
//
// Summary
//   What happens between a client's connect and authd's answer, protocol
//   aside: the parameters (LoginConfig), the connection's addresses and the
//   plaintext policy (LoginPeer), Dovecot's login log lines, the PLAIN and
//   LOGIN SASL exchanges (SaslExchange, with SASL-IR), the authd request
//   with the failure delay and its three outcomes (LoginAuth), and the
//   user+IP connection limit counted by anvil (UseripLimiter). The
//   protocol's name ("pop3", "imap") is a parameter everywhere: it names
//   the log lines ("pop3-login: Login: ..."), the authd service and the
//   anvil ident ("pop3-userip:<ip>/<user>").
//
// Description
//   Plaintext credentials (USER/PASS, LOGIN, AUTH PLAIN/LOGIN) are allowed
//   when disable_plaintext_auth is off, over TLS, from
//   login_trusted_networks, or from the server's own address (Dovecot's
//   rule). A failed authentication is answered after auth_failure_delay
//   unless authd already waited; LoginAuth counts failures, and the third
//   one tells the caller to disconnect (Dovecot's login processes do so).
//   authd's answers map to Outcome::kOk (user record), kFail (unknown
//   user, wrong password, malformed SASL data) and kTempFail (authd or its
//   backend down; `reason` says why).
//
// Thread safety
//   Loop thread only; LoginConfig::from_config() and SaslExchange are pure.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "lib/access/handoff.h"
#include "lib/anvil/anvil_client.h"
#include "lib/auth/auth_client.h"
#include "lib/config/config.h"
#include "lib/event/event_loop.h"
#include "lib/tls/tls.h"
#include "lib/util/result.h"
#include "smtpd/smtpd_mynetworks.h"

namespace mailroom::access {

constexpr int kMaxAuthFailures = 3;  // the third failure ends the session

struct LoginConfig {
    std::string protocol = "pop3";  // log prefix, authd service, anvil ident
    bool disable_plaintext_auth = true;
    bool mech_plain = true;
    bool mech_login = true;
    bool mech_apop = false;
    std::optional<smtpd::Mynetworks> trusted;  // login_trusted_networks
    int max_userip = 10;                       // mail_max_userip_connections (0 = no limit)
    std::string anvil_socket;                  // private/anvil; empty: count in this process only
    std::chrono::milliseconds failure_delay{2000};  // auth_failure_delay, for failures decided here
    std::string hostname;                           // myhostname
    auth::AuthClientOptions authd;

    // Reads disable_plaintext_auth, auth_mechanisms, login_trusted_networks,
    // mail_max_userip_connections, auth_failure_delay, authd_client_timeout,
    // myhostname, queue_directory and the authd socket parameter named
    // `authd_path_param` ("pop3_authd_path").
    static Result<LoginConfig> from_config(const config::Config& config, std::string protocol,
                                           const char* authd_path_param);
};

// "1.2.3.4", "::1", or "local" (a UNIX socket) / "unknown".
std::string socket_address(int fd, bool peer);

// One client connection as the login part sees it.
// The TLS policy of a login part from Dovecot's ssl, ssl_cert and ssl_key
// (a leading "<" of Dovecot's "ssl_cert = </path" form is accepted): off
// when ssl = no or no certificate is set, else STARTTLS/STLS offered
// (implicit TLS with `wrappermode`), TLSv1.2 and later, medium ciphers.
Result<tls::ServerPolicy> login_tls_policy(const config::Config& config, bool wrappermode);

struct LoginPeer {
    std::string protocol;
    std::string rip, lip;
    bool tls = false;
    bool secured = false;  // trusted network or the server's own address (or TLS)

    static LoginPeer of(int fd, const LoginConfig& config);
    // In a mail process: the peer the login process described in the hand-off.
    static LoginPeer of(const Handoff& handoff);
    bool plaintext_allowed(const LoginConfig& config) const {
        return !config.disable_plaintext_auth || tls || secured;
    }
    // "user=<u>, method=PLAIN, rip=..., lip=...[, mpid=N][, TLS]" (user and method when given).
    // With `mpid` (the mail process's pid), "mpid=N" comes before "TLS", as Dovecot writes it.
    std::string fields(const std::string& user, const char* method, int mpid = 0) const;
    // "<proto>-login: Login: <fields>"
    void log_login(const std::string& user, const char* method) const;
    // "<proto>-login: Disconnected (auth failed, N attempts in S secs): <fields>"
    // or "(no auth attempts in S secs)" when failures is 0.
    void log_disconnect(int failures, std::chrono::steady_clock::time_point started, const std::string& user,
                        const char* method) const;
    // "<proto>-login: Aborted login (<why>): <fields>"
    void log_aborted(const char* why, const std::string& user, const char* method) const;
    // Dovecot's text for a login over mail_max_userip_connections, logged as
    // "<proto>-login: <text>: <fields>"; the protocol's reply carries it too.
    std::string userip_refused(int max, const std::string& user, const char* method) const;
    // The hand-off record of a session that logged in from this peer.
    Handoff handoff(const std::string& login_name, const char* method, const auth::AuthUser& user,
                    std::string state) const;
};

// The name the session runs under: what authd canonicalised
// (auth_username_format, a lookup's own spelling), else what was typed.
std::string canonical_login_name(const std::string& typed, const auth::AuthUser& user);

// The PLAIN and LOGIN exchanges after "AUTH <mech> [initial]": each client
// line goes to feed(); the answer says what to send or do next.
class SaslExchange {
public:
    enum class Mech { kPlain, kLogin };
    struct Step {
        enum class Kind {
            kChallenge,     // send the continuation with `challenge` (base64)
            kCredentials,   // user + password complete: ask authd
            kAborted,       // the client sent "*"
            kInvalidBase64, // a bad command
            kMalformed,     // decoded but not PLAIN's form: a failed authentication of `user`
        };
        Kind kind = Kind::kChallenge;
        std::string challenge;
        std::string user, password;
    };
    explicit SaslExchange(Mech mech) : mech_(mech) {}
    // The first continuation ("" for PLAIN, "VXNlcm5hbWU6" for LOGIN).
    std::string first_challenge() const;
    // A client line: base64, "=" (empty, SASL-IR's form) or "*".
    Step feed(const std::string& line);
    const char* method() const { return mech_ == Mech::kPlain ? "PLAIN" : "LOGIN"; }

private:
    Mech mech_;
    bool have_user_ = false;
    std::string user_;
};

// One session's authentications against authd.
class LoginAuth {
public:
    struct Outcome {
        enum class Kind { kOk, kFail, kTempFail };
        Kind kind = Kind::kTempFail;
        auth::AuthUser user;     // kOk
        std::string login_name;  // kOk: canonical_login_name()
        std::string reason;      // kTempFail
        bool disconnect = false; // kFail: the kMaxAuthFailures-th failure
    };
    using Done = std::function<void(Outcome)>;

    LoginAuth(event::Loop& loop, auth::AuthClient& authd, const LoginConfig& config);
    ~LoginAuth();
    LoginAuth(const LoginAuth&) = delete;
    LoginAuth& operator=(const LoginAuth&) = delete;

    // USER/PASS, LOGIN, SASL PLAIN/LOGIN: authd's AUTH "login" request.
    void password(const std::string& user, const std::string& password, const char* method, Done done);
    // APOP: authd's AUTH "apop" request (timestamp + hex digest).
    void apop(const std::string& user, const std::string& timestamp, const std::string& digest, Done done);
    // A failure decided by the caller (malformed SASL data): counted and
    // answered after the failure delay.
    void fail(const std::string& user, const char* method, Done done);

    bool busy() const { return auth_id_ != 0 || timer_armed_; }
    int failures() const { return failures_; }
    // The last user and method tried, for the Disconnected line.
    const std::string& last_user() const { return last_user_; }
    const char* last_method() const { return last_method_; }

private:
    void finish(const std::string& user, const char* method, auth::AuthResult result, Done done);
    void failed(bool delay, Done done);

    event::Loop& loop_;
    auth::AuthClient& authd_;
    const LoginConfig& config_;
    std::uint64_t auth_id_ = 0;
    event::Timer timer_;
    bool timer_armed_ = false;
    Done pending_;
    int failures_ = 0;
    std::string last_user_;
    const char* last_method_ = nullptr;
};

// mail_max_userip_connections, counted through anvil (so across every
// process of the service) under the ident "<proto>-userip:<ip>/<user>";
// without an anvil socket, in this process. connect()'s done(true, ticket)
// admits a session; the ticket goes back to release() when it ends. When
// anvil cannot be asked the session is admitted (anvil's client logs the
// warning), as Postfix's smtpd goes on without its limits.
class UseripLimiter {
public:
    struct Ticket {
        std::string key;
        std::uint64_t generation = 0;  // anvil connection it was counted on
        bool local = false;
    };
    UseripLimiter(event::Loop& loop, std::string protocol, int max, const std::string& anvil_socket);
    void connect(const std::string& user, const std::string& rip, std::function<void(bool, Ticket)> done);
    void release(const Ticket& ticket);
    int max() const { return max_; }

private:
    std::string service_;
    int max_;
    std::unique_ptr<anvil::Client> anvil_;
    std::map<std::string, int> local_;
};

}  // namespace mailroom::access
