// smtp_delivery.cc - see smtp_delivery.h.
#include "smtp/smtp_delivery.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>
#include <utility>

#include "lib/deliver/deliver_log.h"
#include "lib/event/channel.h"
#include "lib/log/log.h"
#include "lib/smtp/smtp_client.h"
#include "lib/smtp/smtp_client_text.h"
#include "lib/util/strings.h"

namespace mailroom::smtp_agent {

namespace {

using deliver::DeliveryStatus;
using deliver::RecipientResult;
using smtp::ClientEngine;
using smtp_route::Nexthop;
using smtp_route::Target;

constexpr std::size_t kBodyChunk = 64 * 1024;
constexpr std::size_t kMaxReplyLine = 4096;

DeliveryStatus status_of(smtp::VerdictKind kind) {
    switch (kind) {
        case smtp::VerdictKind::kSent: return DeliveryStatus::kSent;
        case smtp::VerdictKind::kBounced: return DeliveryStatus::kBounced;
        case smtp::VerdictKind::kDeferred: break;
    }
    return DeliveryStatus::kDeferred;
}

// "host[addr]" as Postfix's texts say it ("host[/path]" for UNIX sockets).
std::string namaddr(const Target& t) { return t.hostname + "[" + (t.path.empty() ? t.address : t.path) + "]"; }

// "host[addr]:port": relay= in the log, the TLS log line.
std::string relay_of(const Target& t) {
    if (!t.path.empty()) return namaddr(t);
    return namaddr(t) + ":" + std::to_string(t.port);
}

bool ascii(std::string_view s) {
    for (unsigned char c : s)
        if (c >= 0x80) return false;
    return true;
}

// The body type the queue file records: "8bit" when any encoding
// attribute says so (cleanup's finding overrides a client's BODY=7BIT, as
// Postfix's does), else the client's word, else "".
std::string body_encoding(const queue::QueueEnvelope& envelope) {
    std::string encoding;
    for (const auto& [name, value] : envelope.attributes) {
        if (name != queue::kAttrEncoding) continue;
        if (value == queue::kEncoding8Bit) return value;
        if (encoding.empty()) encoding = value;
    }
    return encoding;
}

// The TLS level for this nexthop: the policy table's first word for the
// nexthop as qmgr named it, then its host part, then its parent domains;
// else the main.cf level.
Result<tls::ClientLevel> tls_level(const AgentContext& ctx, const std::string& nexthop, const Nexthop& parsed) {
    if (ctx.tls_policy.empty()) return ctx.settings.tls_level;
    std::vector<std::string> keys{nexthop};
    if (!parsed.host.empty() && parsed.host != nexthop) keys.push_back(parsed.host);
    for (std::size_t dot = parsed.host.find('.'); parsed.mx_lookup && dot != std::string::npos;
         dot = parsed.host.find('.', dot + 1))
        keys.push_back(parsed.host.substr(dot));
    std::string param = ctx.settings.prefix + "_tls_policy_maps";
    for (const auto& key : keys) {
        auto hit = ctx.tls_policy.lookup(key);
        if (!hit) return make_temp_error(param + ": lookup of " + key + ": " + hit.error().message);
        if (!*hit) continue;
        auto words = util::split(**hit, " \t");
        if (words.empty()) continue;
        return tls::parse_client_level(words[0], param + " entry for " + key);
    }
    return ctx.settings.tls_level;
}

// The content as it goes after DATA: CRLF, a leading dot doubled, lines
// over *_line_length_limit broken with CRLF SPACE.
agent::RenderOptions wire_options(std::size_t line_length_limit) {
    agent::RenderOptions o;
    o.dot_stuff = true;
    o.eol = "\r\n";
    o.line_length_limit = line_length_limit;
    return o;
}

class Delivery : public std::enable_shared_from_this<Delivery> {
public:
    Delivery(event::Loop& loop, const AgentContext& ctx, const deliver::DeliveryRequest& request,
             std::shared_ptr<const agent::MessageCopy> message, agent::EventDone done)
        : loop_(loop), ctx_(ctx), request_(request), message_(std::move(message)), done_(std::move(done)),
          encoder_(wire_options(ctx.settings.line_length_limit)) {}

    void start();

private:
    void route();
    void fail_all(DeliveryStatus status, const std::string& dsn, const std::string& relay, const std::string& why);
    void report();
    void next_target();
    bool usable(const Target& t) const;
    bool more_targets() const;
    void go_on();
    void connected();
    void connect_failed(const std::string& why);
    void begin_session();
    void make_engine();
    void resume(std::unique_ptr<IdleSession> idle);
    void on_input();
    void on_event(event::Channel::Event e, const std::string& why);
    void perform(const smtp::Step& step);
    void arm_timeout();
    void send_body();
    void body_failed(const std::string& why);
    void tls_done(bool ok, const std::string& why);
    std::string nexthop_host() const;
    void session_over();
    void drop_connection();
    void close_channel();
    void maybe_release();

    event::Loop& loop_;
    const AgentContext& ctx_;
    deliver::DeliveryRequest request_;
    std::shared_ptr<const agent::MessageCopy> message_;
    agent::EventDone done_;
    std::shared_ptr<Delivery> self_;  // alive until reported and closed

    std::vector<Nexthop> nexthops_;
    std::string cache_key_;
    std::chrono::steady_clock::time_point session_created_ = std::chrono::steady_clock::now();
    unsigned session_uses_ = 0;
    tls::ClientLevel level_ = tls::ClientLevel::kNone;
    // Recipients (indexes into request_.recipients) that the next server
    // is to carry, and the results of those that are done.
    std::vector<std::size_t> pending_;
    std::vector<std::optional<RecipientResult>> results_;
    bool routed_ = false;  // targets_ came from the router (not yet for a cached session)
    std::vector<Target> targets_;
    std::size_t next_ = 0;
    std::vector<unsigned> sessions_;  // per Target::site: sessions that got past the handshake
    Target target_;
    std::string last_reason_;
    std::string last_dsn_ = "4.4.1";
    std::string last_relay_ = "none";
    DeliveryStatus last_status_ = DeliveryStatus::kDeferred;

    util::UniqueFd connecting_;
    event::FdWatcher connect_watch_;
    event::Timer connect_timer_;
    event::Channel::Ptr channel_;
    std::optional<ClientEngine> engine_;
    smtp::ReplyReader reader_;
    bool reported_ = false;
    bool in_body_ = false;
    bool quitting_ = false;
    bool retry_plain_ = false;  // at may: the handshake failed, the next try is this server without TLS
    bool plaintext_ = false;    // this connection is that try
    bool reused_ = false;       // the session came from the cache
    bool got_reply_ = false;    // the server answered on this connection
    bool counted_ = false;      // this session counts toward *_mx_session_limit
    double session_ready_ = 0;
    // The content, streamed from the queue file at the server's pace.
    agent::MessageCopy::Cursor cursor_;
    agent::LineTransformer encoder_;
    std::string piece_;
    std::string wire_;
};

void Delivery::start() {
    self_ = shared_from_this();
    pending_.resize(request_.recipients.size());
    for (std::size_t i = 0; i < pending_.size(); ++i) pending_[i] = i;
    results_.resize(request_.recipients.size());
    const auto& router = *ctx_.router;
    auto parsed = smtp_route::parse_nexthop_list(request_.nexthop, router.config().lmtp, router.config().default_port);
    if (!parsed || parsed->empty())
        return fail_all(DeliveryStatus::kDeferred, "4.3.5", "none",
                        parsed ? "empty nexthop" : parsed.error().message);
    nexthops_ = std::move(*parsed);
    auto level = tls_level(ctx_, request_.nexthop, nexthops_.front());
    if (!level) {
        log::warn("%s", level.error().message.c_str());
        return fail_all(DeliveryStatus::kDeferred, "4.7.5", "none", level.error().message);
    }
    level_ = *level;
    if (level_ != tls::ClientLevel::kNone && !ctx_.tls) {
        log::warn("TLS is unavailable: %s", ctx_.tls_error.c_str());
        if (level_ != tls::ClientLevel::kMay)
            return fail_all(DeliveryStatus::kDeferred, "4.7.5", "none", "TLS is required, but unavailable");
        level_ = tls::ClientLevel::kNone;
    }
    cache_key_ = std::string(tls::client_level_name(level_)) + "|" + request_.nexthop;
    if (ctx_.settings.sasl.enable && ctx_.settings.sasl.sender_dependent) cache_key_ += "|" + request_.sender;
    if (ctx_.cache) {
        if (auto idle = ctx_.cache->take(cache_key_)) return resume(std::move(idle));
    }
    route();
}

void Delivery::route() {
    routed_ = true;
    ctx_.router->resolve(nexthops_, [self = shared_from_this()](smtp_route::RouteResult route) {
        if (!route.ok) return self->fail_all(route.status, route.dsn, "none", route.reason);
        self->targets_ = std::move(route.targets);
        self->next_ = 0;
        self->next_target();
    });
}

// Every recipient still pending gets this result; then all are reported.
void Delivery::fail_all(DeliveryStatus status, const std::string& dsn, const std::string& relay,
                        const std::string& why) {
    for (std::size_t i : pending_) results_[i] = RecipientResult{status, dsn, relay, why};
    pending_.clear();
    report();
}

void Delivery::report() {
    if (reported_) return;
    reported_ = true;
    std::vector<RecipientResult> results;
    for (auto& r : results_)
        results.push_back(r ? std::move(*r) : RecipientResult{DeliveryStatus::kDeferred, "4.3.0", "none",
                                                              "internal protocol error"});
    auto done = std::move(done_);
    done(std::move(results), session_ready_);
    maybe_release();
}

void Delivery::close_channel() {
    if (channel_) loop_.release_later(std::move(channel_));
    maybe_release();
}

// Freed once the results are reported and the connection is gone.
void Delivery::maybe_release() {
    if (!reported_ || channel_ || connecting_.valid() || !self_) return;
    loop_.defer([self = std::move(self_)]() mutable { self.reset(); });
}

// *_mx_session_limit: a nexthop (or fallback relay) whose servers have
// had that many sessions past the handshake is not tried again.
bool Delivery::usable(const Target& t) const {
    unsigned limit = ctx_.router->config().mx_session_limit;
    return limit == 0 || t.site >= sessions_.size() || sessions_[t.site] < limit;
}

// Whether another server may still take what this one deferred (Postfix:
// this is not the final server).
bool Delivery::more_targets() const {
    if (!routed_) return true;
    for (std::size_t i = next_; i < targets_.size(); ++i)
        if (usable(targets_[i])) return true;
    return false;
}

// The pending recipients go to the next server (after the route lookup
// when the session came from the cache).
void Delivery::go_on() {
    if (routed_) loop_.defer([self = shared_from_this()] { self->next_target(); });
    else loop_.defer([self = shared_from_this()] {
        self->drop_connection();
        self->route();
    });
}

void Delivery::next_target() {
    drop_connection();
    while (next_ < targets_.size() && !usable(targets_[next_])) ++next_;
    if (next_ >= targets_.size()) return fail_all(last_status_, last_dsn_, last_relay_, last_reason_);
    target_ = targets_[next_++];
    reused_ = false;
    plaintext_ = std::exchange(retry_plain_, false);
    int family = !target_.path.empty() ? AF_UNIX : target_.address.find(':') != std::string::npos ? AF_INET6 : AF_INET;
    int fd = ::socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return connect_failed(std::strerror(errno));
    connecting_ = util::UniqueFd(fd);
    sockaddr_storage ss{};
    socklen_t len = 0;
    if (family == AF_UNIX) {
        auto* sun = reinterpret_cast<sockaddr_un*>(&ss);
        sun->sun_family = AF_UNIX;
        if (target_.path.size() >= sizeof(sun->sun_path)) return connect_failed("File name too long");
        std::memcpy(sun->sun_path, target_.path.c_str(), target_.path.size() + 1);
        len = sizeof(sockaddr_un);
    } else if (family == AF_INET6) {
        auto* s6 = reinterpret_cast<sockaddr_in6*>(&ss);
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons(target_.port);
        inet_pton(AF_INET6, target_.address.c_str(), &s6->sin6_addr);
        len = sizeof(sockaddr_in6);
    } else {
        auto* s4 = reinterpret_cast<sockaddr_in*>(&ss);
        s4->sin_family = AF_INET;
        s4->sin_port = htons(target_.port);
        inet_pton(AF_INET, target_.address.c_str(), &s4->sin_addr);
        len = sizeof(sockaddr_in);
    }
    if (::connect(fd, reinterpret_cast<sockaddr*>(&ss), len) == 0) return connected();
    // EAGAIN on a UNIX-domain socket is a full backlog: a failure.
    if (errno != EINPROGRESS) return connect_failed(std::strerror(errno));
    connect_watch_ = event::FdWatcher(loop_, fd, event::Interest::kWrite, [this] {
        int err = 0;
        socklen_t l = sizeof err;
        if (::getsockopt(connecting_.get(), SOL_SOCKET, SO_ERROR, &err, &l) < 0) err = errno;
        if (err != 0) connect_failed(std::strerror(err));
        else connected();
    });
    connect_watch_.enable();
    if (ctx_.settings.timeouts.connect.count() > 0) {
        connect_timer_ = event::Timer(loop_, [this] { connect_failed("Connection timed out"); });
        connect_timer_.start(ctx_.settings.timeouts.connect);
    }
}

void Delivery::drop_connection() {
    connect_timer_ = event::Timer();
    connect_watch_ = event::FdWatcher();
    connecting_.reset();
    if (channel_) loop_.release_later(std::move(channel_));
    engine_.reset();
    reader_ = smtp::ReplyReader();
    in_body_ = false;
    quitting_ = false;
    got_reply_ = false;
    counted_ = false;
}

void Delivery::connect_failed(const std::string& why) {
    last_reason_ = "connect to " + relay_of(target_) + ": " + why;
    last_dsn_ = "4.4.1";
    last_status_ = DeliveryStatus::kDeferred;
    last_relay_ = "none";
    // As Postfix: each failed address is logged before the next is tried
    // (the per-recipient line carries the last reason as well).
    log::info("%s", last_reason_.c_str());
    loop_.defer([self = shared_from_this()] { self->next_target(); });
    connect_timer_ = event::Timer();
    connect_watch_ = event::FdWatcher();
    connecting_.reset();
}

void Delivery::connected() {
    connect_timer_ = event::Timer();
    connect_watch_ = event::FdWatcher();
    channel_ = event::Channel::create(loop_, std::move(connecting_), {.max_line = kMaxReplyLine});
    if (!channel_) return connect_failed("out of memory");
    begin_session();
}

void Delivery::begin_session() {
    session_created_ = std::chrono::steady_clock::now();
    session_uses_ = 0;
    make_engine();
    if (engine_) arm_timeout();
}

void Delivery::resume(std::unique_ptr<IdleSession> idle) {
    target_ = idle->target;
    channel_ = std::move(idle->channel);
    session_created_ = idle->created;
    session_uses_ = idle->uses;
    reused_ = true;
    make_engine();
    if (!engine_) return;
    session_ready_ = deliver::now_seconds();
    perform(engine_->resume(std::move(idle->keywords), idle->tls, idle->authenticated));
}

void Delivery::make_engine() {
    smtp::ClientSettings cs;
    cs.keep_open = ctx_.cache && ctx_.cache->wanted(request_.nexthop,
                                                    (request_.flags & deliver::kRequestFlagConnStore) != 0);
    cs.protocol = ctx_.settings.protocol;
    cs.helo_name = ctx_.settings.helo_name;
    cs.peer = namaddr(target_);
    cs.skip_5xx_greeting = ctx_.settings.skip_5xx_greeting;
    cs.sasl_soft_bounce = ctx_.settings.sasl_soft_bounce;
    cs.tls = level_ == tls::ClientLevel::kNone || plaintext_ ? smtp::TlsWant::kNone
             : level_ == tls::ClientLevel::kMay ? smtp::TlsWant::kMay
                                                : smtp::TlsWant::kRequired;
    smtp::ClientMessage m;
    m.sender = request_.sender;
    m.size = message_->size();
    m.dsn_ret = message_->envelope().dsn_ret;
    m.dsn_envid = message_->envelope().dsn_envid;
    m.encoding = body_encoding(message_->envelope());
    m.smtputf8 = !ascii(request_.sender);
    for (std::size_t i : pending_) {
        const auto& r = request_.recipients[i];
        m.recipients.push_back({r.address, r.dsn_orcpt, r.dsn_notify});
        if (!ascii(r.address)) m.smtputf8 = true;
    }
    if (ctx_.settings.sasl.enable && !ctx_.sasl_passwords.empty()) {
        auto cred = find_credentials(ctx_.sasl_passwords, ctx_.settings.sasl.sender_dependent, request_.sender,
                                     request_.nexthop, target_.hostname);
        if (!cred) {
            std::string why = ctx_.settings.prefix + "_sasl_password_maps: " + cred.error().message;
            log::warn("%s", why.c_str());
            drop_connection();
            return fail_all(DeliveryStatus::kDeferred, "4.3.0", "none", why);
        }
        if (*cred) cs.sasl = make_cyrus_client(ctx_.settings.sasl, target_.hostname, std::move(**cred));
    }
    engine_.emplace(std::move(cs), std::move(m));
    channel_->on_input([this] { on_input(); });
    channel_->on_event([this](event::Channel::Event e, const std::string& why) { on_event(e, why); });
    channel_->on_drained([this] {
        if (in_body_) send_body();
        else if (quitting_) close_channel();
    });
}

void Delivery::arm_timeout() {
    if (!channel_ || !engine_) return;
    const Timeouts& t = ctx_.settings.timeouts;
    std::chrono::milliseconds read{0}, write = t.data_xfer;
    switch (engine_->waiting_for()) {
        case ClientEngine::Wait::kGreeting:
        case ClientEngine::Wait::kHelo: read = t.helo; break;
        case ClientEngine::Wait::kStartTls: read = t.starttls; write = t.starttls; break;
        case ClientEngine::Wait::kMail: read = t.mail; break;
        case ClientEngine::Wait::kRcpt: read = t.rcpt; break;
        case ClientEngine::Wait::kData: read = t.data_init; break;
        case ClientEngine::Wait::kBody: read = t.data_xfer; break;
        case ClientEngine::Wait::kDataDone: read = t.data_done; break;
        case ClientEngine::Wait::kQuit: read = t.quit; write = t.quit; break;
    }
    channel_->set_timeouts(read, write);
}

void Delivery::on_input() {
    event::Channel::Line line;
    while (channel_ && engine_ && channel_->read_line(&line)) {
        if (!line.complete) channel_->skip_line();  // an over-long line: its start is enough
        auto complete = reader_.feed(line.text);
        if (!complete) {
            log::warn("%s: %s: %s", request_.queue_id.c_str(), namaddr(target_).c_str(),
                      complete.error().message.c_str());
            on_event(event::Channel::Event::kError, complete.error().message);
            return;
        }
        if (!*complete) continue;
        smtp::Reply reply = reader_.take();
        got_reply_ = true;
        perform(engine_->on_reply(reply));
    }
}

void Delivery::on_event(event::Channel::Event e, const std::string& why) {
    if (!engine_) return;
    switch (e) {
        case event::Channel::Event::kTlsReady: return tls_done(true, "");
        case event::Channel::Event::kTlsFailed: return tls_done(false, why);
        case event::Channel::Event::kTimeout:
        case event::Channel::Event::kEof:
        case event::Channel::Event::kError: break;
    }
    if (quitting_) return close_channel();
    if (reused_ && !got_reply_ && e != event::Channel::Event::kTimeout) {
        // As Postfix: a cached session that the server closed as it was
        // taken carried nothing; the message goes over a new connection.
        log::info("%s: cached session with %s was closed by the server; trying a new connection",
                  request_.queue_id.c_str(), relay_of(target_).c_str());
        if (counted_ && target_.site < sessions_.size()) --sessions_[target_.site];
        reused_ = false;
        drop_connection();
        return route();
    }
    in_body_ = false;
    engine_->on_lost(e == event::Channel::Event::kTimeout);
    session_over();
    // The connection is dead: without closing it the Delivery (socket,
    // queue file, message copy) would never be freed.
    close_channel();
}

// The host of the nexthop (or fallback relay) the target came from: the
// name a certificate must match at secure. "" for a UNIX socket.
std::string Delivery::nexthop_host() const {
    const auto& fallback = ctx_.router->config().fallback_relays;
    if (target_.site < nexthops_.size()) return nexthops_[target_.site].host;
    if (target_.site - nexthops_.size() < fallback.size()) return fallback[target_.site - nexthops_.size()].host;
    return "";
}

void Delivery::perform(const smtp::Step& step) {
    if (!channel_) return;
    if (!counted_ && engine_ && engine_->in_transaction()) {
        // The handshake is done: this session counts toward the limit.
        counted_ = true;
        if (sessions_.size() <= target_.site) sessions_.resize(target_.site + 1);
        ++sessions_[target_.site];
    }
    if (!step.send.empty()) channel_->write(step.send);
    if (step.start_tls) {
        SSL* ssl = ctx_.tls->new_ssl(level_, target_.hostname,
                                     level_ == tls::ClientLevel::kVerify || level_ == tls::ClientLevel::kSecure,
                                     nexthop_host());
        if (!ssl || !channel_->start_tls(ssl, false)) return tls_done(false, "cannot create the TLS session");
        channel_->set_timeouts(ctx_.settings.timeouts.starttls, ctx_.settings.timeouts.starttls);
        return;
    }
    if (step.send_body) {
        if (session_ready_ == 0) session_ready_ = deliver::now_seconds();
        in_body_ = true;
        cursor_ = agent::MessageCopy::Cursor();
        encoder_ = agent::LineTransformer(wire_options(ctx_.settings.line_length_limit));
        arm_timeout();
        return send_body();
    }
    if (step.finished && step.reusable && ctx_.cache) {
        session_over();
        auto idle = std::make_unique<IdleSession>();
        idle->channel = std::move(channel_);
        idle->target = target_;
        idle->keywords = engine_->keywords();
        idle->tls = engine_->tls_active();
        idle->authenticated = engine_->authenticated();
        idle->created = session_created_;
        idle->uses = session_uses_;
        ctx_.cache->put(cache_key_, std::move(idle));
        engine_.reset();
        return maybe_release();
    }
    if (step.finished) {
        quitting_ = true;
        arm_timeout();
        return session_over();
    }
    // The envelope starts once the greeting, EHLO and TLS are done.
    if (session_ready_ == 0 && engine_->waiting_for() == ClientEngine::Wait::kMail)
        session_ready_ = deliver::now_seconds();
    arm_timeout();
}

// Nothing may be delivered half: the connection goes without the final dot.
void Delivery::body_failed(const std::string& why) {
    log::warn("%s: %s", request_.queue_id.c_str(), why.c_str());
    in_body_ = false;
    fail_all(DeliveryStatus::kDeferred, "4.3.0", "none", why);
    quitting_ = true;
    close_channel();
}

// The content goes from the queue file to the socket a piece at a time:
// the next piece is read only when the socket has taken most of the
// earlier ones.
void Delivery::send_body() {
    if (!channel_ || !in_body_) return;
    while (channel_->output_size() < kBodyChunk * 4) {
        piece_.clear();
        auto more = message_->read_next(&cursor_, &piece_);
        if (!more) return body_failed("cannot read queue file: " + more.error().message);
        wire_.clear();
        encoder_.feed(piece_, &wire_);
        if (!*more) {
            encoder_.finish(&wire_);
            wire_ += ".\r\n";
            channel_->write(wire_);
            in_body_ = false;
            engine_->body_sent();
            arm_timeout();
            return;
        }
        channel_->write(wire_);
    }
}

void Delivery::tls_done(bool ok, const std::string& why) {
    if (!ok) {
        log::warn("TLS handshake failed with %s: %s", relay_of(target_).c_str(), why.c_str());
        if (level_ == tls::ClientLevel::kMay && !plaintext_ && next_ > 0) {
            // As Postfix: opportunistic TLS that fails tries the same
            // server again without it.
            log::info("%s: trying %s again without TLS", request_.queue_id.c_str(), relay_of(target_).c_str());
            retry_plain_ = true;
            --next_;
            loop_.defer([self = shared_from_this()] { self->next_target(); });
            return close_channel();
        }
        perform(engine_->abort_session(smtp::VerdictKind::kDeferred, "4.7.5",
                                       "Cannot start TLS: handshake failure", true));
        return;
    }
    SSL* ssl = channel_->ssl();
    bool name_checked = level_ == tls::ClientLevel::kVerify || level_ == tls::ClientLevel::kSecure;
    std::string verify_error;
    tls::Trust trust = tls::assess(ssl, name_checked, &verify_error);
    if (ctx_.settings.tls_loglevel >= 1 || name_checked)
        log::info("%s", tls::client_established_log(trust, relay_of(target_), tls::session_info(ssl)).c_str());
    if (name_checked && trust != tls::Trust::kVerified) {
        log::info("server certificate verification failed for %s: %s", relay_of(target_).c_str(),
                  verify_error.c_str());
        perform(engine_->abort_session(smtp::VerdictKind::kDeferred, "4.7.5", "Server certificate not verified",
                                       true));
        return;
    }
    perform(engine_->tls_ready());
}

// The session's outcome: final results for what is sent or bounced; what
// was deferred goes to the next server while one is left (Postfix keeps
// recipients with a soft error for the next MX host unless this server
// is the final one: the last address, or *_mx_session_limit reached).
void Delivery::session_over() {
    if (!engine_ || !engine_->done() || reported_) return;
    std::string relay = relay_of(target_);
    if (const auto& failure = engine_->session_failure()) {
        last_reason_ = failure->reason;
        last_dsn_ = failure->dsn;
        last_status_ = status_of(failure->kind);
        last_relay_ = relay;
        if (failure->try_next && more_targets()) {
            log::info("%s: %s", request_.queue_id.c_str(), failure->reason.c_str());
            return go_on();
        }
        return fail_all(last_status_, last_dsn_, last_relay_, last_reason_);
    }
    bool retry = more_targets();
    bool dsn = smtp::find_ehlo_keyword(engine_->keywords(), "DSN") != nullptr;
    unsigned conn_use = session_uses_ + 1;
    std::vector<std::size_t> kept;
    std::vector<std::string> logged;
    const auto& verdicts = engine_->verdicts();
    for (std::size_t i = 0; i < pending_.size() && i < verdicts.size(); ++i) {
        std::size_t idx = pending_[i];
        const auto& v = verdicts[i];
        if (!v) {
            // Not reached: the engine is done only when every recipient
            // has a verdict.
            results_[idx] = RecipientResult{DeliveryStatus::kDeferred, "4.3.0", relay, "internal protocol error"};
            continue;
        }
        if (v->kind == smtp::VerdictKind::kDeferred && retry) {
            kept.push_back(idx);
            last_reason_ = v->reason;
            last_dsn_ = v->dsn;
            last_status_ = DeliveryStatus::kDeferred;
            last_relay_ = relay;
            if (std::find(logged.begin(), logged.end(), v->reason) == logged.end()) {
                log::info("%s: %s", request_.queue_id.c_str(), v->reason.c_str());
                logged.push_back(v->reason);
            }
            continue;
        }
        RecipientResult r{status_of(v->kind), v->dsn, relay, v->reason};
        r.conn_use = conn_use;
        // As Postfix: a server that announced DSN got NOTIFY and sends the
        // success notice itself; without DSN the notice here says
        // "relayed".
        if (v->kind == smtp::VerdictKind::kSent) {
            r.relayed = true;
            r.dsn_delegated = dsn;
        }
        results_[idx] = std::move(r);
    }
    pending_ = std::move(kept);
    if (pending_.empty()) return report();
    go_on();
}

}  // namespace

void start_delivery(event::Loop& loop, const AgentContext& context, const deliver::DeliveryRequest& request,
                    std::shared_ptr<const agent::MessageCopy> message, agent::EventDone done) {
    auto d = std::make_shared<Delivery>(loop, context, request, std::move(message), std::move(done));
    d->start();
}

}  // namespace mailroom::smtp_agent
