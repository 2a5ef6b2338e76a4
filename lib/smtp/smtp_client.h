// smtp_client.h - the SMTP/LMTP client's protocol engine: what to send
// next and what each reply means for each recipient. No I/O.
//
// Summary
//   ClientEngine drives one connection for one message, as Postfix's
//   smtp(8) does: the greeting, EHLO (LHLO for LMTP) with smtp_helo_name
//   and a HELO fallback, STARTTLS when the policy asks for it, then MAIL
//   FROM, RCPT TO for every recipient and DATA, pipelined in one write
//   when the server offers PIPELINING, the message body, the end of data
//   and QUIT. The owner (smtp/ with a socket, or a test) writes what
//   Step::send says, streams the body when Step::send_body is set, starts
//   TLS when Step::start_tls is set, and feeds every complete reply to
//   on_reply(); on_lost() reports a lost connection or a timeout.
//
// Description
//   Every recipient ends with exactly one Verdict: sent with the server's
//   reply text ("250 2.0.0 Ok: queued as X"), or deferred/bounced with
//   Postfix's text "host NAME[ADDR] said: 550 5.1.1 ... (in reply to RCPT
//   TO command)"; a reply without an enhanced status code gets X.0.0 of
//   its class. Before MAIL FROM the engine checks SIZE (the message is
//   larger than the server's limit: 5.3.4 bounce) and SMTPUTF8 (needed but
//   not offered: 5.6.7 bounce). DSN parameters (RET, ENVID, NOTIFY, ORCPT)
//   go on the wire only when the server announces DSN.
//   With a SaslClient and a server that offers AUTH, the engine
//   authenticates after EHLO (after STARTTLS when there is one); a refusal
//   is "SASL authentication failed; server NAME[ADDR] said: 535 ...", a
//   deferral (4.7.0 or the reply's 4.x.x) that tries the next server, as
//   Postfix's default smtp_sasl_auth_soft_bounce does (with "no" a 5xx
//   refusal bounces). BODY=8BITMIME (or BODY=7BIT) goes on MAIL FROM when
//   the server announces 8BITMIME and the queue file knows the body type.
//   A failure that concerns the whole session (greeting refused, EHLO and
//   HELO refused, TLS required but not offered) is a SessionFailure: the
//   owner may try the next address (try_next is set as Postfix does for
//   a greeting failure) or report it for every recipient. A greeting
//   refused with 5xx is deferred with 4.x.x and try_next as Postfix's
//   smtp_skip_5xx_greeting = yes, or bounced without it.
//
// Security
//   Replies come from the peer: their texts are made printable by the log;
//   the number of lines is bounded by ReplyReader.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lib/smtp/smtp_client_text.h"
#include "lib/smtp/smtp_reply.h"

namespace mailroom::smtp {

enum class ClientProtocol { kSmtp, kLmtp };
enum class TlsWant { kNone, kMay, kRequired };
enum class VerdictKind { kSent, kDeferred, kBounced };

struct Verdict {
    VerdictKind kind = VerdictKind::kDeferred;
    std::string dsn;     // "2.0.0", "4.4.2", "5.1.1"
    std::string reason;  // the text the log shows in parentheses
};

struct ClientRecipient {
    std::string address;
    std::string dsn_orcpt;   // "rfc822;user@example.com"
    std::string dsn_notify;  // "SUCCESS,FAILURE" or "NEVER"
};

struct ClientMessage {
    std::string sender;  // "" = null sender
    std::vector<ClientRecipient> recipients;
    std::uint64_t size = 0;  // content bytes, for SIZE=
    std::string dsn_ret;     // "FULL", "HDRS" or ""
    std::string dsn_envid;
    bool smtputf8 = false;   // an envelope address is not ASCII
    // The queue file's body type: "8bit" (BODY=8BITMIME at the client, or
    // found by cleanup), "7bit", or "" (not known). Told to a server that
    // announces 8BITMIME; sent as is to one that does not, as Postfix.
    std::string encoding;
};

// The SASL side of AUTH (smtp/ puts Cyrus SASL behind it; tests a fake).
// Texts are raw (the engine does base64).
class SaslClient {
public:
    virtual ~SaslClient() = default;
    struct Start {
        std::string mechanism;
        std::optional<std::string> initial;  // initial response, if any
    };
    // Picks a mechanism from the server's list ("PLAIN LOGIN"); `tls`: the
    // session is encrypted (the security options may differ).
    virtual Result<Start> start(const std::string& mechanisms, bool tls) = 0;
    virtual Result<std::string> step(const std::string& challenge) = 0;
};

struct ClientSettings {
    ClientProtocol protocol = ClientProtocol::kSmtp;
    std::string helo_name = "localhost";
    std::string peer;  // "host[addr]" (or the socket path for LMTP over UNIX)
    TlsWant tls = TlsWant::kNone;
    bool pipelining = true;  // use PIPELINING when offered
    std::shared_ptr<SaslClient> sasl;  // AUTH when the server offers it
    bool keep_open = false;  // after the transaction: no QUIT, Step::reusable
    // smtp_skip_5xx_greeting: a 5xx greeting defers (4.x.x) and the next
    // server is tried; "no" bounces at once.
    bool skip_5xx_greeting = true;
    // smtp_sasl_auth_soft_bounce: a 5xx AUTH refusal defers and the next
    // server is tried; "no" bounces with the server's reply.
    bool sasl_soft_bounce = true;
};

struct SessionFailure {
    VerdictKind kind = VerdictKind::kDeferred;
    std::string dsn;
    std::string reason;
    bool try_next = false;  // another address of the destination may do better
};

// What the owner does next, in this order: write `send`, start TLS, stream
// the body, and, when `finished`, close the connection.
struct Step {
    std::string send;
    bool start_tls = false;
    bool send_body = false;
    bool finished = false;
    bool reusable = false;  // finished without QUIT: the session may carry another message
};

class ClientEngine {
public:
    ClientEngine(ClientSettings settings, ClientMessage message);

    // The next complete server reply.
    Step on_reply(const Reply& reply);
    // TLS is up after Step::start_tls: send EHLO again.
    Step tls_ready();
    // A cached session that finished a transaction carries this message:
    // straight to MAIL FROM with what the earlier EHLO announced.
    Step resume(std::vector<EhloKeyword> keywords, bool tls_active, bool authenticated);
    // The connection broke (or timed out). Recipients without a verdict
    // get Postfix's "lost connection"/"timed out" text; nothing is sent.
    void on_lost(bool timed_out);

    // Ends the session from outside the protocol (a TLS certificate that
    // the policy does not accept): a session failure, then QUIT.
    Step abort_session(VerdictKind kind, std::string dsn, std::string reason, bool try_next) {
        return fail_session(kind, std::move(dsn), std::move(reason), try_next);
    }

    // What the engine waits for now, to pick the owner's timeout.
    enum class Wait { kGreeting, kHelo, kStartTls, kMail, kRcpt, kData, kBody, kDataDone, kQuit };
    Wait waiting_for() const;

    // All recipients have a verdict (or a session failure happened).
    bool done() const;
    const std::optional<SessionFailure>& session_failure() const { return failure_; }
    // The handshake is done and the mail transaction has started.
    bool in_transaction() const { return state_ == State::kEnvelope || state_ == State::kDot; }
    // One per recipient, in message order; valid once done() (a session
    // failure leaves them empty: the owner decides).
    const std::vector<std::optional<Verdict>>& verdicts() const { return verdicts_; }
    // The server's EHLO keywords (empty after HELO).
    const std::vector<EhloKeyword>& keywords() const { return keywords_; }
    bool tls_active() const { return tls_active_; }
    bool authenticated() const { return authenticated_; }
    // The message body has been sent (the owner calls this after the body
    // and the final "." are written).
    void body_sent() { body_sent_ = true; }

    // Postfix's texts (exposed for tests).
    static std::string reply_text(const Reply& reply);  // "550 5.1.1 text text"
    static std::string reply_dsn(const Reply& reply);   // the reply's, or "X.0.0"

private:
    enum class State { kGreeting, kEhlo, kHelo, kStartTls, kAuth, kEnvelope, kDot, kQuit, kClosed };
    enum class Cmd { kMail, kRcpt, kData };
    struct Pending {
        Cmd cmd;
        std::size_t rcpt = 0;
    };

    Step after_ehlo();
    Step begin_auth();
    Step auth_reply(const Reply& reply);
    Step begin_envelope();
    Step envelope_reply(const Reply& reply);
    Step dot_reply(const Reply& reply);
    Step quit();
    Step idle();
    Step fail_session(VerdictKind kind, std::string dsn, std::string reason, bool try_next);
    void set_all(const Verdict& verdict, bool only_accepted);
    Verdict from_reply(const Reply& reply, std::string_view command) const;
    std::string mail_command() const;
    std::string rcpt_command(const ClientRecipient& r) const;
    std::string hello_word() const;
    const char* stage() const;

    ClientSettings settings_;
    ClientMessage message_;
    State state_ = State::kGreeting;
    std::vector<EhloKeyword> keywords_;
    bool esmtp_ = false;
    bool tls_active_ = false;
    bool authenticated_ = false;
    bool pipelining_ = false;
    bool body_sent_ = false;
    bool mail_failed_ = false;
    std::size_t next_rcpt_ = 0;  // not pipelining: the next RCPT to send
    std::vector<Pending> pending_;
    std::vector<std::size_t> accepted_;  // recipient indexes the server took
    std::size_t lmtp_next_ = 0;          // LMTP: next accepted recipient's reply
    std::vector<std::optional<Verdict>> verdicts_;
    std::optional<SessionFailure> failure_;
};

}  // namespace mailroom::smtp
