// imap_session.cc - see imap_session.h: the connection, login and IDLE.
#include "imapd/imap_session.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "imapd/imap_fetch.h"
#include "lib/access/mail_location.h"
#include "lib/log/log.h"
#include "lib/util/strings.h"

namespace mailroom::imapd {
namespace {

constexpr int kMaxBadCommands = 20;
constexpr std::size_t kMaxQueuedOutput = 256 * 1024;
constexpr std::chrono::milliseconds kIdlePoll{1000};          // without inotify
constexpr std::chrono::milliseconds kIdleWatchedPoll{30000};  // with it: a fallback
constexpr std::chrono::milliseconds kIdleWakeDelay{20};       // events of one change coalesce

ImapFramer::Limits framer_limits(const ImapConfig& cfg) {
    ImapFramer::Limits l;
    l.max_line = cfg.max_line;
    l.max_literal = cfg.append_limit ? cfg.append_limit : (std::uint64_t{1} << 40);
    l.literal_plus = !cfg.literal_minus;
    return l;
}

}  // namespace

ImapSession::ImapSession(ImapServer& server, server::Connection conn)
    : server_(server), conn_(std::move(conn)), framer_(framer_limits(server.config())),
      auth_(server.loop(), server.authd(), server.config().login), started_(std::chrono::steady_clock::now()) {}

ImapSession::ImapSession(ImapServer& server, access::Handoff handoff, util::UniqueFd fd, std::function<void()> done)
    : server_(server), framer_(framer_limits(server.config())),
      auth_(server.loop(), server.authd(), server.config().login), started_(std::chrono::steady_clock::now()),
      handoff_(std::move(handoff)), handoff_fd_(std::move(fd)), done_report_(std::move(done)) {}

ImapSession::~ImapSession() {
    if (idle_watch_) server_.folder_watch().unsubscribe(idle_watch_);
    server_.userip().release(userip_ticket_);
    if (auto done = std::exchange(done_report_, nullptr)) done();
}

bool ImapSession::attach_channel(event::Channel::Ptr channel) {
    channel_ = std::move(channel);
    if (!channel_) {
        server_.finish(this);
        return false;
    }
    channel_->on_input([this] { on_input(); });
    channel_->on_event([this](event::Channel::Event e, const std::string& why) { on_event(e, why); });
    return true;
}

void ImapSession::start_mail() {
    access::Handoff& h = *handoff_;
    peer_ = access::LoginPeer::of(h);
    mail_user_ = h.login_name;
    // The state is LOGIN's (or AUTHENTICATE's) tag, a LF, then the client
    // input the login process had read past it.
    const auto nl = h.state.find('\n');
    sasl_tag_ = h.state.substr(0, nl);
    if (nl != std::string::npos) carry_ = h.state.substr(nl + 1);
    const auto& cfg = server_.config();
    if (!attach_channel(event::Channel::create(server_.loop(), std::move(handoff_fd_),
                                               {.max_line = cfg.max_line, .max_input = 64 * 1024,
                                                .read_timeout = cfg.idle_timeout,
                                                .write_timeout = cfg.idle_timeout})))
        return;
    channel_->pause_reading();
    const char* method = h.method == "LOGIN" ? "LOGIN" : "PLAIN";
    open_store(h.login_name, h.user, method);
}

bool ImapSession::next_line(event::Channel::Line* line) {
    if (!carry_.empty()) {
        const auto nl = carry_.find('\n');
        if (nl != std::string::npos) {
            line->text = carry_.substr(0, nl);
            carry_.erase(0, nl + 1);
            if (!line->text.empty() && line->text.back() == '\r') line->text.pop_back();
            line->complete = line->text.size() <= server_.config().max_line;
            return true;
        }
        if (!channel_->read_line(line)) return false;
        line->text = std::exchange(carry_, std::string()) + line->text;
        if (line->text.size() > server_.config().max_line) line->complete = false;
        return true;
    }
    return channel_->read_line(line);
}

std::string ImapSession::take_input(std::size_t max) {
    if (!carry_.empty()) {
        std::string out = carry_.substr(0, max);
        carry_.erase(0, out.size());
        return out;
    }
    return channel_->read(max);
}

void ImapSession::start() {
    if (handoff_) return start_mail();
    const auto& cfg = server_.config();
    peer_ = access::LoginPeer::of(conn_.fd(), cfg.login);
    if (!attach_channel(event::Channel::create(server_.loop(), conn_.fd(),
                                               {.max_line = cfg.max_line, .max_input = 64 * 1024,
                                                .read_timeout = cfg.idle_timeout,
                                                .write_timeout = cfg.idle_timeout})))
        return;
    if (cfg.wrappermode) {
        if (!server_.tls()) {
            log::warn("imap-login: implicit TLS wanted but no TLS context (ssl_cert): rip=%s", peer_.rip.c_str());
            end("no TLS");
            return;
        }
        wait_ = Wait::kTls;
        start_tls();
        return;
    }
    send("* OK [CAPABILITY " + capabilities() + "] " + cfg.greeting);
}

void ImapSession::send(std::string_view text) {
    std::string line(text);
    line += "\r\n";
    send_raw(line);
}

void ImapSession::send_raw(std::string_view bytes) {
    out_bytes_ += bytes.size();
    channel_->write(bytes);
}

void ImapSession::bad(const std::string& tag, std::string_view text) {
    send((tag.empty() ? std::string("*") : tag) + " BAD " + std::string(text));
    if (++bad_commands_ >= kMaxBadCommands) {
        send("* BYE Too many invalid IMAP commands.");
        end_after_output("Too many invalid IMAP commands.");
    }
}

std::string ImapSession::capabilities() const {
    const auto& cfg = server_.config();
    // RFC 7888: LITERAL+ or LITERAL-, never both.
    std::string caps = "IMAP4rev1 IMAP4rev2 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE";
    caps += cfg.literal_minus ? " LITERAL-" : " LITERAL+";
    if (state_ == State::kNotAuth) {
        if (server_.tls() && !peer_.tls) caps += " STARTTLS";
        if (!plaintext_allowed()) {
            caps += " LOGINDISABLED";
        } else {
            if (cfg.login.mech_plain) caps += " AUTH=PLAIN";
            if (cfg.login.mech_login) caps += " AUTH=LOGIN";
        }
        return caps;
    }
    caps += " NAMESPACE UIDPLUS MOVE UNSELECT CHILDREN SPECIAL-USE CREATE-SPECIAL-USE CONDSTORE QRESYNC"
            " ESEARCH SEARCHRES LIST-EXTENDED LIST-STATUS QUOTA SORT THREAD=REFERENCES THREAD=ORDEREDSUBJECT"
            " BINARY STATUS=SIZE";
    if (cfg.append_limit) caps += " APPENDLIMIT=" + std::to_string(cfg.append_limit);
    return caps;
}

void ImapSession::log_disconnect(const char* why) {
    if (store_) {
        log::info("imap(%s): Disconnected: %s in=%llu out=%llu", log::log_printable(mail_user_).c_str(), why,
                  static_cast<unsigned long long>(in_bytes_), static_cast<unsigned long long>(out_bytes_));
        return;
    }
    peer_.log_disconnect(auth_.failures(), started_, auth_.last_user(), auth_.last_method());
}

void ImapSession::end(const char* why) {
    if (done_) return;
    log_disconnect(why);
    done_ = true;
    folder_.reset();
    store_.reset();
    server_.finish(this);
}

void ImapSession::end_after_output(const char* why) {
    if (done_) return;
    log_disconnect(why);
    done_ = true;
    folder_.reset();
    store_.reset();
    close_after_output();
}

void ImapSession::close_after_output() {
    closing_ = true;
    idle_stop();
    channel_->pause_reading();
    channel_->on_drained([this] { server_.finish(this); });
    if (channel_->output_size() == 0) server_.finish(this);
}

void ImapSession::on_event(event::Channel::Event event, const std::string& reason) {
    switch (event) {
    case event::Channel::Event::kTlsReady:
        peer_.tls = true;
        peer_.secured = true;
        if (wait_ == Wait::kTls) {
            wait_ = Wait::kNone;
            if (server_.config().wrappermode && state_ == State::kNotAuth && auth_.failures() == 0 && in_bytes_ == 0)
                send("* OK [CAPABILITY " + capabilities() + "] " + server_.config().greeting);
            channel_->resume_reading();
        }
        return;
    case event::Channel::Event::kTlsFailed:
        log::info("imap-login: Disconnected (TLS handshaking: %s): %s", reason.c_str(),
                  peer_.fields("", nullptr).c_str());
        done_ = true;
        server_.finish(this);
        return;
    case event::Channel::Event::kTimeout:
        if (closing_) {
            server_.finish(this);
            return;
        }
        if (channel_->output_size() > 0) {
            end("Inactivity");
            return;
        }
        send("* BYE Disconnected for inactivity.");
        end_after_output("Inactivity");
        return;
    case event::Channel::Event::kEof:
    case event::Channel::Event::kError:
        if (closing_) {
            server_.finish(this);
            return;
        }
        end(wait_ == Wait::kIdle ? "Disconnected in IDLE" : "Connection closed");
        return;
    }
}

void ImapSession::on_input() {
    while (!closing_ && !done_ && wait_ != Wait::kAuthd && wait_ != Wait::kTls && wait_ != Wait::kOutput) {
        if (channel_->output_size() > kMaxQueuedOutput) {
            wait_for_drain();
            return;
        }
        if (!read_one()) break;
    }
}

void ImapSession::wait_for_drain() {
    channel_->pause_reading();
    channel_->on_drained([this] {
        channel_->on_drained(nullptr);
        if (closing_ || done_ || wait_ == Wait::kAuthd || wait_ == Wait::kTls || wait_ == Wait::kOutput) return;
        channel_->resume_reading();
    });
}

bool ImapSession::read_one() {
    using Step = ImapFramer::Step;
    Step step;
    const std::size_t want = framer_.literal_remaining();
    if (want > 0) {
        const std::size_t have = input_available();
        if (have == 0) return false;
        std::string bytes = take_input(want < have ? want : have);
        in_bytes_ += bytes.size();
        // A refused literal's bytes are dropped; an accepted one's kept.
        step = framer_.skipping() ? framer_.skip(bytes.size()) : framer_.literal(bytes);
        if (framer_.literal_remaining() == 0 && input_available() == 0) {
            // The client's CRLF after a literal is a small write that
            // Nagle holds until the literal is acknowledged: acknowledge it
            // now rather than after the delayed-ACK timeout (40 ms).
            const int one = 1;
            (void)::setsockopt(channel_->fd(), IPPROTO_TCP, TCP_QUICKACK, &one, sizeof one);
        }
    } else {
        event::Channel::Line line;
        if (!next_line(&line)) return false;
        in_bytes_ += line.text.size() + 2;
        if (wait_ == Wait::kSasl) {
            if (!line.complete) channel_->skip_line();
            sasl_line(line.text);
            return true;
        }
        if (wait_ == Wait::kIdle) {
            if (!line.complete) channel_->skip_line();
            idle_line(line.text);
            return true;
        }
        step = framer_.line(line.text, line.complete);
    }
    switch (step) {
    case Step::kNeedLine:
    case Step::kNeedLiteral:
    case Step::kSkipLiteral:
        return true;
    case Step::kContinue:
        send("+ OK");
        return true;
    case Step::kError: {
        const bool skip = framer_.skip_rest();
        const std::string tag = framer_.tag();
        const std::string reply = framer_.error_reply();
        framer_.reset();
        if (skip) channel_->skip_line();
        if (reply.rfind("BAD", 0) == 0) bad(tag, reply.substr(4));
        else send(tag + " " + reply);
        return true;
    }
    case Step::kComplete: {
        std::string text = framer_.take_text();
        framer_.reset();
        auto parsed = parse_imap_command(text);
        if (!parsed.command) {
            bad(parsed.tag, parsed.error);
            return true;
        }
        command(*parsed.command);
        return true;
    }
    }
    return true;
}

void ImapSession::command(ImapCommand& cmd) {
    const std::string& n = cmd.name;
    if (n == "CAPABILITY") {
        send("* CAPABILITY " + capabilities());
        tagged(cmd.tag, "OK Capability completed.");
    } else if (n == "NOOP") {
        if (state_ == State::kSelected && !report_changes()) return;
        tagged(cmd.tag, "OK NOOP completed.");
    } else if (n == "LOGOUT") {
        send("* BYE Logging out");
        tagged(cmd.tag, "OK Logout completed.");
        state_ = State::kLogout;
        end_after_output("Logged out");
    } else if (n == "ID") {
        send("* ID (\"name\" \"mailroom\")");
        tagged(cmd.tag, "OK ID completed.");
    } else if (state_ == State::kNotAuth) {
        if (n == "STARTTLS") cmd_starttls(cmd);
        else if (n == "LOGIN") cmd_login(cmd);
        else if (n == "AUTHENTICATE") cmd_authenticate(cmd);
        else bad(cmd.tag, "Error in IMAP command received by server.");
    } else if (n == "STARTTLS" || n == "LOGIN" || n == "AUTHENTICATE") {
        bad(cmd.tag, "Error in IMAP command " + n + ": Already logged in.");
    } else if (n == "IDLE") {
        cmd_idle(cmd);
    } else if (state_ == State::kSelected && selected_command(cmd)) {
    } else if (authenticated_command(cmd)) {
    } else {
        bad(cmd.tag, "Error in IMAP command received by server.");
    }
}

void ImapSession::start_tls() {
    SSL* ssl = server_.tls()->new_ssl();
    if (!ssl || !channel_->start_tls(ssl, true)) {
        log::warn("imap-login: cannot start TLS: rip=%s", peer_.rip.c_str());
        end("TLS setup failed");
    }
}

void ImapSession::cmd_starttls(const ImapCommand& cmd) {
    if (!server_.tls()) return bad(cmd.tag, "TLS support isn't enabled.");
    if (peer_.tls) return bad(cmd.tag, "TLS is already active.");
    tagged(cmd.tag, "OK Begin TLS negotiation now.");
    wait_ = Wait::kTls;
    channel_->pause_reading();
    if (channel_->output_size() == 0) {
        start_tls();
    } else {
        channel_->on_drained([this] {
            channel_->on_drained(nullptr);
            start_tls();
        });
    }
}

void ImapSession::cmd_login(const ImapCommand& cmd) {
    if (cmd.args.size() != 2 || !cmd.args[0].is_astring() || !cmd.args[1].is_astring())
        return bad(cmd.tag, "Error in IMAP command LOGIN: Invalid arguments.");
    if (!plaintext_allowed()) {
        send("* BAD [ALERT] Plaintext authentication not allowed without SSL/TLS, but your client did it anyway. "
             "If anyone was listening, the password was exposed.");
        tagged(cmd.tag, "NO [PRIVACYREQUIRED] Plaintext authentication disallowed on non-secure (SSL/TLS) connections.");
        return;
    }
    sasl_tag_ = cmd.tag;
    authenticate(cmd.args[0].value, cmd.args[1].value, "PLAIN");
}

void ImapSession::cmd_authenticate(const ImapCommand& cmd) {
    const auto& login = server_.config().login;
    if (cmd.args.empty() || cmd.args.size() > 2 || cmd.args[0].type != ImapArg::Type::kAtom)
        return bad(cmd.tag, "Error in IMAP command AUTHENTICATE: Invalid arguments.");
    const std::string mech = upper(cmd.args[0].value);
    const bool plain = mech == "PLAIN" && login.mech_plain;
    const bool login_mech = mech == "LOGIN" && login.mech_login;
    if (!plain && !login_mech) return tagged(cmd.tag, "NO Unsupported authentication mechanism.");
    if (!plaintext_allowed())
        return tagged(cmd.tag,
                      "NO [PRIVACYREQUIRED] Plaintext authentication disallowed on non-secure (SSL/TLS) connections.");
    sasl_tag_ = cmd.tag;
    sasl_.emplace(plain ? access::SaslExchange::Mech::kPlain : access::SaslExchange::Mech::kLogin);
    wait_ = Wait::kSasl;
    if (cmd.args.size() == 2) {  // SASL-IR
        sasl_line(cmd.args[1].value);
        return;
    }
    send("+ " + sasl_->first_challenge());
}

void ImapSession::sasl_line(const std::string& line) {
    using Kind = access::SaslExchange::Step::Kind;
    auto step = sasl_->feed(line);
    const char* method = sasl_->method();
    if (step.kind == Kind::kChallenge) {
        send("+ " + step.challenge);
        return;
    }
    sasl_.reset();
    wait_ = Wait::kNone;
    switch (step.kind) {
    case Kind::kAborted: return bad(sasl_tag_, "Authentication aborted by client.");
    case Kind::kInvalidBase64: return bad(sasl_tag_, "Invalid base64 data in continued response");
    case Kind::kMalformed:
        wait_ = Wait::kAuthd;
        channel_->pause_reading();
        auth_.fail(step.user, method, [this, method](access::LoginAuth::Outcome o) { auth_done(std::move(o), method); });
        return;
    default: authenticate(step.user, step.password, method); return;
    }
}

void ImapSession::authenticate(const std::string& user, const std::string& password, const char* method) {
    wait_ = Wait::kAuthd;
    channel_->pause_reading();
    auth_.password(user, password, method, [this, method](access::LoginAuth::Outcome o) { auth_done(std::move(o), method); });
}

void ImapSession::auth_done(access::LoginAuth::Outcome outcome, const char* method) {
    using Kind = access::LoginAuth::Outcome::Kind;
    if (done_) return;
    wait_ = Wait::kNone;
    switch (outcome.kind) {
    case Kind::kFail:
        tagged(sasl_tag_, "NO [AUTHENTICATIONFAILED] Authentication failed.");
        if (outcome.disconnect) {
            send("* BYE Too many authentication failures.");
            end_after_output("auth failed");
            return;
        }
        break;
    case Kind::kTempFail:
        log::warn("imap-login: authd: %s: %s", outcome.reason.c_str(), peer_.fields(auth_.last_user(), method).c_str());
        tagged(sasl_tag_, "NO [UNAVAILABLE] Temporary authentication failure.");
        break;
    case Kind::kOk:
        login(outcome.login_name, outcome.user, method);
        return;
    }
    channel_->resume_reading();
}

void ImapSession::login(const std::string& login_name, const auth::AuthUser& user, const char* method) {
    mail_user_ = login_name;
    if (::geteuid() == 0 && !server_.mail_processes()) {
        log::error("imap(%s): refusing to read mail as root (uid=%ld): run imapd unprivileged",
                   log::log_printable(login_name).c_str(), user.uid ? static_cast<long>(*user.uid) : -1L);
        tagged(sasl_tag_, "NO [SERVERBUG] Internal error occurred. Refer to server log for more information.");
        send("* BYE Internal error.");
        end_after_output("Internal error");
        return;
    }
    wait_ = Wait::kAuthd;
    channel_->pause_reading();
    std::weak_ptr<int> alive = life_;
    ImapServer* server = &server_;
    server_.userip().connect(login_name, peer_.rip, [this, alive, server, login_name, user, method](
                                                        bool admitted, access::UseripLimiter::Ticket ticket) {
        if (alive.expired() || done_) {
            server->userip().release(ticket);
            return;
        }
        wait_ = Wait::kNone;
        if (!admitted) {
            tagged(sasl_tag_, "NO [UNAVAILABLE] " + peer_.userip_refused(server_.userip().max(), login_name, method));
            done_ = true;
            close_after_output();
            return;
        }
        userip_ticket_ = std::move(ticket);
        if (server_.mail_processes())
            hand_off(login_name, user, method);
        else
            open_store(login_name, user, method);
    });
}

void ImapSession::hand_off(const std::string& login_name, const auth::AuthUser& user, const char* method) {
    // The state: the login's tag, and what the client pipelined after it.
    access::Handoff h = peer_.handoff(login_name, method, user, sasl_tag_ + "\n" + take_input(input_available()));
    if (auto st = server_.handed().hand_off(std::move(h), {&channel_, &conn_, &userip_ticket_}); !st) {
        log::error("imap(%s): %s", log::log_printable(login_name).c_str(), st.error().message.c_str());
        tagged(sasl_tag_, "NO [SERVERBUG] Internal error occurred. Refer to server log for more information.");
        send("* BYE Internal error.");
        end_after_output("Internal error");
        return;
    }
    done_ = true;
    server_.finish(this);
}

void ImapSession::open_store(const std::string& login_name, const auth::AuthUser& user, const char* method) {
    const auto& cfg = server_.config();
    auto fail = [&](const std::string& why) {
        log::error("imap(%s): %s", log::log_printable(login_name).c_str(), why.c_str());
        tagged(sasl_tag_, "NO [SERVERBUG] Internal error occurred. Refer to server log for more information.");
        send("* BYE Internal error.");
        done_ = true;
        close_after_output();
    };
    std::string maildir;
    if (!user.maildir.empty()) {
        auto abs = access::resolve_maildir(user.maildir, user.home);
        if (!abs) return fail(abs.error().message);
        maildir = *abs;
    } else {
        auto loc = access::parse_mail_location(cfg.mail_location, access::MailUser{login_name, user.home});
        if (!loc) return fail(loc.error().message);
        if (loc->format == access::MailFormat::kMbox) return fail("mbox mail_location is not served by imapd");
        maildir = loc->root;
    }
    access::StoreOptions opts;
    opts.maildir = maildir;
    auto store = access::MailStore::open(std::move(opts));
    if (!store) return fail(store.error().message);
    store_ = std::move(*store);
    if (auto st = store_->ensure_special_folders(); !st)
        log::warn("imap(%s): creating the special-use folders: %s", log::log_printable(login_name).c_str(),
                  st.error().message.c_str());
    log::info("imap-login: Login: %s", peer_.fields(login_name, method, static_cast<int>(::getpid())).c_str());
    state_ = State::kAuth;
    tagged(sasl_tag_, "OK [CAPABILITY " + capabilities() + "] Logged in");
    channel_->resume_reading();
}

// ---- IDLE (RFC 2177)

void ImapSession::cmd_idle(const ImapCommand& cmd) {
    if (!cmd.args.empty()) return bad(cmd.tag, "Error in IMAP command IDLE: Invalid arguments.");
    if (state_ == State::kSelected && !report_changes()) return;
    idle_tag_ = cmd.tag;
    wait_ = Wait::kIdle;
    send("+ idling");
    // No autologout while idling: the notify interval keeps the client
    // talking, the write timeout still catches a dead peer.
    channel_->set_timeouts(std::chrono::milliseconds(0), server_.config().idle_timeout);
    if (idle_poll_.empty()) idle_poll_ = event::Timer(server_.loop(), [this] { idle_check(); });
    if (idle_notify_.empty())
        idle_notify_ = event::Timer(server_.loop(), [this] {
            if (wait_ != Wait::kIdle || closing_) return;
            send("* OK Still here");
            idle_notify_.start(server_.config().idle_notify);
        });
    if (state_ == State::kSelected) {
        std::weak_ptr<int> alive = life_;
        idle_watch_ = server_.folder_watch().subscribe(folder_->dir(), [this, alive] {
            if (alive.expired() || wait_ != Wait::kIdle || idle_wake_) return;
            idle_wake_ = true;
            idle_poll_.start(kIdleWakeDelay);
        });
        idle_poll_.start(idle_watch_ ? kIdleWatchedPoll : kIdlePoll);
    }
    idle_notify_.start(server_.config().idle_notify);
}

void ImapSession::idle_check() {
    idle_wake_ = false;
    if (wait_ != Wait::kIdle || closing_ || state_ != State::kSelected) return;
    if (!report_changes()) return;
    idle_poll_.start(idle_watch_ ? kIdleWatchedPoll : kIdlePoll);
}

void ImapSession::idle_stop() {
    idle_poll_.cancel();
    idle_notify_.cancel();
    idle_wake_ = false;
    if (idle_watch_) server_.folder_watch().unsubscribe(std::exchange(idle_watch_, 0));
}

void ImapSession::idle_line(const std::string& line) {
    idle_stop();
    wait_ = Wait::kNone;
    channel_->set_timeouts(server_.config().idle_timeout, server_.config().idle_timeout);
    if (!iequals(line, "DONE")) {
        bad(idle_tag_, "Expected DONE.");
        return;
    }
    if (state_ == State::kSelected && !report_changes()) return;
    tagged(idle_tag_, "OK Idle completed.");
}

// ---- untagged updates of the selected folder

bool ImapSession::report_changes(bool allow_expunge) {
    if (!folder_ || !allow_expunge) return true;
    const std::size_t old_recent = folder_->recent_count();
    auto changes = folder_->sync();
    if (!changes) {
        log::warn("imap(%s): sync of %s: %s", log::log_printable(mail_user_).c_str(), folder_->name().c_str(),
                  changes.error().message.c_str());
        return true;
    }
    bool exists = false;
    std::string out;
    for (const auto& c : *changes) {
        switch (c.kind) {
        case access::FolderChange::Kind::kExpunge:
            out += qresync_ ? "* VANISHED " + std::to_string(c.uid) + "\r\n"
                            : "* " + std::to_string(c.seq) + " EXPUNGE\r\n";
            break;
        case access::FolderChange::Kind::kExists:
            out += "* " + std::to_string(c.seq) + " EXISTS\r\n";
            exists = true;
            break;
        case access::FolderChange::Kind::kFlags: {
            auto at = folder_->find_uid(c.uid);
            if (at) out += fetch_flags_line(*at, true) + "\r\n";
            break;
        }
        case access::FolderChange::Kind::kUidValidity:
            send_raw(out);
            send("* BYE Mailbox UIDVALIDITY changed");
            end_after_output("Mailbox UIDVALIDITY changed");
            return false;
        }
    }
    if ((exists || folder_->recent_count() != old_recent) && !rev2_)
        out += "* " + std::to_string(folder_->recent_count()) + " RECENT\r\n";
    if (!out.empty()) send_raw(out);
    return true;
}

}  // namespace mailroom::imapd
