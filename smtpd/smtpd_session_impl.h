// smtpd_session_impl.h - the Session class, shared by the files that
// implement it (private to smtpd).
//
// Summary
//   One SMTP conversation (see smtpd_session.h for the behaviour). The
//   class is split over several files along its seams:
//     smtpd_session.cc    session state, peer name, greeting, the command
//                         dispatcher and HELO/EHLO MAIL RCPT RSET VRFY
//     smtpd_transport.cc  the session on its event::Channel: channel
//                         events, input pump, replies, STARTTLS, closing
//     smtpd_message.cc    the mail transaction toward cleanup: DATA, BDAT
//     smtpd_auth.cc       the AUTH exchange (SASL steps)
//     smtpd_etrn.cc       ETRN
//     smtpd_server.cc     SmtpdConfig and SmtpdServer
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "lib/event/channel.h"
#include "smtpd/smtpd_session.h"

namespace mailroom::smtpd {

class ClamavSink;  // smtpd_clamav.cc
class ProxySink;   // smtpd_proxy.cc

inline constexpr size_t kMaxReadAhead = 64 * 1024;  // bytes pulled from the socket before processing
// Bytes of a message cleanup may have unread before the session stops
// reading DATA.
inline constexpr size_t kMaxUnsent = 256 * 1024;
// How long one SASL step (a saslauthd round trip) may take before the
// client gets a temporary failure; a late answer is thrown away.
// Shorter than saslauthd's own 30 s wait for its remote server, so a stuck
// backend gets our 454, not a late "authentication failed".
inline constexpr std::chrono::seconds kSaslStepTimeout{20};

// ---------------------------------------------------------------------------
// Session

class Session {
public:
    Session(SmtpdServer& server, server::Connection conn, Peer peer);
    ~Session();
    Session(const Session&) = delete;
    Session& operator=(const Session&) = delete;

    void start();

private:
    enum class State { kCommand, kData, kBdat, kAuth, kClosing };

    // The transport (smtpd_transport.cc): the channel's handlers.
    void setup_channel();
    void on_drained();
    void on_channel_event(event::Channel::Event ev, const std::string& reason);

    void pump();
    bool process_one();  // false: nothing more can be done now
    void handle_command(std::string_view line, bool more_input);
    void handle_data_piece(const LinePiece& piece);
    void handle_bdat_bytes();

    void reply(const Reply& r);
    void reply_error(const Reply& r);  // counts an error
    void send_raw(const std::string& text);
    void close_after_reply();
    void finish_session();
    // Peer name lookup (smtpd_peername_lookup), then begin().
    void on_ptr(dns::Answer answer);
    std::optional<std::string> reverse_known(const dns::Answer& answer);
    void on_forward(const std::string& name, dns::Answer answer);
    void begin();
    void greet();
    bool wait_for_rate(Verb verb, const Command& cmd);
    // STARTTLS: after the 220 is flushed, the channel starts TLS; on_tls_established() runs after the handshake.
    void start_tls();
    void on_tls_established();
    bool offer_starttls() const;
    void count(Verb verb, bool ok);
    void lost_connection();

    void cmd_helo(const Command& cmd, bool ehlo);
    void cmd_mail(const Command& cmd);
    void cmd_rcpt(const Command& cmd);
    void cmd_data(const Command& cmd);
    void cmd_bdat(const Command& cmd);
    void cmd_rset();
    void cmd_vrfy(const Command& cmd);
    void cmd_etrn(const Command& cmd);
    void cmd_starttls();
    void cmd_auth(const Command& cmd);
    // AUTH: SMTP AUTH is offered and accepted in this session.
    bool offer_auth() const;  // EHLO announces AUTH
    void sasl_result(SaslStep step);
    void sasl_response(std::string_view line, bool too_long);
    void sasl_end();
    void sasl_wait();  // arms the step timeout
    void junk();
    void check_error_limit();

    void run_check(CheckResult (Checker::*method)(SessionState&), std::function<void(CheckResult)> then);
    void start_sink(Status* out);
    void accept_recipient(const RcptParams& params, const std::string& address);
    void rcpt_accepted(const RcptParams& params, const std::string& address);
    void finish_message(std::function<void(const Reply&, bool)> done);
    void abort_message();
    void reset_transaction();
    Status send_content_line(std::string_view text, bool continued);
    Status start_content();
    Status send_effects();
    void end_of_message();
    // The built-in virus scan (smtpd_clamav.cc): wraps a new cleanup sink
    // when smtpd_clamav_socket is set; at end of DATA waits for the verdict
    // and then queues, holds, discards or refuses the message.
    std::shared_ptr<MessageSink> clamav_wrap(std::unique_ptr<MessageSink> sink);
    void clamav_verdict(std::function<void(const Reply&, bool)> done);
    // The before-queue proxy (smtpd_proxy.cc): a new sink becomes sink_
    // (wrapped for the scan); with smtpd_proxy_filter the client gets the
    // proxy's replies to RCPT and to the end of the message.
    std::shared_ptr<MessageSink> attach_sink(std::unique_ptr<MessageSink> sink);
    void proxy_recipient(const std::string& address);
    void proxy_finish(std::function<void(const Reply&, bool)> done);
    void proxy_data(std::function<void()> go_ahead);
    bool in_transaction() const { return s_.sender.has_value(); }
    // Milters (smtpd_milter.cc): `start` runs one event through them; `then`
    // gets their reject or tempfail as the reply to send, or nullopt.
    void milter_start();
    void milter_stage(const char* stage, std::function<void(milter::MilterList::Done)> start,
                      std::function<void(std::optional<Reply>)> then);
    std::optional<std::string> milter_macro(std::string_view name) const;
    std::string milter_log_suffix() const;
    std::vector<std::string> milter_args(const Command& cmd) const;
    std::unique_ptr<MessageSink> milter_wrap(std::unique_ptr<MessageSink> sink);
    std::string namaddr() const { return s_.namaddr(); }
    // "from=<s> to=<first recipient> proto=P helo=<h>" of the message's
    // log lines (proxy, clamav); the milter lines use milter_log_suffix().
    std::string envelope_log_suffix() const {
        return s_.log_suffix(recipients_.empty() ? std::nullopt : std::optional<std::string>(recipients_.front()));
    }

    SmtpdServer& server_;
    const SmtpdConfig& cfg_;
    server::Connection conn_;
    Peer peer_;
    event::Channel::Ptr channel_;  // the client (borrows conn_'s descriptor)
    std::shared_ptr<int> alive_ = std::make_shared<int>(0);
    State state_ = State::kCommand;
    std::string input_;
    bool in_pump_ = false;
    bool busy_ = false;      // waiting for a check
    bool sleeping_ = false;  // smtpd_error_sleep_time
    std::string delayed_;    // replies held while sleeping
    event::Timer sleep_timer_;
    bool skipping_long_line_ = false;   // AUTH responses
    CommandLines command_lines_;        // command state
    bool finished_ = false;
    bool eof_ = false;       // the client closed its side
    bool reject_bare_lf_ = false;
    bool starttls_pending_ = false;  // "220 Ready to start TLS" is being flushed
    bool tls_handshake_ = false;     // the TLS handshake is running
    bool greeted_ = false;
    bool anvil_asked_ = false;            // the connection was shown to anvil (or exempt)
    bool limited_ = false;                // anvil limits apply to this client
    std::uint64_t anvil_generation_ = 0;  // anvil counted this connection
    bool rate_ok_ = false;                // anvil let the current MAIL/RCPT through
    tls::SessionInfo tls_info_;
    uint64_t sasl_id_ = 0;     // the running AUTH exchange (0 = none)
    std::string sasl_mech_;
    std::string sasl_sender_;  // MAIL FROM's AUTH= value
    event::Timer sasl_timer_;  // bounds the wait for one SASL step

    SessionState s_;
    std::optional<Reply> client_reject_;
    bool ehlo_ = false;      // EHLO was accepted and PIPELINING offered
    int error_count_ = 0;
    int junk_count_ = 0;
    std::string last_cmd_ = "CONNECT";
    unsigned counts_ok_[14] = {};
    unsigned counts_total_[14] = {};

    // The mail transaction.
    std::shared_ptr<MessageSink> sink_;
    std::shared_ptr<ClamavSink> clamav_;           // sink_ when it scans (smtpd_clamav.cc)
    ProxySink* proxy_ = nullptr;                   // sink_'s proxy connection (smtpd_proxy.cc)
    std::shared_ptr<MessageSink> finishing_sink_;  // waiting for cleanup's final status
    bool sink_full_ = false;                       // cleanup has kMaxUnsent bytes unread
    std::vector<std::string> recipients_;
    unsigned rcpt_attempts_ = 0;
    DataDecoder decoder_;
    uint64_t message_size_ = 0;
    bool too_big_ = false;
    Status sink_status_;
    CheckEffects sent_effects_;  // the access-map actions cleanup has been told
    bool bdat_used_ = false;
    std::optional<Reply> bdat_error_;  // answers every chunk until LAST
    uint64_t bdat_total_ = 0;          // octets of the accepted chunks
    uint64_t bdat_remaining_ = 0;
    bool bdat_last_ = false;
    bool bdat_discard_ = false;
    bool bdat_line_start_ = true;
    std::string bdat_partial_;
    Reply pending_bdat_error_;
    uint64_t bdat_chunk_size_ = 0;
    MailParams mail_params_;
    std::shared_ptr<milter::MilterList> milters_;  // null without smtpd_milters
    bool milter_connected_ = false;               // the connect event was sent
    bool milter_discard_ = false;                 // a milter said DISCARD for this message
    std::time_t arrival_ = 0;
};


template <class T>
void SmtpdServer::run_io(std::function<T()> work, std::function<void(T)> done) {
    io_offload_->submit_value<T>(std::move(work), std::move(done));
}

}  // namespace mailroom::smtpd
