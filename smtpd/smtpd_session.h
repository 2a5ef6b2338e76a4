// smtpd_session.h - one SMTP conversation: the RFC 5321 state machine on a
// non-blocking socket.
//
// Summary
//   SmtpdServer holds what the sessions of one smtpd process share: the
//   parameters (SmtpdConfig), the restriction Checker, $mynetworks, the
//   bare-newline exclusions and, when a restriction or recipient table can
//   block (mysql:, ... by the table's type: table::spec_may_block()),
//   table::LookupRunner workers that run the checks off the loop.
//   start_session() creates a Session for a connection; the Session lives
//   until QUIT, a fatal error, a timeout or a lost connection, and
//   many of them share one libevent loop.
//
// Description
//   Input arrives through an event::Channel (lib/event/channel.h: the
//   socket, smtpd_timeout, STARTTLS, deferred delete) into a bounded
//   buffer; each complete
//   command line goes to parse_command() (lib/smtp/smtp_command.h), then to the
//   handler for the current state:
//     kCommand   HELO EHLO MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY ETRN
//                STARTTLS AUTH
//     kData      message lines until <CR><LF>.<CR><LF> (lib/smtp/smtp_data.h)
//     kBdat      exactly the announced number of octets
//   The message goes to cleanup (lib/submit/cleanup_proto.h) as it arrives:
//   the cleanup connection opens at the first accepted RCPT (the queue ID is
//   logged then as "ID: client=name[addr]"), the envelope records follow
//   each accepted recipient, DATA sends the Received: header and the
//   content, and "250 2.0.0 Ok: queued as ID" is sent only after cleanup
//   answers status 0.
//   With smtpd_clamav_socket the content also streams to clamd and the
//   reply to the end of the message waits for its verdict
//   (smtpd_clamav.h); with smtpd_proxy_filter the transaction goes to an
//   SMTP proxy instead of cleanup and the client gets the proxy's replies
//   (smtpd_proxy.h). docs/content-filter.md has both.
//   With smtpd_milters (smtpd_milter.h) each command also goes to the
//   milters before its reply, and the message reaches cleanup only after
//   the final dot, edited by them.
//   Recipients are validated (smtpd_reject_unlisted_recipient) against
//   local_recipient_maps for $mydestination, virtual_mailbox_maps for
//   virtual mailbox domains and relay_recipient_maps for relay domains; an
//   empty parameter turns the check off for its class, and a table that
//   cannot be opened answers "451 4.3.0 Temporary lookup failure".
//   Replies and log lines are Postfix's (lib/smtp/smtp_reply.h; "connect from",
//   "lost connection after CMD from", "timeout after CMD from", "too many
//   errors after CMD from", "disconnect from ... ehlo=1 mail=1 ... commands=N").
//   While a reply is delayed (smtpd_error_sleep_time) or a check runs on
//   the offload worker, the session reads nothing more.
//
//   Peer name (smtpd_peername_lookup = yes): before the greeting the
//   session asks lib/dns, on the loop, for the PTR of the client address
//   and then for the A (AAAA) records of that name; only when they contain
//   the address is the client "name[addr]", else "unknown[addr]" with the
//   temporary or permanent status reject_unknown_client_hostname and
//   reject_unknown_reverse_client_hostname use. Other sessions go on while
//   it waits. Restrictions that ask DNS (reject_unknown_*_domain,
//   reject_unknown_helo_hostname, reject_rbl_client, reject_rhsbl_*, ...)
//   run on the check workers with blocking lib/dns lookups (smtpd_dns.h).
//   dns_servers names the DNS servers (default: /etc/resolv.conf).
//
//   TLS (smtpd_tls_security_level may/encrypt): EHLO offers STARTTLS until
//   the session is encrypted; "220 2.0.0 Ready to start TLS" is flushed,
//   everything the client sent after STARTTLS is thrown away (RFC 3207,
//   CVE-2011-0411: nothing pipelined in plaintext is ever executed), and
//   the channel starts TLS with an SSL object from lib/tls. After the handshake the session forgets the
//   HELO name, the mail transaction and any SASL state. With
//   smtpd_tls_wrappermode the handshake comes before the greeting. With
//   encrypt, commands other than EHLO HELO STARTTLS NOOP RSET QUIT answer
//   "530 5.7.0 Must issue a STARTTLS command first".
//
//   AUTH (smtpd_sasl_auth_enable, Cyrus SASL through smtpd_sasl.h): EHLO
//   lists Cyrus's mechanisms (not before TLS with smtpd_tls_auth_only, not
//   to smtpd_sasl_exceptions_networks; broken_sasl_auth_clients adds the
//   AUTH= line). Each step of an exchange runs on the SASL worker thread
//   while the session reads nothing more; challenges go out as "334
//   base64", responses are read as lines of at most
//   smtpd_sasl_response_limit bytes ("*" aborts). A step without an answer
//   after 20 s gets a 454 temporary failure and its late answer is dropped. Success sets the SASL
//   user name permit_sasl_authenticated and the client= log line see;
//   failure answers "535 5.7.8 Error: authentication failed: reason",
//   logs "warning: name[addr]: SASL LOGIN authentication failed: reason"
//   and counts as an error.
//
// Known limits
//   The hand-off to cleanup never blocks the loop
//   (submit::AsyncCleanupClient): connecting, the records and the wait for
//   the final status (the fsync) all run on it; while cleanup has more than
//   kMaxUnsent bytes of a message unread, that session reads no more DATA.
//   HOLD, FILTER, REDIRECT and BCC access-map actions are not passed to
//   cleanup yet (PREPEND and DISCARD are).
//
// Security
//   All client input is hostile: command lines are bounded by
//   line_length_limit, message lines are cut into pieces of at most
//   line_length_limit bytes, the input buffer never holds more than a few
//   pieces, and the error counters end abusive sessions.
#pragma once

#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lib/config/common_params.h"
#include "lib/config/config.h"
#include "lib/dns/dns.h"
#include "lib/event/event_loop.h"
#include "lib/event/offload.h"
#include "lib/milter/milter_list.h"
#include "lib/table/async_lookup.h"
#include "lib/queue/record_format.h"
#include "lib/server/server.h"
#include "lib/submit/cleanup_async.h"
#include "lib/submit/cleanup_proto.h"
#include "lib/tls/tls.h"
#include "lib/util/result.h"
#include "qmgr/qmgr_transport.h"
#include "lib/submit/flush.h"
#include "smtpd/smtpd_anvil.h"
#include "smtpd/smtpd_check.h"
#include "smtpd/smtpd_clamav.h"
#include "smtpd/smtpd_proxy.h"
#include "smtpd/smtpd_mynetworks.h"
#include "smtpd/smtpd_peer_cache.h"
#include "smtpd/smtpd_protocol.h"
#include "smtpd/smtpd_sasl.h"

namespace mailroom::smtpd {

// The main.cf parameters a session honours (names as in Postfix).
struct SmtpdConfig {
    std::string myhostname;
    std::string mail_name = "mailroom";
    std::string smtpd_banner;
    std::string queue_directory;
    std::string content_filter;  // transport:nexthop for every message received
    std::int64_t cleanup_flags = 0;  // receive_override_options for cleanup
    bool no_unknown_recipient_checks = false;  // receive_override_options for the checks
    ParseOptions parse;
    EhloOptions ehlo;
    uint64_t message_size_limit = config::message_size_limit_default();
    bool disable_vrfy_command = false;
    bool smtpd_helo_required = false;
    unsigned smtpd_recipient_limit = 1000;
    int smtpd_timeout_s = 300;
    int smtpd_hard_error_limit = 20;
    int smtpd_soft_error_limit = 10;
    int smtpd_error_sleep_time_ms = 1000;
    int smtpd_junk_command_limit = 100;
    BareNewline smtpd_forbid_bare_newline = BareNewline::kNormalize;
    bool smtpd_forbid_unauth_pipelining = true;
    int ipc_timeout_ms = 3600 * 1000;
    bool smtpd_peername_lookup = true;
    tls::ServerPolicy tls;  // smtpd_tls_* (lib/tls/tls.h)
    SaslConfig sasl;        // smtpd_sasl_* (smtpd_sasl.h)
    ClamavConfig clamav;    // smtpd_clamav_* (smtpd_clamav.h)
    ProxyConfig proxy;      // smtpd_proxy_* (smtpd_proxy.h)
    std::shared_ptr<const milter::MilterConfig> milters;  // smtpd_milters (smtpd_milter.h); null when none

    static Result<SmtpdConfig> from_config(const config::Config& config);
};

// Where a message goes: the cleanup service, or a fake in tests. Nothing
// here blocks the loop: send() queues, finish() answers later.
class MessageSink {
public:
    using Finished = std::function<void(Result<submit::CleanupResult>)>;
    virtual ~MessageSink() = default;
    virtual const std::string& queue_id() const = 0;
    // Queues one record; an error once the hand-off failed.
    virtual Status send(queue::RecordType type, std::string_view payload) = 0;
    // Bytes queued that cleanup has not read yet; on_drained runs when it
    // has read them (the session reads no more DATA meanwhile).
    virtual std::size_t unsent() const { return 0; }
    virtual void on_drained(std::function<void()> handler) {}
    // After the last record: `done` gets cleanup's final status (from the
    // loop, or at once).
    virtual void finish(Finished done) = 0;
    // The reply a filter in front of cleanup chose instead of cleanup's
    // (a milter's reject at end of message; smtpd_milter.h).
    virtual std::optional<Reply> final_reply() const { return std::nullopt; }
};
using SinkOpened = std::function<void(Result<std::unique_ptr<MessageSink>>)>;
using SinkOpener = std::function<void(SinkOpened)>;

// The default opener: queue_directory/public/cleanup (master.cf: "cleanup
// unix n ..."), through submit::AsyncCleanupClient on the loop.
SinkOpener cleanup_sink_opener(event::Loop& loop, std::string queue_directory, int timeout_ms,
                               std::int64_t flags = submit::kCleanupFlagNone);

// With smtpd_proxy_filter: each transaction goes to the proxy
// (smtpd_proxy.h) instead of cleanup.
SinkOpener proxy_sink_opener(event::Loop& loop, const ProxyConfig& config);

// Which client a connection comes from.
struct Peer {
    std::string name = "unknown";
    std::string addr;
};
// getpeername() of a TCP socket ("127.0.0.1"); "unknown" for others.
Peer peer_of(int fd);
// The same from an address accept4() gave (no system call).
Peer peer_of(const sockaddr* addr, socklen_t len);

class Session;

class SmtpdServer {
public:
    struct Hooks {
        SinkOpener open_sink;                       // default: cleanup_sink_opener()
        // ETRN site; run off the loop. Default: submit::flush_site() (fast_flush_domains).
        std::function<submit::FlushStatus(const std::string& site)> flush_site;
        CheckHooks check;                           // classify_domain defaults to DomainLists,
                                                    // lookup_user to the recipient maps below
        bool offload_checks = false;                // run checks on the worker even when no
                                                    // table may block (tests)
        // The TLS context, loaded before the privilege drop
        // (load_tls_context()); when tls_loaded is false, create() loads it.
        std::shared_ptr<tls::ServerContext> tls_context;
        bool tls_loaded = false;
        // Cyrus SASL, initialised before the privilege drop (load_sasl());
        // when sasl_loaded is false, create() initialises it.
        std::shared_ptr<CyrusSasl> sasl;
        bool sasl_loaded = false;
        std::string service = "smtp";  // master.cf service name (anvil idents)
    };

    // With smtpd_sasl_auth_enable = yes: initialises Cyrus SASL (once per
    // process) with $smtpd_sasl_path; nullptr when AUTH is off. An error for
    // smtpd_sasl_type other than cyrus or a library that cannot start.
    static Result<std::shared_ptr<CyrusSasl>> load_sasl(const config::Config& config);

    // Reads the certificate and key named by smtpd_tls_cert_file and
    // smtpd_tls_key_file when TLS is enabled. A missing or bad file logs a
    // warning naming it and gives nullptr: TLS is then not offered (with
    // TLS required, STARTTLS answers 454 and mail is refused).
    static std::shared_ptr<tls::ServerContext> load_tls_context(const config::Config& config);

    static Result<std::unique_ptr<SmtpdServer>> create(const config::Config& config, event::Loop& loop,
                                                       Hooks hooks);
    static Result<std::unique_ptr<SmtpdServer>> create(const config::Config& config, event::Loop& loop);
    SmtpdServer(const SmtpdServer&) = delete;
    SmtpdServer& operator=(const SmtpdServer&) = delete;
    ~SmtpdServer();

    // Starts a session; it owns `conn` until it ends.
    void start_session(server::Connection conn, Peer peer);
    size_t sessions() const { return sessions_.size(); }

    // Internal: used by Session.
    const SmtpdConfig& config() const { return config_; }
    Checker& checker() { return *checker_; }
    event::Loop& loop() { return loop_; }
    const Hooks& hooks() const { return hooks_; }
    tls::ServerContext* tls_context() const { return hooks_.tls_context.get(); }
    // The AUTH exchanges of this process; nullptr when AUTH is off.
    SaslServer* sasl() const { return sasl_.get(); }
    // smtpd_sasl_exceptions_networks: EHLO offers no AUTH to these.
    bool sasl_exception(const Peer& peer) const;
    // Peer names (smtpd_peername_lookup = yes): with dns_servers set, the
    // loop's resolver asks those servers; otherwise the workers of
    // peer_offload() ask the system resolver. Both nullptr when the
    // lookup is off.
    dns::Resolver* resolver() { return resolver_.get(); }
    event::Offload* peer_offload() { return peer_offload_.get(); }
    // What peer_offload() found for recent clients (smtpd_peer_cache.h).
    PeerCache& peer_cache() { return peer_cache_; }
    bool in_mynetworks(const Peer& peer) const;
    bool bare_newline_excluded(const Peer& peer) const;
    // Connection count and rate limits (anvil); never null after create().
    ClientLimits* limits() { return limits_.get(); }
    // Runs fn (a restriction check) and then done on the loop; off the loop
    // when a table may block: then on the least busy of kCheckWorkers
    // threads, each with its own Checker (its own table connections).
    void run_check(std::function<CheckResult(Checker&)> fn, std::function<void(CheckResult)> done);
    static constexpr size_t kCheckWorkers = 4;
    static constexpr size_t kPeerWorkers = 4;
    void session_done(Session* session);
    // Where an address goes, as trivial-rewrite tells qmgr (the milter
    // macros {mail_mailer}, {rcpt_host}, ...); nullopt when it cannot be
    // told without blocking (a domain list or transport_maps table that
    // may block) or the lookup failed. Set up only with smtpd_milters.
    std::optional<qmgr::Route> route(std::string_view address) const;
    Status load_routes(const config::Config& config, const CheckConfig& checks);
    // Runs work (talking to cleanup) on an I/O worker, then done on the loop.
    template <class T>
    void run_io(std::function<T()> work, std::function<void(T)> done);

    struct Private {};
    SmtpdServer(Private, event::Loop& loop);

private:
    event::Loop& loop_;
    SmtpdConfig config_;
    Hooks hooks_;
    std::shared_ptr<address::DomainLists> domains_;
    std::unique_ptr<DnsResolver> check_dns_;
    std::unique_ptr<Checker> checker_;
    std::unique_ptr<dns::Resolver> resolver_;
    std::unique_ptr<event::Offload> peer_offload_;
    PeerCache peer_cache_;
    std::unique_ptr<Mynetworks> mynetworks_;
    std::unique_ptr<Mynetworks> bare_lf_exclusions_;
    std::unique_ptr<SaslServer> sasl_;
    std::unique_ptr<Mynetworks> sasl_exceptions_;
    std::vector<std::unique_ptr<Checker>> worker_checkers_;
    std::vector<std::unique_ptr<table::LookupRunner>> workers_;  // checks that may block
    std::unique_ptr<event::Offload> io_offload_;
    std::shared_ptr<RecipientTables> recipient_tables_;
    std::unique_ptr<ClientLimits> limits_;
    std::list<std::unique_ptr<Session>> sessions_;
    std::shared_ptr<const qmgr::RoutingConfig> routing_;  // null: no routes (see route())
    std::vector<table::TablePtr> transport_maps_;
};

}  // namespace mailroom::smtpd
