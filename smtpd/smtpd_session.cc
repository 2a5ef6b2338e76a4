// smtpd_session.cc - see smtpd_session.h.
#include "smtpd/smtpd_session.h"

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/util.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <map>
#include <mutex>

#include "lib/config/common_params.h"
#include "lib/config/param_read.h"
#include "lib/ipc/ipc_socket.h"
#include "lib/log/log.h"
#include "lib/submit/trigger.h"
#include "lib/table/maps.h"
#include "lib/util/base64.h"
#include "lib/util/strings.h"
#include "smtpd/smtpd_dns.h"

namespace mailroom::smtpd {

namespace {

using queue::RecordType;

constexpr size_t kMaxReadAhead = 64 * 1024;  // bytes pulled from the socket before processing
// How long one SASL step (a saslauthd round trip) may take before the
// client gets a temporary failure; a late answer is thrown away.
constexpr std::chrono::seconds kSaslStepTimeout{30};

std::string lower(std::string_view s) {
    std::string out(s);
    for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

// The cleanup service behind the MessageSink seam.
class CleanupSink : public MessageSink {
public:
    explicit CleanupSink(submit::CleanupClient client) : client_(std::move(client)) {}
    const std::string& queue_id() const override { return client_.queue_id(); }
    Status send(RecordType type, std::string_view payload) override { return client_.send(type, payload); }
    Result<submit::CleanupResult> finish() override { return client_.finish(); }

private:
    submit::CleanupClient client_;
};

// Commands in the order Postfix lists them on the disconnect line.
constexpr const char* kCounterNames[] = {"helo", "ehlo", "starttls", "auth", "mail", "rcpt", "data",
                                         "bdat", "rset", "noop", "vrfy", "etrn", "quit", "unknown"};
int counter_index(Verb verb) {
    switch (verb) {
        case Verb::kHelo: return 0;
        case Verb::kEhlo: return 1;
        case Verb::kStartTls: return 2;
        case Verb::kAuth: return 3;
        case Verb::kMail: return 4;
        case Verb::kRcpt: return 5;
        case Verb::kData: return 6;
        case Verb::kBdat: return 7;
        case Verb::kRset: return 8;
        case Verb::kNoop: return 9;
        case Verb::kVrfy: return 10;
        case Verb::kEtrn: return 11;
        case Verb::kQuit: return 12;
        default: return 13;
    }
}

// RFC 2920: commands that must end a pipelined group.
bool must_end_group(Verb verb) {
    switch (verb) {
        case Verb::kHelo: case Verb::kEhlo: case Verb::kData: case Verb::kNoop: case Verb::kVrfy:
        case Verb::kEtrn: case Verb::kStartTls: case Verb::kAuth: case Verb::kUnknown: case Verb::kHelp:
            return true;
        default:
            return false;
    }
}

}  // namespace

// ---------------------------------------------------------------------------
// Configuration

Result<SmtpdConfig> SmtpdConfig::from_config(const config::Config& cfg) {
    SmtpdConfig c;
    if (auto st = config::read_param(cfg, "myhostname", &c.myhostname); !st) return st.error();
    if (auto st = config::read_param(cfg, "mail_name", &c.mail_name); !st) return st.error();
    if (auto st = config::read_param(cfg, "smtpd_banner", &c.smtpd_banner); !st) return st.error();
    if (auto st = config::read_param(cfg, "queue_directory", &c.queue_directory); !st) return st.error();
    if (auto st = config::read_param(cfg, "content_filter", &c.content_filter); !st) return st.error();
    std::string overrides;
    if (auto st = config::read_param(cfg, "receive_override_options", &overrides); !st) return st.error();
    auto ro = submit::parse_receive_override_options(overrides);
    if (!ro) return ro.error();
    c.cleanup_flags = ro->cleanup_flags;
    c.no_unknown_recipient_checks = ro->no_unknown_recipient_checks;
    auto parse = parse_options_from_config(cfg);
    if (!parse) return parse.error();
    c.parse = *parse;
    if (auto st = config::read_param(cfg, "message_size_limit", &c.message_size_limit); !st) return st.error();
    if (auto st = config::read_param(cfg, "disable_vrfy_command", &c.disable_vrfy_command); !st) return st.error();
    if (auto st = config::read_param(cfg, "smtpd_helo_required", &c.smtpd_helo_required); !st) return st.error();
    if (auto st = config::read_param(cfg, "smtpd_recipient_limit", &c.smtpd_recipient_limit); !st) return st.error();
    if (auto st = config::read_time_param(cfg, "smtpd_timeout", &c.smtpd_timeout_s); !st) return st.error();
    if (auto st = config::read_param(cfg, "smtpd_hard_error_limit", &c.smtpd_hard_error_limit); !st) return st.error();
    if (auto st = config::read_param(cfg, "smtpd_soft_error_limit", &c.smtpd_soft_error_limit); !st) return st.error();
    int sleep_s = 1;
    if (auto st = config::read_time_param(cfg, "smtpd_error_sleep_time", &sleep_s); !st) return st.error();
    c.smtpd_error_sleep_time_ms = sleep_s * 1000;
    if (auto st = config::read_param(cfg, "smtpd_junk_command_limit", &c.smtpd_junk_command_limit); !st) return st.error();
    std::string bare;
    if (auto st = config::read_param(cfg, "smtpd_forbid_bare_newline", &bare); !st) return st.error();
    if (!parse_bare_newline(lower(bare), &c.smtpd_forbid_bare_newline))
        return make_error("invalid smtpd_forbid_bare_newline value: \"" + bare + "\"");
    if (auto st = config::read_param(cfg, "smtpd_forbid_unauth_pipelining", &c.smtpd_forbid_unauth_pipelining); !st) return st.error();
    auto ipc = config::ipc_timeout_ms(cfg);
    if (!ipc) return ipc.error();
    c.ipc_timeout_ms = *ipc;
    if (auto st = config::read_param(cfg, "smtpd_peername_lookup", &c.smtpd_peername_lookup); !st) return st.error();
    auto tls = tls::ServerPolicy::from_config(cfg);
    if (!tls) return tls.error();
    c.tls = std::move(*tls);
    auto sasl = SaslConfig::from_config(cfg);
    if (!sasl) return sasl.error();
    c.sasl = std::move(*sasl);

    c.ehlo.myhostname = c.myhostname;
    c.ehlo.message_size_limit = c.message_size_limit;
    c.ehlo.vrfy = !c.disable_vrfy_command;
    if (auto st = config::read_param(cfg, "smtputf8_enable", &c.ehlo.smtputf8); !st) return st.error();
    auto discard = cfg.get_list("smtpd_discard_ehlo_keywords");
    if (!discard) return discard.error();
    c.ehlo.discard = *discard;
    return c;
}

SinkOpener cleanup_sink_opener(std::string queue_directory, int timeout_ms, std::int64_t flags) {
    return [dir = std::move(queue_directory), timeout_ms, flags]() -> Result<std::unique_ptr<MessageSink>> {
        auto client = submit::CleanupClient::open(dir, ipc::ServiceClass::kPublic, "cleanup", flags, timeout_ms);
        if (!client) return client.error();
        return std::unique_ptr<MessageSink>(std::make_unique<CleanupSink>(std::move(*client)));
    };
}

Peer peer_of(int fd) {
    Peer peer;
    sockaddr_storage ss{};
    socklen_t len = sizeof(ss);
    if (::getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) {
        peer.addr = "unknown";
        return peer;
    }
    char buf[INET6_ADDRSTRLEN] = {};
    if (ss.ss_family == AF_INET) {
        inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(&ss)->sin_addr, buf, sizeof(buf));
        peer.addr = buf;
    } else if (ss.ss_family == AF_INET6) {
        auto* a6 = reinterpret_cast<sockaddr_in6*>(&ss);
        if (IN6_IS_ADDR_V4MAPPED(&a6->sin6_addr)) {
            inet_ntop(AF_INET, &a6->sin6_addr.s6_addr[12], buf, sizeof(buf));
        } else {
            inet_ntop(AF_INET6, &a6->sin6_addr, buf, sizeof(buf));
        }
        peer.addr = buf;
    } else {
        peer.addr = "unknown";
    }
    return peer;
}

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

    static void read_cb(bufferevent* bev, void* arg);
    static void write_cb(bufferevent* bev, void* arg);
    static void event_cb(bufferevent* bev, short what, void* arg);

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
    void on_forward(const std::string& name, dns::Answer answer);
    void begin();
    void greet();
    bool wait_for_rate(Verb verb, const Command& cmd);
    void setup_bev();
    // STARTTLS: after the 220 is flushed, the plain bufferevent gives way
    // to an OpenSSL one; on_tls_established() runs after the handshake.
    void start_tls();
    void on_tls_established();
    bool offer_starttls() const;
    void count(Verb verb, bool ok);
    void lost_connection();

    void cmd_helo(const Command& cmd, bool ehlo);
    void cmd_mail(const Command& cmd);
    void cmd_rcpt(const Command& cmd);
    void cmd_data();
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
    void finish_message(std::function<void(const Reply&, bool)> done);
    void abort_message();
    void reset_transaction();
    Status send_content_line(std::string_view text, bool continued);
    Status start_content();
    Status send_effects();
    void end_of_message();
    bool in_transaction() const { return s_.sender.has_value(); }
    std::string namaddr() const { return s_.namaddr(); }

    SmtpdServer& server_;
    const SmtpdConfig& cfg_;
    server::Connection conn_;
    Peer peer_;
    bufferevent* bev_ = nullptr;
    std::shared_ptr<int> alive_ = std::make_shared<int>(0);
    State state_ = State::kCommand;
    std::string input_;
    bool in_pump_ = false;
    bool busy_ = false;      // waiting for a check
    bool sleeping_ = false;  // smtpd_error_sleep_time
    std::string delayed_;    // replies held while sleeping
    event::Timer sleep_timer_;
    bool skipping_long_line_ = false;
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
    std::time_t arrival_ = 0;
};

Session::Session(SmtpdServer& server, server::Connection conn, Peer peer)
    : server_(server), cfg_(server.config()), conn_(std::move(conn)), peer_(std::move(peer)) {
    s_.client_name = peer_.name;
    s_.client_addr = peer_.addr;
    s_.client_in_mynetworks = server_.in_mynetworks(peer_);
    s_.protocol = "SMTP";  // until EHLO
    reject_bare_lf_ = cfg_.smtpd_forbid_bare_newline == BareNewline::kReject && !server_.bare_newline_excluded(peer_);
    decoder_ = DataDecoder(reject_bare_lf_);
}

Session::~Session() {
    if (bev_) bufferevent_free(bev_);
}

void Session::start() {
    // The greeting waits for the peer name; the resolver's own timeouts
    // bound the wait, and the loop serves other sessions meanwhile.
    dns::Resolver* resolver = server_.resolver();
    std::string reverse = dns::reverse_name(s_.client_addr);
    if (resolver == nullptr || reverse.empty()) {
        begin();
        return;
    }
    resolver->lookup(reverse, dns::Type::kPTR, [this](dns::Answer a) { on_ptr(std::move(a)); });
}

void Session::on_ptr(dns::Answer answer) {
    if (!answer.found()) {
        // No PTR: permanently unknown; a failed lookup: temporarily.
        PeerStatus st = answer.outcome == dns::Outcome::kTempFail ? PeerStatus::kTempFail : PeerStatus::kPermFail;
        s_.client_name_status = st;
        s_.reverse_client_name_status = st;
        begin();
        return;
    }
    std::string name = util::lowercase(answer.names.front());
    if (!valid_hostname(name)) {
        log::warn("%s: malformed domain name in PTR record: %s", s_.client_addr.c_str(),
                  log::log_printable(name).c_str());
        s_.client_name_status = PeerStatus::kPermFail;
        s_.reverse_client_name_status = PeerStatus::kPermFail;
        begin();
        return;
    }
    s_.reverse_client_name = name;
    s_.reverse_client_name_status = PeerStatus::kOk;
    // Forward confirmation: the name must resolve back to the address.
    dns::Type type = s_.client_addr.find(':') != std::string::npos ? dns::Type::kAAAA : dns::Type::kA;
    server_.resolver()->lookup(name, type, [this, name](dns::Answer a) { on_forward(name, std::move(a)); });
}

void Session::on_forward(const std::string& name, dns::Answer answer) {
    if (answer.outcome == dns::Outcome::kTempFail) {
        log::warn("hostname %s does not resolve to address %s: temporary failure in name resolution", name.c_str(),
                  s_.client_addr.c_str());
        s_.client_name_status = PeerStatus::kTempFail;
    } else if (std::find(answer.addresses.begin(), answer.addresses.end(), s_.client_addr) ==
               answer.addresses.end()) {
        if (answer.found()) {
            log::warn("hostname %s does not resolve to address %s", name.c_str(), s_.client_addr.c_str());
        } else {
            log::warn("hostname %s does not resolve to address %s: Name or service not known", name.c_str(),
                      s_.client_addr.c_str());
        }
        s_.client_name_status = PeerStatus::kPermFail;
    } else {
        s_.client_name = name;
        s_.client_name_status = PeerStatus::kOk;
        peer_.name = name;
        s_.client_in_mynetworks = server_.in_mynetworks(peer_);
        reject_bare_lf_ =
            cfg_.smtpd_forbid_bare_newline == BareNewline::kReject && !server_.bare_newline_excluded(peer_);
        decoder_ = DataDecoder(reject_bare_lf_);
    }
    begin();
}

void Session::setup_bev() {
    bufferevent_setcb(bev_, read_cb, write_cb, event_cb, this);
    timeval tv{cfg_.smtpd_timeout_s, 0};
    bufferevent_set_timeouts(bev_, &tv, &tv);
    bufferevent_setwatermark(bev_, EV_READ, 0, kMaxReadAhead);
    bufferevent_enable(bev_, EV_READ | EV_WRITE);
}

void Session::begin() {
    log::info("connect from %s", namaddr().c_str());
    evutil_make_socket_nonblocking(conn_.fd());
    sleep_timer_ = event::Timer(server_.loop(), [this] {
        sleeping_ = false;
        std::string out = std::move(delayed_);
        delayed_.clear();
        if (bev_ && !out.empty()) bufferevent_write(bev_, out.data(), out.size());
        if (state_ == State::kClosing) {
            if (bev_ && evbuffer_get_length(bufferevent_get_output(bev_)) == 0) finish_session();
            return;
        }
        pump();
    });
    if (cfg_.tls.wrappermode) {
        // SMTPS: the handshake first, the greeting inside TLS.
        if (!server_.tls_context()) {
            log::warn("TLS wrapper mode without a usable TLS context: dropping %s", namaddr().c_str());
            finish_session();
            return;
        }
        start_tls();
        return;
    }
    bev_ = bufferevent_socket_new(server_.loop().base(), conn_.fd(), 0);
    if (!bev_) {
        log::warn("cannot create a buffer event for %s", namaddr().c_str());
        finish_session();
        return;
    }
    setup_bev();
    // A client that talks before the greeting is not waiting for replies
    // (RFC 5321 4.3.1): Postfix's "improper command pipelining after CONNECT".
    char peek[100];
    ssize_t early = ::recv(conn_.fd(), peek, sizeof(peek), MSG_PEEK | MSG_DONTWAIT);
    if (early > 0) {
        std::string next(peek, static_cast<size_t>(early));
        if (auto eol = next.find_first_of("\r\n"); eol != std::string::npos) next.resize(eol);
        s_.improper_pipelining = true;
        log::info("improper command pipelining after CONNECT from %s: %s", namaddr().c_str(),
                  log::log_printable(next).c_str());
        if (cfg_.smtpd_forbid_unauth_pipelining) {
            send_raw(replies::protocol_sync().format());
            close_after_reply();
            return;
        }
    }
    greet();
}

void Session::greet() {
    // smtpd_client_connection_count/rate_limit: anvil counts the connection
    // before the greeting; the session reads nothing meanwhile, other
    // sessions go on.
    if (!std::exchange(anvil_asked_, true)) {
        ClientLimits* limits = server_.limits();
        limited_ = limits->enabled() && !limits->exempt(s_.client_name, s_.client_addr);
        if (limited_) {
            busy_ = true;
            std::weak_ptr<int> alive = alive_;
            std::string addr = s_.client_addr;
            limits->connect(s_.client_name, addr,
                            [this, alive, limits, addr](std::optional<Reply> refusal, std::uint64_t gen) {
                                if (alive.expired() || finished_) return limits->disconnect(addr, gen);
                                anvil_generation_ = gen;
                                busy_ = false;
                                if (refusal) {
                                    send_raw(refusal->format());
                                    close_after_reply();
                                    return;
                                }
                                greet();
                                pump();
                            });
            return;
        }
    }
    greeted_ = true;
    reply(replies::greeting(cfg_.smtpd_banner));
    // smtpd_delay_reject = no: the client restrictions answer every command.
    run_check(&Checker::check_client, [this](CheckResult r) {
        if (r.rejected()) client_reject_ = r.reply;
    });
}

void Session::read_cb(bufferevent*, void* arg) { static_cast<Session*>(arg)->pump(); }

void Session::write_cb(bufferevent* bev, void* arg) {
    auto* self = static_cast<Session*>(arg);
    if (self->starttls_pending_ && evbuffer_get_length(bufferevent_get_output(bev)) == 0) {
        self->starttls_pending_ = false;
        self->start_tls();
        return;
    }
    if (self->state_ == State::kClosing && !self->sleeping_ && evbuffer_get_length(bufferevent_get_output(bev)) == 0)
        self->finish_session();
}

void Session::start_tls() {
    // RFC 3207 and CVE-2011-0411: whatever the client sent after STARTTLS
    // (in the same packet, or read before now) is plaintext that must never
    // count as a command inside TLS. It is thrown away here; anything still
    // in the socket goes to OpenSSL as handshake data and fails it.
    input_.clear();
    skipping_long_line_ = false;
    if (bev_) {
        evbuffer* in = bufferevent_get_input(bev_);
        evbuffer_drain(in, evbuffer_get_length(in));
        bufferevent_free(bev_);
        bev_ = nullptr;
    }
    tls_handshake_ = true;
    busy_ = true;
    // The OpenSSL bufferevent owns a duplicate of the socket (and the SSL
    // object); the Connection keeps the original for the skeleton.
    int fd = ::dup(conn_.fd());
    SSL* ssl = fd >= 0 ? server_.tls_context()->new_ssl() : nullptr;
    if (ssl) {
        bev_ = bufferevent_openssl_socket_new(server_.loop().base(), fd, ssl, BUFFEREVENT_SSL_ACCEPTING,
                                              BEV_OPT_CLOSE_ON_FREE);
    }
    if (!bev_) {
        log::warn("cannot start TLS for %s: %s", namaddr().c_str(),
                  fd < 0 ? std::strerror(errno) : "cannot create the TLS buffer event");
        if (ssl) SSL_free(ssl);
        if (fd >= 0) ::close(fd);
        lost_connection();
        finish_session();
        return;
    }
    bufferevent_openssl_set_allow_dirty_shutdown(bev_, 1);
    setup_bev();
}

void Session::on_tls_established() {
    tls_handshake_ = false;
    busy_ = false;
    s_.tls_active = true;
    tls_info_ = tls::session_info(bufferevent_openssl_get_ssl(bev_));
    if (cfg_.tls.loglevel >= 1) log::info("%s", tls::established_log(namaddr(), tls_info_).c_str());
    if (!greeted_) {
        greet();
    } else {
        // RFC 3207 4.2: forget everything learned from the client before.
        reset_transaction();
        s_.helo_name.reset();
        s_.protocol = "SMTP";
        ehlo_ = false;
        sasl_end();
        s_.sasl_username.clear();
        s_.sasl_method.clear();
    }
    pump();
}

bool Session::offer_starttls() const {
    return cfg_.tls.enabled() && !cfg_.tls.wrappermode && !s_.tls_active && server_.tls_context() != nullptr;
}

void Session::event_cb(bufferevent*, short what, void* arg) {
    auto* self = static_cast<Session*>(arg);
    if (self->finished_) return;
    if (self->tls_handshake_ && (what & BEV_EVENT_CONNECTED)) {
        self->on_tls_established();
        return;
    }
    if (self->tls_handshake_ && (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))) {
        std::string reason;
        while (unsigned long e = bufferevent_get_openssl_error(self->bev_)) {
            char buf[256];
            ERR_error_string_n(e, buf, sizeof(buf));
            if (!reason.empty()) reason += ": ";
            reason += buf;
        }
        if (reason.empty()) reason = (what & BEV_EVENT_EOF) ? "lost connection" : std::strerror(errno);
        log::info("SSL_accept error from %s: %s", self->namaddr().c_str(), reason.c_str());
        self->lost_connection();
        self->finish_session();
        return;
    }
    if (what & BEV_EVENT_TIMEOUT) {
        if (self->state_ == State::kClosing) {
            self->finish_session();
            return;
        }
        log::info("timeout after %s from %s", self->last_cmd_.c_str(), self->namaddr().c_str());
        self->abort_message();
        self->send_raw(replies::timeout(self->cfg_.myhostname).format());
        self->close_after_reply();
        return;
    }
    if ((what & BEV_EVENT_EOF) && !(what & BEV_EVENT_ERROR) && self->state_ != State::kClosing) {
        // Commands that arrived before the end of input still count
        // ("QUIT" and a close in one go); pump() ends the session after them.
        self->eof_ = true;
        bufferevent_disable(self->bev_, EV_READ);
        self->pump();
        return;
    }
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
        if (self->state_ != State::kClosing) self->lost_connection();
        self->finish_session();
    }
}

void Session::lost_connection() {
    log::info("lost connection after %s from %s", last_cmd_.c_str(), namaddr().c_str());
    abort_message();
}

void Session::pump() {
    if (in_pump_ || finished_) return;
    in_pump_ = true;
    while (!finished_ && state_ != State::kClosing && !busy_ && !sleeping_) {
        evbuffer* in = bufferevent_get_input(bev_);
        size_t avail = evbuffer_get_length(in);
        if (avail > 0 && input_.size() < kMaxReadAhead) {
            size_t n = std::min(avail, kMaxReadAhead - input_.size());
            size_t old = input_.size();
            input_.resize(old + n);
            evbuffer_remove(in, input_.data() + old, n);
        }
        if (!process_one()) break;
    }
    in_pump_ = false;
    if (eof_ && !finished_ && !busy_ && !sleeping_ && state_ != State::kClosing) {
        lost_connection();
        finish_session();
    }
}

bool Session::process_one() {
    if (state_ == State::kBdat) {
        if (input_.empty()) return false;
        handle_bdat_bytes();
        return true;
    }
    size_t limit = cfg_.parse.line_length_limit;
    if (state_ == State::kAuth) limit = server_.config().sasl.response_limit + 2;
    LinePiece piece;
    if (!take_line(input_, limit, &piece)) return false;
    if (state_ == State::kAuth) {
        if (skipping_long_line_) {
            if (piece.end != LineEnd::kNone) skipping_long_line_ = false;
            input_.erase(0, piece.consumed);
            return true;
        }
        std::string line(piece.text);
        bool too_long = piece.end == LineEnd::kNone;
        if (too_long) skipping_long_line_ = true;
        input_.erase(0, piece.consumed);
        sasl_response(line, too_long);
        return true;
    }
    if (state_ == State::kData) {
        handle_data_piece(piece);
        input_.erase(0, piece.consumed);
        return true;
    }
    // Command state.
    if (skipping_long_line_) {
        if (piece.end != LineEnd::kNone) skipping_long_line_ = false;
        input_.erase(0, piece.consumed);
        return true;
    }
    if (piece.end == LineEnd::kNone) {
        // Longer than line_length_limit: refuse and drop the rest of the line.
        skipping_long_line_ = true;
        input_.erase(0, piece.consumed);
        last_cmd_ = "UNKNOWN";
        count(Verb::kUnknown, false);
        reply_error(replies::line_too_long());
        return true;
    }
    if (piece.end == LineEnd::kBareLf && reject_bare_lf_) {
        log::info("disconnect: bare <LF> received from %s after %s", namaddr().c_str(), last_cmd_.c_str());
        send_raw(make_reply(521, "5.5.2", cfg_.myhostname + " Error: bare <LF> received").format());
        close_after_reply();
        return true;
    }
    std::string line(piece.text);
    input_.erase(0, piece.consumed);
    bool more = !input_.empty() || evbuffer_get_length(bufferevent_get_input(bev_)) > 0;
    handle_command(line, more);
    return true;
}

void Session::reply(const Reply& r) { send_raw(r.format()); }

void Session::reply_error(const Reply& r) {
    // As Postfix: the count goes up after the reply, so the delay of
    // smtpd_error_sleep_time starts with the reply after the soft limit.
    reply(r);
    ++error_count_;
}

void Session::send_raw(const std::string& text) {
    if (!bev_ || finished_) return;
    if (sleeping_) {
        delayed_ += text;
        return;
    }
    // Postfix slows down a client that keeps making errors.
    if (error_count_ >= cfg_.smtpd_soft_error_limit && cfg_.smtpd_error_sleep_time_ms > 0 &&
        state_ != State::kClosing) {
        sleeping_ = true;
        delayed_ = text;
        sleep_timer_.start(std::chrono::milliseconds(cfg_.smtpd_error_sleep_time_ms));
        return;
    }
    bufferevent_write(bev_, text.data(), text.size());
}

void Session::close_after_reply() {
    state_ = State::kClosing;
    if (!bev_) return;
    bufferevent_disable(bev_, EV_READ);
    if (!sleeping_ && evbuffer_get_length(bufferevent_get_output(bev_)) == 0) finish_session();
}

void Session::finish_session() {
    if (finished_) return;
    finished_ = true;
    abort_message();
    sasl_end();
    std::string line = "disconnect from " + namaddr();
    unsigned ok_all = 0, total_all = 0;
    for (size_t i = 0; i < std::size(kCounterNames); ++i) {
        if (counts_total_[i] == 0) continue;
        ok_all += counts_ok_[i];
        total_all += counts_total_[i];
        line += " " + std::string(kCounterNames[i]) + "=";
        if (counts_ok_[i] == counts_total_[i]) {
            line += std::to_string(counts_total_[i]);
        } else {
            line += std::to_string(counts_ok_[i]) + "/" + std::to_string(counts_total_[i]);
        }
    }
    line += " commands=";
    line += ok_all == total_all ? std::to_string(total_all) : std::to_string(ok_all) + "/" + std::to_string(total_all);
    log::info("%s", line.c_str());
    if (bev_ && s_.tls_active) {
        // close_notify, as Postfix's tls_server_stop() sends; no waiting
        // for the client's.
        if (SSL* ssl = bufferevent_openssl_get_ssl(bev_)) SSL_shutdown(ssl);
    }
    if (bev_) {
        bufferevent_disable(bev_, EV_READ | EV_WRITE);
        bufferevent_setcb(bev_, nullptr, nullptr, nullptr, nullptr);
    }
    sleep_timer_.cancel();
    sasl_timer_.cancel();
    if (anvil_generation_ != 0) server_.limits()->disconnect(s_.client_addr, anvil_generation_);
    anvil_generation_ = 0;
    server_.session_done(this);
}

void Session::count(Verb verb, bool ok) {
    int i = counter_index(verb);
    ++counts_total_[i];
    if (ok) ++counts_ok_[i];
}

void Session::run_check(CheckResult (Checker::*method)(SessionState&), std::function<void(CheckResult)> then) {
    auto st = std::make_shared<SessionState>(s_);
    std::weak_ptr<int> alive = alive_;
    busy_ = true;
    server_.run_check([st, method](Checker& checker) { return (checker.*method)(*st); },
                      [this, st, alive, then = std::move(then)](CheckResult r) {
                          if (alive.expired() || finished_) return;
                          s_ = *st;
                          busy_ = false;
                          then(std::move(r));
                          if (!busy_ && !finished_) check_error_limit();
                          pump();
                      });
}

// ---------------------------------------------------------------------------
// Commands

void Session::handle_command(std::string_view line, bool more_input) {
    ParseResult parsed = parse_command(line, cfg_.parse);
    Verb verb = parsed.ok() ? parsed.command().verb : Verb::kUnknown;
    if (!parsed.ok()) {
        // The verb may still be known ("MAIL FROM:<bad"): count it as such.
        std::string_view word = line.substr(0, line.find(' '));
        for (Verb v : {Verb::kHelo, Verb::kEhlo, Verb::kMail, Verb::kRcpt, Verb::kData, Verb::kBdat, Verb::kRset,
                       Verb::kNoop, Verb::kQuit, Verb::kVrfy, Verb::kEtrn, Verb::kStartTls, Verb::kAuth}) {
            if (util::iequals(word, verb_name(v))) verb = v;
        }
    }
    last_cmd_ = verb == Verb::kUnknown ? "UNKNOWN" : std::string(verb_name(verb));

    // RFC 2920: a command that must end a group, with more input behind it,
    // or any pipelining by a client that was not offered PIPELINING.
    if (more_input && verb != Verb::kQuit && verb != Verb::kBdat &&
        (must_end_group(verb) || !ehlo_) && !s_.improper_pipelining) {
        s_.improper_pipelining = true;
        std::string next = input_.substr(0, std::min<size_t>(input_.size(), 100));
        if (auto eol = next.find_first_of("\r\n"); eol != std::string::npos) next.resize(eol);
        log::info("improper command pipelining after %s from %s: %s", last_cmd_.c_str(), namaddr().c_str(),
                  log::log_printable(next).c_str());
        if (cfg_.smtpd_forbid_unauth_pipelining) {
            count(verb, false);
            send_raw(replies::protocol_sync().format());
            close_after_reply();
            return;
        }
    }

    // smtpd_tls_security_level = encrypt: only these before STARTTLS.
    if (cfg_.tls.required() && !s_.tls_active && verb != Verb::kUnknown && verb != Verb::kHelp &&
        verb != Verb::kEhlo && verb != Verb::kHelo && verb != Verb::kStartTls && verb != Verb::kNoop &&
        verb != Verb::kRset && verb != Verb::kQuit) {
        count(verb, false);
        reply_error(replies::encryption_required());
    } else if (!parsed.ok()) {
        count(verb, false);
        reply_error(make_reply(parsed.error().code, parsed.error().dsn, parsed.error().text));
    } else {
        const Command& cmd = parsed.command();
        switch (cmd.verb) {
            case Verb::kHelo: cmd_helo(cmd, false); break;
            case Verb::kEhlo: cmd_helo(cmd, true); break;
            case Verb::kMail: cmd_mail(cmd); break;
            case Verb::kRcpt: cmd_rcpt(cmd); break;
            case Verb::kData: cmd_data(); break;
            case Verb::kBdat: cmd_bdat(cmd); break;
            case Verb::kRset: cmd_rset(); break;
            case Verb::kNoop:
                junk();
                count(verb, true);
                reply(replies::ok());
                break;
            case Verb::kQuit:
                count(verb, true);
                reply(replies::bye());
                close_after_reply();
                return;
            case Verb::kVrfy: cmd_vrfy(cmd); break;
            case Verb::kEtrn: cmd_etrn(cmd); break;
            case Verb::kStartTls: cmd_starttls(); break;
            case Verb::kAuth: cmd_auth(cmd); break;
            case Verb::kHelp:
            case Verb::kUnknown:
                count(Verb::kUnknown, false);
                reply_error(replies::not_recognized());
                break;
        }
    }
    if (!busy_) check_error_limit();
}

void Session::check_error_limit() {
    if (state_ != State::kCommand || error_count_ < cfg_.smtpd_hard_error_limit) return;
    log::info("too many errors after %s from %s", last_cmd_.c_str(), namaddr().c_str());
    abort_message();
    send_raw(replies::too_many_errors(cfg_.myhostname).format());
    close_after_reply();
}

void Session::junk() {
    if (junk_count_++ > cfg_.smtpd_junk_command_limit) ++error_count_;
}

void Session::cmd_helo(const Command& cmd, bool ehlo) {
    Verb verb = ehlo ? Verb::kEhlo : Verb::kHelo;
    if (cmd.argument.empty()) {
        count(verb, false);
        reply_error(make_reply(501, "", ehlo ? "Syntax: EHLO hostname" : "Syntax: HELO hostname"));
        return;
    }
    if (client_reject_) {
        count(verb, false);
        reply_error(*client_reject_);
        return;
    }
    reset_transaction();
    s_.helo_name = cmd.argument;
    s_.protocol = ehlo ? "ESMTP" : "SMTP";
    ehlo_ = false;
    if (ehlo) {
        for (const auto& k : ehlo_keywords(cfg_.ehlo)) {
            if (util::iequals(k, "PIPELINING")) ehlo_ = true;
        }
    }
    std::string arg = cmd.argument;
    run_check(&Checker::check_helo, [this, verb, ehlo](CheckResult r) {
        if (r.rejected()) {
            s_.helo_name.reset();
            count(verb, false);
            reply_error(r.reply);
            return;
        }
        count(verb, true);
        if (!ehlo) {
            reply(replies::helo(cfg_.myhostname));
            return;
        }
        EhloOptions options = cfg_.ehlo;
        options.starttls = offer_starttls();
        if (offer_auth() && !server_.sasl_exception(peer_)) {
            options.auth_mechanisms = server_.sasl()->cyrus().mechanisms(s_.tls_active);
            options.broken_sasl_auth_clients = cfg_.sasl.broken_clients;
        }
        reply(replies::ehlo(options));
    });
}

void Session::cmd_mail(const Command& cmd) {
    auto fail = [&](const Reply& r) {
        count(Verb::kMail, false);
        reply_error(r);
    };
    if (cfg_.smtpd_helo_required && !s_.helo_name) return fail(replies::need_helo());
    if (bdat_used_) return fail(replies::mail_after_bdat());
    if (in_transaction()) return fail(replies::nested_mail());
    if (wait_for_rate(Verb::kMail, cmd)) return;
    if (client_reject_) return fail(*client_reject_);
    if (cmd.mail.size && cfg_.message_size_limit > 0 && *cmd.mail.size > cfg_.message_size_limit)
        return fail(replies::size_exceeded());
    if (cmd.mail.auth) {
        // RFC 4954 5: the AUTH= parameter, logged as sasl_sender.
        if (server_.sasl() == nullptr) return fail(replies::auth_param_disabled());
        sasl_sender_ = *cmd.mail.auth == "<>" ? "" : *cmd.mail.auth;
    }
    if (cmd.mail.smtputf8) s_.smtputf8 = true;
    s_.sender = cmd.address;
    auto params = cmd.mail;
    run_check(&Checker::check_mail, [this, params](CheckResult r) {
        if (r.rejected()) {
            s_.reset_transaction();
            count(Verb::kMail, false);
            reply_error(r.reply);
            return;
        }
        mail_params_ = params;
        count(Verb::kMail, true);
        reply(replies::mail_ok());
    });
}

// smtpd_client_message_rate_limit, smtpd_client_recipient_rate_limit:
// anvil counts the MAIL or RCPT first; the command then runs again, or the
// client gets the refusal. True while anvil is being asked.
bool Session::wait_for_rate(Verb verb, const Command& cmd) {
    if (std::exchange(rate_ok_, false)) return false;
    ClientLimits* limits = server_.limits();
    if (!limited_) return false;
    int limit = verb == Verb::kMail ? limits->config().message_rate_limit : limits->config().recipient_rate_limit;
    if (limit <= 0) return false;
    busy_ = true;
    std::weak_ptr<int> alive = alive_;
    auto then = [this, alive, verb, cmd](std::optional<Reply> refusal) {
        if (alive.expired() || finished_) return;
        busy_ = false;
        if (refusal) {
            count(verb, false);
            reply_error(*refusal);
        } else {
            rate_ok_ = true;
            if (verb == Verb::kMail) cmd_mail(cmd);
            else cmd_rcpt(cmd);
        }
        if (!busy_ && !finished_) check_error_limit();
        pump();
    };
    if (verb == Verb::kMail) limits->message(s_.client_name, s_.client_addr, std::move(then));
    else limits->recipient(s_.client_name, s_.client_addr, std::move(then));
    return true;
}

void Session::cmd_rcpt(const Command& cmd) {
    auto fail = [&](const Reply& r) {
        count(Verb::kRcpt, false);
        reply_error(r);
    };
    if (!in_transaction()) return fail(replies::need_mail());
    if (wait_for_rate(Verb::kRcpt, cmd)) return;
    if (bdat_used_) return fail(replies::rcpt_after_bdat());
    if (client_reject_) return fail(*client_reject_);
    ++rcpt_attempts_;
    if (recipients_.size() >= cfg_.smtpd_recipient_limit) return fail(replies::too_many_recipients());
    s_.recipient = cmd.address;
    auto params = cmd.rcpt;
    std::string address = cmd.address;
    run_check(&Checker::check_rcpt, [this, params, address](CheckResult r) {
        s_.recipient.reset();
        if (r.rejected()) {
            count(Verb::kRcpt, false);
            reply_error(r.reply);
            return;
        }
        if (sink_) {
            accept_recipient(params, address);
            return;
        }
        // The first recipient: connect to cleanup off the loop (master may
        // have to start a cleanup process first).
        busy_ = true;
        std::weak_ptr<int> alive = alive_;
        auto opener = server_.hooks().open_sink;
        server_.run_io<Result<std::unique_ptr<MessageSink>>>(
            [opener] { return opener(); },
            [this, alive, params, address](Result<std::unique_ptr<MessageSink>> sink) {
                if (alive.expired() || finished_) return;
                busy_ = false;
                if (!sink) {
                    log::warn("%s: cannot hand the message to cleanup: %s", namaddr().c_str(),
                              sink.error().message.c_str());
                    count(Verb::kRcpt, false);
                    reply_error(replies::queue_write_error());
                } else {
                    sink_ = std::shared_ptr<MessageSink>(std::move(*sink));
                    start_sink(&sink_status_);
                    accept_recipient(params, address);
                }
                check_error_limit();
                pump();
            });
    });
}

void Session::accept_recipient(const RcptParams& params, const std::string& address) {
    if (sink_status_ && !params.orcpt_type.empty())
        sink_status_ = sink_->send(RecordType::kDsnOrcpt, params.orcpt_type + ";" + params.orcpt_address);
    if (sink_status_ && params.notify != kNotifyNone)
        sink_status_ = sink_->send(RecordType::kDsnNotify, dsn_notify_text(params.notify));
    if (sink_status_)
        sink_status_ = sink_->send(RecordType::kRecipient, std::string(1, queue::kRcptPending) + address);
    recipients_.push_back(address);
    s_.rcpt_count = static_cast<unsigned>(recipients_.size());
    count(Verb::kRcpt, true);
    reply(replies::rcpt_ok());
}

void Session::start_sink(Status* out) {
    Status& sink_status_ = *out;
    s_.queue_id = sink_->queue_id();
    std::string sasl;
    if (!s_.sasl_username.empty())
        sasl = ", sasl_method=" + s_.sasl_method + ", sasl_username=" + log::log_printable(s_.sasl_username);
    if (!sasl_sender_.empty()) sasl += ", sasl_sender=" + log::log_printable(sasl_sender_);
    log::info("%s: client=%s%s", s_.queue_id.c_str(), namaddr().c_str(), sasl.c_str());
    auto now = std::chrono::system_clock::now().time_since_epoch();
    auto us = std::chrono::duration_cast<std::chrono::microseconds>(now).count();
    arrival_ = static_cast<std::time_t>(us / 1000000);
    char t[64];
    std::snprintf(t, sizeof(t), "%lld.%06lld", static_cast<long long>(us / 1000000),
                  static_cast<long long>(us % 1000000));
    sink_status_ = sink_->send(RecordType::kArrivalTime, t);
    auto attr = [&](std::string_view name, const std::string& value) {
        if (sink_status_ && !value.empty()) {
            std::string a = std::string(name) + "=" + value;
            if (a.size() > queue::kMaxAttributeLength) a.resize(queue::kMaxAttributeLength);
            sink_status_ = sink_->send(RecordType::kAttribute, a);
        }
    };
    attr(queue::kAttrClientName, s_.client_name);
    attr(queue::kAttrClientAddress, s_.client_addr);
    attr(queue::kAttrHeloName, s_.helo_name.value_or(""));
    attr(queue::kAttrProtocolName, s_.protocol);
    attr(queue::kAttrSaslUsername, s_.sasl_username);
    attr(queue::kAttrFilter, cfg_.content_filter);  // an access FILTER or a header FILTER overrides it
    if (sink_status_) sink_status_ = sink_->send(RecordType::kSender, s_.sender.value_or(""));
    if (sink_status_ && mail_params_.ret != DsnRet::kDefault)
        sink_status_ = sink_->send(RecordType::kDsnRet, mail_params_.ret == DsnRet::kFull ? "FULL" : "HDRS");
    if (sink_status_ && !mail_params_.envid.empty() && mail_params_.envid.size() <= queue::kMaxEnvidLength)
        sink_status_ = sink_->send(RecordType::kDsnEnvid, mail_params_.envid);
}

void Session::abort_message() {
    // Closing the cleanup connection without the end marker makes cleanup
    // remove its file.
    sink_.reset();
}

void Session::reset_transaction() {
    abort_message();
    s_.reset_transaction();
    sasl_sender_.clear();
    recipients_.clear();
    rcpt_attempts_ = 0;
    mail_params_ = MailParams{};
    message_size_ = 0;
    too_big_ = false;
    sink_status_ = ok_status();
    sent_effects_ = CheckEffects{};
    bdat_used_ = false;
    bdat_error_.reset();
    bdat_total_ = 0;
    bdat_line_start_ = true;
    bdat_partial_.clear();
    decoder_ = DataDecoder(reject_bare_lf_);
}

Status Session::start_content() {
    if (!sink_status_) return sink_status_;
    if (auto st = send_effects(); !st) return st;
    if (auto st = sink_->send(RecordType::kContentStart, ""); !st) return st;
    for (const auto& header : s_.effects.prepend) {
        if (auto st = sink_->send(RecordType::kNormal, header); !st) return st;
    }
    ReceivedInfo info;
    info.helo_name = s_.helo_name.value_or("");
    info.client_name = s_.client_name;
    info.client_addr = s_.client_addr;
    info.myhostname = cfg_.myhostname;
    info.mail_name = cfg_.mail_name;
    info.protocol = s_.protocol;
    info.queue_id = s_.queue_id;
    info.recipients = recipients_;
    info.when = arrival_;
    info.tls = s_.tls_active;
    if (s_.tls_active && cfg_.tls.received_header) info.tls_clause = tls::received_clause(tls_info_);
    info.authenticated = !s_.sasl_username.empty();
    if (cfg_.sasl.authenticated_header) info.authenticated_sender = s_.sasl_username;
    for (const auto& line : format_received(info)) {
        if (auto st = sink_->send(RecordType::kNormal, line); !st) return st;
    }
    return ok_status();
}

// Tells cleanup the access-map actions it has not been told yet: FILTER,
// REDIRECT and HOLD as attributes (the last one wins), BCC as recipients.
Status Session::send_effects() {
    const CheckEffects& e = s_.effects;
    auto attr = [&](std::string_view name, const std::string& value) {
        std::string a = log::log_printable(std::string(name) + "=" + value);
        if (a.size() > queue::kMaxAttributeLength) a.resize(queue::kMaxAttributeLength);
        return sink_->send(RecordType::kAttribute, a);
    };
    Status st = ok_status();
    if (st && !e.filter.empty() && e.filter != sent_effects_.filter) st = attr(queue::kAttrFilter, e.filter);
    if (st && !e.redirect.empty() && e.redirect != sent_effects_.redirect) st = attr(queue::kAttrRedirect, e.redirect);
    if (st && e.hold && !sent_effects_.hold) st = attr(queue::kAttrHold, e.hold_reason);
    for (std::size_t i = sent_effects_.bcc.size(); st && i < e.bcc.size(); ++i)
        st = sink_->send(RecordType::kRecipient, std::string(1, queue::kRcptPending) + e.bcc[i]);
    sent_effects_ = e;
    return st;
}

Status Session::send_content_line(std::string_view text, bool continued) {
    message_size_ += text.size() + (continued ? 0 : 1);
    if (cfg_.message_size_limit > 0 && message_size_ > cfg_.message_size_limit) too_big_ = true;
    if (too_big_ || !sink_status_) return sink_status_;
    sink_status_ = sink_->send(continued ? RecordType::kContinued : RecordType::kNormal, text);
    return sink_status_;
}

void Session::cmd_data() {
    auto fail = [&](const Reply& r) {
        count(Verb::kData, false);
        reply_error(r);
    };
    if (!in_transaction()) return fail(replies::need_mail());
    if (bdat_used_) return fail(replies::data_after_bdat());
    if (recipients_.empty()) return fail(rcpt_attempts_ > 0 ? replies::no_valid_recipients() : replies::need_rcpt());
    run_check(&Checker::check_data, [this](CheckResult r) {
        if (r.rejected()) {
            count(Verb::kData, false);
            reply_error(r.reply);
            return;
        }
        if (auto st = start_content(); !st) {
            log::warn("%s: cleanup: %s", s_.queue_id.c_str(), st.error().message.c_str());
            sink_status_ = st;
        }
        decoder_ = DataDecoder(reject_bare_lf_);
        message_size_ = 0;
        state_ = State::kData;
        reply(replies::data_go_ahead());
    });
}

void Session::handle_data_piece(const LinePiece& piece) {
    DataDecoder::Output out = decoder_.feed(piece);
    switch (out.kind) {
        case DataDecoder::Kind::kBareLf:
            log::info("disconnect: bare <LF> received from %s after DATA", namaddr().c_str());
            count(Verb::kData, false);
            abort_message();
            send_raw(make_reply(521, "5.5.2", cfg_.myhostname + " Error: bare <LF> received").format());
            close_after_reply();
            return;
        case DataDecoder::Kind::kContent:
            (void)send_content_line(out.text, out.continued);
            return;
        case DataDecoder::Kind::kEnd:
            state_ = State::kCommand;
            last_cmd_ = "END-OF-MESSAGE";
            end_of_message();
            return;
    }
}

void Session::end_of_message() {
    Verb verb = bdat_used_ ? Verb::kBdat : Verb::kData;
    auto done = [this, verb](const Reply& r, bool ok) {
        count(verb, ok);
        if (ok) {
            error_count_ = 0;
            junk_count_ = 0;
            reply(r);
        } else {
            reply_error(r);
        }
        reset_transaction();
    };
    if (too_big_) {
        abort_message();
        return done(replies::size_exceeded(), false);
    }
    if (!sink_status_) {
        log::warn("%s: cleanup: %s", s_.queue_id.c_str(), sink_status_.error().message.c_str());
        return done(replies::queue_write_error(), false);
    }
    run_check(&Checker::check_end_of_data, [this, done](CheckResult r) {
        if (r.rejected()) return done(r.reply, false);
        std::string id = s_.queue_id;
        if (s_.effects.discard) {
            // DISCARD: claim success, keep nothing.
            abort_message();
            return done(replies::queued(id), true);
        }
        finish_message(done);
    });
}

// Ends the record stream and waits, off the loop, for cleanup to write,
// fsync and rename the queue file.
void Session::finish_message(std::function<void(const Reply&, bool)> done) {
    std::string id = s_.queue_id;
    Status st = sink_->send(RecordType::kExtractedStart, "");
    if (st) st = send_effects();  // actions of the end-of-data restrictions
    if (st) st = sink_->send(RecordType::kEnd, "");
    if (!st) {
        log::warn("%s: cleanup: %s", id.c_str(), st.error().message.c_str());
        return done(replies::queue_write_error(), false);
    }
    std::shared_ptr<MessageSink> sink = std::move(sink_);
    sink_.reset();
    busy_ = true;
    std::weak_ptr<int> alive = alive_;
    server_.run_io<Result<submit::CleanupResult>>(
        [sink] { return sink->finish(); },
        [this, alive, id, done](Result<submit::CleanupResult> result) {
            if (alive.expired() || finished_) return;
            busy_ = false;
            if (!result) {
                log::warn("%s: cleanup: %s", id.c_str(), result.error().message.c_str());
                done(replies::queue_write_error(), false);
            } else {
                switch (result->status) {
                    case submit::CleanupStatus::kOk: done(replies::queued(id), true); break;
                    case submit::CleanupStatus::kSize: done(replies::size_exceeded(), false); break;
                    case submit::CleanupStatus::kRcpt: done(replies::no_valid_recipients(), false); break;
                    case submit::CleanupStatus::kContent:
                        // header/body checks REJECT: the rule's text, as Postfix replies.
                        done(make_reply(550, result->dsn.empty() ? "5.7.1" : result->dsn,
                                        result->reason.empty() ? "message content rejected" : result->reason),
                             false);
                        break;
                    case submit::CleanupStatus::kDefer:
                        // The reason names internal tables: log it, never show it to the client.
                        log::warn("%s: cleanup: temporary failure: %s", id.c_str(), result->reason.c_str());
                        done(make_reply(451, "4.3.0", "Error: temporary failure"), false);
                        break;
                    default: done(replies::queue_write_error(), false); break;
                }
            }
            check_error_limit();
            pump();
        });
}

void Session::cmd_bdat(const Command& cmd) {
    bdat_remaining_ = cmd.bdat_size;
    bdat_chunk_size_ = cmd.bdat_size;
    bdat_last_ = cmd.bdat_last;
    bdat_discard_ = false;
    Reply failure;
    bool failed = false;
    if (!in_transaction()) {
        failure = replies::need_mail();
        failed = true;
    } else if (recipients_.empty()) {
        failure = rcpt_attempts_ > 0 ? replies::no_valid_recipients() : replies::need_rcpt();
        failed = true;
    } else if (bdat_error_) {
        failure = *bdat_error_;
        failed = true;
    } else if (cmd.bdat_size == 0 && !cmd.bdat_last) {
        failure = make_reply(551, "5.7.1", "Null BDAT request");
        failed = true;
    } else if (cfg_.message_size_limit > 0 && bdat_total_ + cmd.bdat_size > cfg_.message_size_limit) {
        // The rest of this message is read and refused, chunk by chunk.
        abort_message();
        bdat_used_ = true;
        bdat_error_ = replies::chunk_too_big();
        failure = *bdat_error_;
        failed = true;
    }
    if (!failed) bdat_total_ += cmd.bdat_size;
    if (failed) {
        // The chunk is read and thrown away; the error goes out after it.
        bdat_discard_ = true;
        count(Verb::kBdat, false);
        pending_bdat_error_ = failure;
    } else if (!bdat_used_) {
        bdat_used_ = true;
        if (auto st = start_content(); !st) sink_status_ = st;
    }
    state_ = State::kBdat;
    if (bdat_remaining_ == 0) handle_bdat_bytes();
}

void Session::handle_bdat_bytes() {
    size_t n = static_cast<size_t>(std::min<uint64_t>(bdat_remaining_, input_.size()));
    if (!bdat_discard_) {
        // Content lines: split at LF, dropping the CR before it; no dot rules.
        std::string_view chunk(input_.data(), n);
        size_t limit = cfg_.parse.line_length_limit;
        while (!chunk.empty()) {
            size_t lf = chunk.find('\n');
            std::string_view part = lf == std::string_view::npos ? chunk : chunk.substr(0, lf);
            bdat_partial_.append(part);
            if (lf == std::string_view::npos) {
                chunk = {};
            } else {
                chunk.remove_prefix(lf + 1);
                if (!bdat_partial_.empty() && bdat_partial_.back() == '\r') bdat_partial_.pop_back();
                (void)send_content_line(bdat_partial_, false);
                bdat_partial_.clear();
            }
            while (bdat_partial_.size() > limit) {
                size_t cut = limit;
                if (bdat_partial_[cut - 1] == '\r') --cut;
                (void)send_content_line(std::string_view(bdat_partial_).substr(0, cut), true);
                bdat_partial_.erase(0, cut);
            }
        }
    }
    input_.erase(0, n);
    bdat_remaining_ -= n;
    if (bdat_remaining_ > 0) return;
    state_ = State::kCommand;
    if (bdat_discard_) {
        bdat_discard_ = false;
        if (bdat_used_ && bdat_last_) reset_transaction();
        reply_error(pending_bdat_error_);
        return;
    }
    if (too_big_ && !bdat_last_) {
        // Postfix answers at once and ignores the rest of the message.
        count(Verb::kBdat, false);
        abort_message();
        bdat_error_ = replies::size_exceeded();
        reply_error(*bdat_error_);
        return;
    }
    if (!bdat_last_) {
        count(Verb::kBdat, true);
        reply(replies::bdat_ok(bdat_chunk_size_));
        return;
    }
    if (!bdat_partial_.empty()) {
        (void)send_content_line(bdat_partial_, false);
        bdat_partial_.clear();
    }
    last_cmd_ = "END-OF-MESSAGE";
    end_of_message();
}

void Session::cmd_rset() {
    junk();
    reset_transaction();
    count(Verb::kRset, true);
    reply(replies::ok());
}

void Session::cmd_vrfy(const Command& cmd) {
    junk();
    if (cfg_.disable_vrfy_command) {
        count(Verb::kVrfy, false);
        reply_error(replies::vrfy_disabled());
        return;
    }
    // As Postfix: the address must be a known recipient of its class
    // (the recipient tables may block, so this runs like a check).
    std::string shown = cmd.argument;
    s_.recipient = cmd.address;
    run_check(&Checker::check_vrfy, [this, shown](CheckResult r) {
        s_.recipient.reset();
        if (r.rejected()) {
            count(Verb::kVrfy, false);
            reply_error(r.reply);
        } else {
            count(Verb::kVrfy, true);
            reply(replies::vrfy_ok(shown));
        }
    });
}

void Session::cmd_starttls() {
    if (s_.tls_active) {
        count(Verb::kStartTls, false);
        reply_error(replies::tls_already_active());
        return;
    }
    if (!cfg_.tls.enabled() || cfg_.tls.wrappermode) {
        count(Verb::kStartTls, false);
        reply_error(replies::not_implemented());
        return;
    }
    if (!server_.tls_context()) {
        count(Verb::kStartTls, false);
        reply_error(replies::tls_unavailable());
        return;
    }
    count(Verb::kStartTls, true);
    // Straight to the socket (never held back by smtpd_error_sleep_time):
    // the 220 must leave in plaintext before the handshake starts.
    std::string text = replies::starttls_ready().format();
    bufferevent_write(bev_, text.data(), text.size());
    bufferevent_disable(bev_, EV_READ);
    starttls_pending_ = true;
    busy_ = true;
}

bool Session::offer_auth() const {
    return server_.sasl() != nullptr && (!cfg_.tls.auth_only || s_.tls_active);
}

void Session::cmd_auth(const Command& cmd) {
    auto fail = [&](const Reply& r) {
        count(Verb::kAuth, false);
        reply_error(r);
    };
    // Postfix's order of checks. With smtpd_tls_auth_only SASL is enabled
    // but AUTH is neither offered nor accepted before TLS (RFC 4954 4).
    if (cfg_.smtpd_helo_required && !s_.helo_name) return fail(replies::need_helo());
    if (server_.sasl() == nullptr || ehlo_discards(cfg_.ehlo, "AUTH")) return fail(replies::auth_not_enabled());
    if (in_transaction()) return fail(replies::auth_in_transaction());
    if (cfg_.tls.auth_only && !s_.tls_active) return fail(replies::auth_needs_encryption());
    if (!s_.sasl_username.empty()) return fail(replies::auth_already());
    std::optional<std::string> initial;
    if (cmd.auth_initial) {
        if (*cmd.auth_initial == "=") {
            initial = std::string();
        } else {
            initial = util::base64_decode(*cmd.auth_initial);
            if (!initial) return fail(make_reply(501, "5.5.2", "Invalid base64 data in initial response"));
        }
    }
    sasl_mech_ = cmd.auth_mechanism;
    SaslServer::Peer peer;
    peer.remote = s_.client_addr;
    peer.tls = s_.tls_active;
    busy_ = true;
    std::weak_ptr<int> alive = alive_;
    SmtpdServer* server = &server_;
    auto id = std::make_shared<uint64_t>(0);
    *id = server_.sasl()->start(peer, sasl_mech_, std::move(initial), [this, alive, server, id](SaslStep step) {
        if (alive.expired() || finished_ || sasl_id_ != *id) {
            server->sasl()->end(*id);  // the session is gone or gave up waiting
            return;
        }
        sasl_result(std::move(step));
    });
    sasl_id_ = *id;
    sasl_wait();
}

void Session::sasl_wait() {
    if (sasl_timer_.empty()) {
        sasl_timer_ = event::Timer(server_.loop(), [this] {
            if (finished_ || sasl_id_ == 0 || !busy_) return;
            // The step's late answer finds another (or no) exchange and ends it.
            log::warn("%s: SASL %s authentication timed out", namaddr().c_str(),
                      log::log_printable(sasl_mech_).c_str());
            sasl_id_ = 0;
            busy_ = false;
            state_ = State::kCommand;
            count(Verb::kAuth, false);
            reply_error(replies::auth_temp_failure("authentication server did not answer"));
            check_error_limit();
            pump();
        });
    }
    sasl_timer_.start(std::chrono::duration_cast<std::chrono::milliseconds>(kSaslStepTimeout));
}

void Session::sasl_result(SaslStep step) {
    busy_ = false;
    sasl_timer_.cancel();
    switch (step.kind) {
        case SaslStep::Kind::kContinue:
            state_ = State::kAuth;
            reply(replies::auth_challenge(util::base64_encode(step.challenge)));
            break;
        case SaslStep::Kind::kOk:
            sasl_end();
            state_ = State::kCommand;
            s_.sasl_username = step.username;
            s_.sasl_method = sasl_mech_;
            count(Verb::kAuth, true);
            reply(replies::auth_ok());
            break;
        case SaslStep::Kind::kFail:
        case SaslStep::Kind::kTempFail:
            sasl_end();
            state_ = State::kCommand;
            log::warn("%s: SASL %s authentication failed: %s", namaddr().c_str(),
                      log::log_printable(sasl_mech_).c_str(), step.reason.c_str());
            count(Verb::kAuth, false);
            reply_error(step.kind == SaslStep::Kind::kTempFail ? replies::auth_temp_failure(step.reason)
                                                               : replies::auth_failed(step.reason));
            break;
    }
    check_error_limit();
    pump();
}

void Session::sasl_response(std::string_view line, bool too_long) {
    auto fail = [&](const Reply& r) {
        sasl_end();
        state_ = State::kCommand;
        count(Verb::kAuth, false);
        reply_error(r);
        check_error_limit();
    };
    if (too_long) return fail(replies::sasl_response_too_long());
    if (line == "*") return fail(replies::auth_aborted());
    auto decoded = util::base64_decode(line);
    if (!decoded) return fail(make_reply(501, "5.5.2", "Invalid base64 data in continued response"));
    busy_ = true;
    std::weak_ptr<int> alive = alive_;
    SmtpdServer* server = &server_;
    uint64_t id = sasl_id_;
    server_.sasl()->step(id, std::move(*decoded), [this, alive, server, id](SaslStep step) {
        if (alive.expired() || finished_ || sasl_id_ != id) {
            server->sasl()->end(id);
            return;
        }
        sasl_result(std::move(step));
    });
    sasl_wait();
}

void Session::sasl_end() {
    if (sasl_id_ == 0) return;
    server_.sasl()->end(sasl_id_);
    sasl_id_ = 0;
}

void Session::cmd_etrn(const Command& cmd) {
    junk();
    auto fail = [&](const Reply& r) {
        count(Verb::kEtrn, false);
        reply_error(r);
    };
    if (!s_.helo_name) return fail(replies::need_helo());
    if (in_transaction()) return fail(replies::auth_in_transaction());
    if (client_reject_) return fail(*client_reject_);
    std::string domain = cmd.argument;
    if (!domain.empty() && !std::isalnum(static_cast<unsigned char>(domain.front()))) domain.erase(0, 1);
    s_.etrn_domain = domain;
    run_check(&Checker::check_etrn, [this, domain](CheckResult r) {
        s_.etrn_domain.reset();
        if (r.rejected()) {
            count(Verb::kEtrn, false);
            reply_error(r.reply);
            return;
        }
        // The deferred mail of the site (lib/submit/flush.h), off the loop.
        busy_ = true;
        std::weak_ptr<int> alive = alive_;
        auto flush = server_.hooks().flush_site;
        server_.run_io<submit::FlushStatus>(
            [flush, domain] { return flush(domain); },
            [this, alive, domain](submit::FlushStatus st) {
                if (alive.expired() || finished_) return;
                busy_ = false;
                std::string shown = log::log_printable(domain.substr(0, 100));
                switch (st) {
                    case submit::FlushStatus::kOk:
                        count(Verb::kEtrn, true);
                        reply(replies::etrn_started());
                        break;
                    case submit::FlushStatus::kDeny:
                        log::warn("reject: ETRN %s... from %s", shown.c_str(), namaddr().c_str());
                        count(Verb::kEtrn, false);
                        reply_error(replies::etrn_denied(domain));
                        break;
                    case submit::FlushStatus::kBad:
                        log::warn("bad ETRN %s... from %s", shown.c_str(), namaddr().c_str());
                        count(Verb::kEtrn, false);
                        reply_error(replies::etrn_unavailable());
                        break;
                    case submit::FlushStatus::kFail:
                        log::warn("unable to talk to fast flush service");
                        count(Verb::kEtrn, false);
                        reply_error(replies::etrn_unavailable());
                        break;
                }
                check_error_limit();
                pump();
            });
    });
}

// ---------------------------------------------------------------------------
// Server

Result<std::unique_ptr<SmtpdServer>> SmtpdServer::create(const config::Config& cfg, event::Loop& loop) {
    return create(cfg, loop, Hooks{});
}

Result<std::unique_ptr<SmtpdServer>> SmtpdServer::create(const config::Config& cfg, event::Loop& loop, Hooks hooks) {
    auto server = std::make_unique<SmtpdServer>(Private{}, loop);
    auto c = SmtpdConfig::from_config(cfg);
    if (!c) return c.error();
    server->config_ = std::move(*c);
    if (!hooks.open_sink) hooks.open_sink = cleanup_sink_opener(server->config_.queue_directory,
                                                                  server->config_.ipc_timeout_ms,
                                                                  server->config_.cleanup_flags);
    if (!hooks.flush_site) {
        auto policy = submit::load_flush_policy(cfg);
        if (!policy) return policy.error();
        hooks.flush_site = [p = *policy](const std::string& site) { return submit::flush_site(p, site); };
    }
    if (!hooks.check.classify_domain) {
        server->domains_ = std::make_shared<DomainLists>(DomainLists::from_config(cfg));
        auto domains = server->domains_;
        hooks.check.classify_domain = [domains](std::string_view d) { return domains->classify(d); };
    }
    if (!hooks.check.lookup_user || !hooks.check.lookup_rewritten) {
        server->recipient_tables_ = RecipientTables::open(cfg);
        RecipientTables::install(server->recipient_tables_, hooks.check);
    }
    if (!hooks.tls_loaded) {
        hooks.tls_context = load_tls_context(cfg);
        hooks.tls_loaded = true;
    }
    if (!hooks.sasl_loaded) {
        auto sasl = load_sasl(cfg);
        if (!sasl) return sasl.error();
        hooks.sasl = std::move(*sasl);
        hooks.sasl_loaded = true;
    }
    if (hooks.sasl) {
        auto sasl_server = SaslServer::create(loop.base(), hooks.sasl);
        if (!sasl_server) return sasl_server.error();
        server->sasl_ = std::move(*sasl_server);
        auto ex = Mynetworks::parse(server->config_.sasl.exceptions_networks);
        if (!ex) return ex.error();
        server->sasl_exceptions_ = std::make_unique<Mynetworks>(std::move(*ex));
    }
    auto limits = ClientLimits::create(cfg, loop, hooks.service);
    if (!limits) return limits.error();
    server->limits_ = std::move(*limits);
    server->hooks_ = std::move(hooks);

    auto cc = CheckConfig::from_config(cfg);
    if (!cc) return cc.error();
    cc->no_unknown_recipient_checks = server->config_.no_unknown_recipient_checks;
    auto dns_opts = dns_options(cfg);
    if (!dns_opts) return dns_opts.error();
    bool own_dns = server->hooks_.check.dns == nullptr;
    if (own_dns) {
        server->check_dns_ = std::make_unique<LibDnsResolver>(*dns_opts);
        server->hooks_.check.dns = server->check_dns_.get();
    }
    if (server->config_.smtpd_peername_lookup) {
        // Peer names are asked on the loop; a lookup waits at most about
        // 2 x 1.5 s per question before the client is "unknown".
        dns::Options peer_opts = *dns_opts;
        peer_opts.timeout = std::chrono::milliseconds(1500);
        peer_opts.tries = 2;
        auto r = dns::Resolver::create(loop, peer_opts);
        if (!r) return r.error();
        server->resolver_ = std::move(*r);
    }
    // A restriction table that can block (mysql:, proxy:, ...) sends every
    // check to one worker thread, so the Checker is used by one thread.
    bool may_block = server->hooks_.offload_checks ||
                     (server->recipient_tables_ && server->recipient_tables_->may_block()) ||
                     (server->domains_ && server->domains_->may_block());
    auto scan = [&](const std::vector<std::string>& list) {
        for (const auto& item : list) {
            for (const char* type : {"mysql:", "pgsql:", "ldap:", "sqlite:", "memcache:", "tcp:", "socketmap:"}) {
                if (item.find(type) != std::string::npos) may_block = true;
            }
            // Restrictions that ask DNS: blocking lib/dns lookups on the workers.
            for (const char* r : {"reject_unknown_sender_domain", "reject_unknown_recipient_domain",
                                  "reject_unknown_helo_hostname", "reject_unknown_hostname", "_rbl_", "rhsbl",
                                  "dnswl", "rhswl"}) {
                if (own_dns && item.find(r) != std::string::npos) may_block = true;
            }
        }
    };
    for (const auto* list : {&cc->client_restrictions, &cc->helo_restrictions, &cc->sender_restrictions,
                             &cc->relay_restrictions, &cc->recipient_restrictions, &cc->data_restrictions,
                             &cc->end_of_data_restrictions, &cc->etrn_restrictions})
        scan(*list);
    for (const auto& [name, list] : cc->restriction_classes) scan(list);
    scan(cc->sender_login_maps);
    if (may_block) {
        for (size_t i = 0; i < kCheckWorkers; ++i) {
            auto off = event::Offload::create(loop.base(), 1);
            if (!off) return off.error();
            server->workers_.push_back(std::move(*off));
            server->worker_checkers_.push_back(std::make_unique<Checker>(*cc, server->hooks_.check));
        }
    }
    server->checker_ = std::make_unique<Checker>(std::move(*cc), server->hooks_.check);
    if (auto st = server->checker_->validate(); !st) return st.error();

    auto io = event::Offload::create(loop.base(), 2);
    if (!io) return io.error();
    server->io_offload_ = std::move(*io);

    auto nets = Mynetworks::from_config(cfg);
    if (!nets) return nets.error();
    server->mynetworks_ = std::make_unique<Mynetworks>(std::move(*nets));
    auto excl = cfg.get_list("smtpd_forbid_bare_newline_exclusions");
    if (!excl) return excl.error();
    auto ex = Mynetworks::parse(*excl);
    if (!ex) return ex.error();
    server->bare_lf_exclusions_ = std::make_unique<Mynetworks>(std::move(*ex));

    SmtpdServer* raw = server.get();
    server->reaper_ = event::Timer(loop, [raw] { raw->dead_.clear(); });
    return server;
}

SmtpdServer::SmtpdServer(Private, event::Loop& loop) : loop_(loop) {}

Result<std::shared_ptr<CyrusSasl>> SmtpdServer::load_sasl(const config::Config& cfg) {
    auto c = SaslConfig::from_config(cfg);
    if (!c) return c.error();
    if (!c->enabled) return std::shared_ptr<CyrusSasl>();
    auto myhostname = cfg.get("myhostname");
    if (!myhostname) return myhostname.error();
    return CyrusSasl::init(*c, *myhostname);
}

bool SmtpdServer::sasl_exception(const Peer& peer) const {
    if (!sasl_exceptions_) return false;
    auto m = sasl_exceptions_->match(peer.name, peer.addr);
    return m && *m;
}

std::shared_ptr<tls::ServerContext> SmtpdServer::load_tls_context(const config::Config& cfg) {
    auto policy = tls::ServerPolicy::from_config(cfg);
    if (!policy || !policy->enabled()) return nullptr;
    auto ctx = tls::ServerContext::create(*policy);
    if (!ctx) {
        log::warn("%s: disabling TLS support", ctx.error().message.c_str());
        return nullptr;
    }
    return std::move(*ctx);
}

SmtpdServer::~SmtpdServer() {
    limits_.reset();  // pending anvil answers never call back into sessions
    resolver_.reset();  // pending peer lookups never call back into sessions
    sasl_.reset();      // joins the SASL worker; pending exchanges never call back
    workers_.clear();  // joins the threads before their Checkers go
    io_offload_.reset();
    sessions_.clear();
    dead_.clear();
}

bool SmtpdServer::in_mynetworks(const Peer& peer) const {
    auto m = mynetworks_->match(peer.name, peer.addr);
    if (!m) {
        log::warn("mynetworks lookup for %s[%s]: %s", peer.name.c_str(), peer.addr.c_str(),
                  m.error().message.c_str());
        return false;
    }
    return *m;
}

bool SmtpdServer::bare_newline_excluded(const Peer& peer) const {
    auto m = bare_lf_exclusions_->match(peer.name, peer.addr);
    return m && *m;
}

void SmtpdServer::run_check(std::function<CheckResult(Checker&)> fn, std::function<void(CheckResult)> done) {
    if (workers_.empty()) {
        done(fn(*checker_));
        return;
    }
    size_t best = 0;
    for (size_t i = 1; i < workers_.size(); ++i) {
        if (workers_[i]->pending() < workers_[best]->pending()) best = i;
    }
    Checker* checker = worker_checkers_[best].get();
    workers_[best]->submit_value<CheckResult>([fn = std::move(fn), checker] { return fn(*checker); },
                                              std::move(done));
}

template <class T>
void SmtpdServer::run_io(std::function<T()> work, std::function<void(T)> done) {
    io_offload_->submit_value<T>(std::move(work), std::move(done));
}

void SmtpdServer::start_session(server::Connection conn, Peer peer) {
    auto session = std::make_unique<Session>(*this, std::move(conn), std::move(peer));
    Session* raw = session.get();
    sessions_.push_back(std::move(session));
    raw->start();
}

void SmtpdServer::session_done(Session* session) {
    for (auto it = sessions_.begin(); it != sessions_.end(); ++it) {
        if (it->get() == session) {
            dead_.push_back(std::move(*it));
            sessions_.erase(it);
            break;
        }
    }
    reaper_.start(std::chrono::milliseconds(0));
}

}  // namespace mailroom::smtpd
