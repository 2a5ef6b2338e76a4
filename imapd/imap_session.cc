// imap_session.cc - see imap_session.h: the connection, login and IDLE.
#include "imapd/imap_session.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "imapd/imap_fetch.h"
#include "lib/access/mail_location.h"
#include "lib/log/log.h"
#include "lib/util/base64.h"
#include "lib/util/strings.h"

namespace mailroom::imapd {
namespace {

constexpr int kMaxBadCommands = 20;
constexpr int kMaxAuthFailures = 3;
constexpr std::size_t kMaxQueuedOutput = 256 * 1024;
constexpr std::chrono::milliseconds kIdlePoll{1000};

std::string sock_addr(int fd, bool peer) {
    sockaddr_storage ss{};
    socklen_t len = sizeof(ss);
    int rc = peer ? ::getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len)
                  : ::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
    if (rc != 0) return "unknown";
    char buf[INET6_ADDRSTRLEN] = "unknown";
    if (ss.ss_family == AF_INET) {
        inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(&ss)->sin_addr, buf, sizeof(buf));
    } else if (ss.ss_family == AF_INET6) {
        auto* a6 = reinterpret_cast<sockaddr_in6*>(&ss);
        if (IN6_IS_ADDR_V4MAPPED(&a6->sin6_addr))
            inet_ntop(AF_INET, &a6->sin6_addr.s6_addr[12], buf, sizeof(buf));
        else
            inet_ntop(AF_INET6, &a6->sin6_addr, buf, sizeof(buf));
    } else {
        return "local";
    }
    return buf;
}

ImapFramer::Limits framer_limits(const ImapConfig& cfg) {
    ImapFramer::Limits l;
    l.max_line = cfg.max_line;
    l.max_literal = cfg.append_limit ? cfg.append_limit : (std::uint64_t{1} << 40);
    return l;
}

}  // namespace

ImapSession::ImapSession(ImapServer& server, server::Connection conn)
    : server_(server), conn_(std::move(conn)), framer_(framer_limits(server.config())),
      started_(std::chrono::steady_clock::now()) {}

ImapSession::~ImapSession() {
    server_.userip_release(userip_ticket_);
    if (auth_id_ != 0) server_.authd().cancel(auth_id_);
}

void ImapSession::start() {
    const auto& cfg = server_.config();
    rip_ = sock_addr(conn_.fd(), true);
    lip_ = sock_addr(conn_.fd(), false);
    secured_ = rip_ == lip_;
    if (!secured_ && cfg.trusted) {
        auto m = cfg.trusted->match("", rip_);
        secured_ = m && *m;
    }
    channel_ = event::Channel::create(server_.loop(), conn_.fd(),
                                      {.max_line = cfg.max_line, .max_input = 64 * 1024,
                                       .read_timeout = cfg.idle_timeout, .write_timeout = cfg.idle_timeout});
    if (!channel_) {
        server_.finish(this);
        return;
    }
    channel_->on_input([this] { on_input(); });
    channel_->on_event([this](event::Channel::Event e, const std::string& why) { on_event(e, why); });
    if (cfg.wrappermode) {
        if (!server_.tls()) {
            log::warn("imap-login: implicit TLS wanted but no TLS context (ssl_cert): rip=%s", rip_.c_str());
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
    std::string caps = "IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+";
    if (state_ == State::kNotAuth) {
        if (server_.tls() && !tls_) caps += " STARTTLS";
        if (!plaintext_allowed()) {
            caps += " LOGINDISABLED";
        } else {
            if (cfg.mech_plain) caps += " AUTH=PLAIN";
            if (cfg.mech_login) caps += " AUTH=LOGIN";
        }
        return caps;
    }
    caps += " NAMESPACE UIDPLUS MOVE UNSELECT CHILDREN SPECIAL-USE CREATE-SPECIAL-USE CONDSTORE QRESYNC"
            " ESEARCH SEARCHRES LIST-EXTENDED LIST-STATUS QUOTA SORT THREAD=REFERENCES THREAD=ORDEREDSUBJECT"
            " BINARY STATUS=SIZE";
    if (cfg.append_limit) caps += " APPENDLIMIT=" + std::to_string(cfg.append_limit);
    return caps;
}

bool ImapSession::plaintext_allowed() const { return !server_.config().disable_plaintext_auth || tls_ || secured_; }

std::string ImapSession::login_fields(const std::string& user, const char* method) const {
    std::string s;
    if (!user.empty()) s += "user=<" + log::log_printable(user) + ">, ";
    if (method) s += std::string("method=") + method + ", ";
    s += "rip=" + rip_ + ", lip=" + lip_;
    if (tls_) s += ", TLS";
    return s;
}

void ImapSession::log_disconnect(const char* why) {
    if (store_) {
        log::info("imap(%s): Disconnected: %s in=%llu out=%llu", log::log_printable(mail_user_).c_str(), why,
                  static_cast<unsigned long long>(in_bytes_), static_cast<unsigned long long>(out_bytes_));
        return;
    }
    const long secs = static_cast<long>(
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - started_).count());
    if (auth_failures_ > 0)
        log::info("imap-login: Disconnected (auth failed, %d attempts in %ld secs): %s", auth_failures_, secs,
                  login_fields(last_user_, last_method_).c_str());
    else
        log::info("imap-login: Disconnected (no auth attempts in %ld secs): %s", secs,
                  login_fields("", nullptr).c_str());
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
    idle_poll_.cancel();
    idle_notify_.cancel();
    channel_->pause_reading();
    channel_->on_drained([this] { server_.finish(this); });
    if (channel_->output_size() == 0) server_.finish(this);
}

void ImapSession::on_event(event::Channel::Event event, const std::string& reason) {
    switch (event) {
    case event::Channel::Event::kTlsReady:
        tls_ = true;
        secured_ = true;
        if (wait_ == Wait::kTls) {
            wait_ = Wait::kNone;
            if (server_.config().wrappermode && state_ == State::kNotAuth && auth_failures_ == 0 && in_bytes_ == 0)
                send("* OK [CAPABILITY " + capabilities() + "] " + server_.config().greeting);
            channel_->resume_reading();
        }
        return;
    case event::Channel::Event::kTlsFailed:
        log::info("imap-login: Disconnected (TLS handshaking: %s): %s", reason.c_str(),
                  login_fields("", nullptr).c_str());
        done_ = true;
        server_.finish(this);
        return;
    case event::Channel::Event::kTimeout:
        if (closing_) {
            server_.finish(this);
            return;
        }
        if (channel_->output_size() > 0) {
            end("Disconnected for inactivity.");
            return;
        }
        send("* BYE Disconnected for inactivity.");
        end_after_output("Disconnected for inactivity.");
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
        const std::size_t have = channel_->input_size();
        if (have == 0) return false;
        std::string bytes = channel_->read(want < have ? want : have);
        in_bytes_ += bytes.size();
        // A refused literal's bytes are dropped; an accepted one's kept.
        step = framer_.skipping() ? framer_.skip(bytes.size()) : framer_.literal(bytes);
    } else {
        event::Channel::Line line;
        if (!channel_->read_line(&line)) return false;
        in_bytes_ += line.text.size() + 2;
        if (wait_ == Wait::kSaslPlain || wait_ == Wait::kSaslLoginUser || wait_ == Wait::kSaslLoginPass) {
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
        log::warn("imap-login: cannot start TLS: rip=%s", rip_.c_str());
        end("TLS setup failed");
    }
}

void ImapSession::cmd_starttls(const ImapCommand& cmd) {
    if (!server_.tls()) return bad(cmd.tag, "TLS support isn't enabled.");
    if (tls_) return bad(cmd.tag, "TLS is already active.");
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
    const auto& cfg = server_.config();
    if (cmd.args.empty() || cmd.args.size() > 2 || cmd.args[0].type != ImapArg::Type::kAtom)
        return bad(cmd.tag, "Error in IMAP command AUTHENTICATE: Invalid arguments.");
    const std::string mech = upper(cmd.args[0].value);
    const bool plain = mech == "PLAIN" && cfg.mech_plain;
    const bool login = mech == "LOGIN" && cfg.mech_login;
    if (!plain && !login) return tagged(cmd.tag, "NO Unsupported authentication mechanism.");
    if (!plaintext_allowed())
        return tagged(cmd.tag,
                      "NO [PRIVACYREQUIRED] Plaintext authentication disallowed on non-secure (SSL/TLS) connections.");
    sasl_tag_ = cmd.tag;
    wait_ = plain ? Wait::kSaslPlain : Wait::kSaslLoginUser;
    if (cmd.args.size() == 2) {  // SASL-IR
        sasl_line(cmd.args[1].value);
        return;
    }
    send(plain ? "+ " : "+ VXNlcm5hbWU6");
}

void ImapSession::sasl_line(const std::string& line) {
    const Wait was = wait_;
    wait_ = Wait::kNone;
    if (line == "*") {
        bad(sasl_tag_, "Authentication aborted by client.");
        return;
    }
    auto decoded = line == "=" ? std::optional<std::string>(std::string()) : util::base64_decode(line);
    if (!decoded) {
        bad(sasl_tag_, "Invalid base64 data in continued response");
        return;
    }
    if (was == Wait::kSaslPlain) {
        const auto a = decoded->find('\0');
        const auto b = a == std::string::npos ? std::string::npos : decoded->find('\0', a + 1);
        if (b == std::string::npos) return auth_failed("", "PLAIN", true);
        std::string authz = decoded->substr(0, a);
        std::string authc = decoded->substr(a + 1, b - a - 1);
        if (!authz.empty() && authz != authc) return auth_failed(authc, "PLAIN", true);
        authenticate(std::move(authc), decoded->substr(b + 1), "PLAIN");
        return;
    }
    if (was == Wait::kSaslLoginUser) {
        sasl_user_ = *decoded;
        wait_ = Wait::kSaslLoginPass;
        send("+ UGFzc3dvcmQ6");
        return;
    }
    std::string user = std::move(sasl_user_);
    sasl_user_.clear();
    authenticate(std::move(user), *decoded, "LOGIN");
}

void ImapSession::authenticate(std::string user, std::string password, const char* method) {
    wait_ = Wait::kAuthd;
    channel_->pause_reading();
    auth_id_ = server_.authd().request(auth::make_login_request("imap", user, password),
                                       [this, user, method](auth::AuthResult r) {
                                           auth_id_ = 0;
                                           auth_done(user, method, r);
                                       });
}

void ImapSession::auth_done(const std::string& user, const char* method, const auth::AuthResult& result) {
    if (done_) return;
    if (result.kind == auth::AuthResult::Kind::kFail) return auth_failed(user, method, false);
    wait_ = Wait::kNone;
    channel_->resume_reading();
    last_user_ = user;
    last_method_ = method;
    if (result.kind == auth::AuthResult::Kind::kOk) return login(user, result.reply.user, method);
    log::warn("imap-login: authd: %s: %s", result.reason.c_str(), login_fields(user, method).c_str());
    tagged(sasl_tag_, "NO [UNAVAILABLE] Temporary authentication failure.");
}

void ImapSession::auth_failed(const std::string& user, const char* method, bool delay) {
    ++auth_failures_;
    last_user_ = user;
    last_method_ = method;
    wait_ = Wait::kAuthd;
    channel_->pause_reading();
    const auto wait = server_.config().failure_delay;
    if (!delay || wait.count() <= 0) return auth_failed_reply();
    if (failure_timer_.empty()) failure_timer_ = event::Timer(server_.loop(), [this] { auth_failed_reply(); });
    failure_timer_.start(wait);
}

void ImapSession::auth_failed_reply() {
    if (done_) return;
    tagged(sasl_tag_, "NO [AUTHENTICATIONFAILED] Authentication failed.");
    if (auth_failures_ >= kMaxAuthFailures) {
        send("* BYE Too many authentication failures.");
        end_after_output("auth failed");
        return;
    }
    wait_ = Wait::kNone;
    channel_->resume_reading();
}

void ImapSession::login(const std::string& typed_name, const auth::AuthUser& user, const char* method) {
    const std::string login_name = !user.address.empty()    ? user.address
                                   : !user.username.empty() ? user.username
                                                            : typed_name;
    last_user_ = login_name;
    mail_user_ = login_name;
    if (::geteuid() == 0) {
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
    server_.userip_connect(login_name, rip_, [this, alive, server, login_name, user, method](
                                                 bool admitted, ImapServer::UseripTicket ticket) {
        if (alive.expired() || done_) {
            server->userip_release(ticket);
            return;
        }
        wait_ = Wait::kNone;
        if (!admitted) {
            const int max = server_.config().max_userip;
            tagged(sasl_tag_, util::format("NO [LIMIT] Maximum number of connections from user+IP exceeded "
                                           "(mail_max_userip_connections=%d)", max));
            log::info("imap-login: Maximum number of connections from user+IP exceeded "
                      "(mail_max_userip_connections=%d): %s", max, login_fields(login_name, method).c_str());
            done_ = true;
            close_after_output();
            return;
        }
        userip_ticket_ = std::move(ticket);
        open_store(login_name, user, method);
    });
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
    log::info("imap-login: Login: %s, mpid=%d", login_fields(login_name, method).c_str(), static_cast<int>(::getpid()));
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
    if (state_ == State::kSelected) idle_poll_.start(kIdlePoll);
    idle_notify_.start(server_.config().idle_notify);
}

void ImapSession::idle_check() {
    if (wait_ != Wait::kIdle || closing_ || state_ != State::kSelected) return;
    if (!report_changes()) return;
    idle_poll_.start(kIdlePoll);
}

void ImapSession::idle_line(const std::string& line) {
    idle_poll_.cancel();
    idle_notify_.cancel();
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
