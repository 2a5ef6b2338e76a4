// pop3_session.cc - see pop3_session.h.
#include "pop3d/pop3_session.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <sys/socket.h>
#include <unistd.h>

#include <ctime>

#include "lib/access/mail_location.h"
#include "lib/auth/password.h"
#include "lib/log/log.h"
#include "lib/util/base64.h"
#include "lib/util/strings.h"
#include "pop3d/pop3_server.h"

namespace mailroom::pop3d {
namespace {

constexpr int kMaxBadCommands = 20;
constexpr int kMaxAuthFailures = 3;  // as Dovecot's login processes
// Replies queued for a client that does not read them: above this, input
// is not read until the queue has drained, so pipelined CAPA or RETR
// commands cannot grow it without bound.
constexpr std::size_t kMaxQueuedOutput = 256 * 1024;

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

}  // namespace

Pop3Session::Pop3Session(Pop3Server& server, server::Connection conn)
    : server_(server), conn_(std::move(conn)), started_(std::chrono::steady_clock::now()) {}

Pop3Session::~Pop3Session() {
    server_.userip_release(userip_ticket_);
    if (auth_id_ != 0) server_.authd().cancel(auth_id_);
}

void Pop3Session::start() {
    const auto& cfg = server_.config();
    rip_ = sock_addr(conn_.fd(), true);
    lip_ = sock_addr(conn_.fd(), false);
    secured_ = rip_ == lip_;
    if (!secured_ && cfg.trusted) {
        auto m = cfg.trusted->match("", rip_);
        secured_ = m && *m;
    }
    channel_ = event::Channel::create(server_.loop(), conn_.fd(),
                                      {.max_line = kMaxPop3Line, .max_input = 64 * 1024,
                                       .read_timeout = cfg.idle_timeout, .write_timeout = cfg.idle_timeout});
    if (!channel_) {
        server_.finish(this);
        return;
    }
    channel_->on_input([this] { on_input(); });
    channel_->on_event([this](event::Channel::Event e, const std::string& why) { on_event(e, why); });
    if (cfg.mech_apop) {
        unsigned char rnd[12];
        RAND_bytes(rnd, sizeof(rnd));
        timestamp_ = util::format("<%d.%ld.%s@%s>", static_cast<int>(::getpid()), static_cast<long>(std::time(nullptr)),
                                  util::base64_encode(std::string_view(reinterpret_cast<char*>(rnd), sizeof(rnd))).c_str(),
                                  cfg.hostname.c_str());
    }
    if (cfg.wrappermode) {
        if (!server_.tls()) {
            log::warn("pop3-login: implicit TLS wanted but no TLS context (ssl_cert): rip=%s", rip_.c_str());
            end("no TLS");
            return;
        }
        start_tls();
        return;
    }
    send("+OK " + cfg.greeting + (timestamp_.empty() ? "" : " " + timestamp_));
}

void Pop3Session::send(std::string_view text) {
    std::string line(text);
    line += "\r\n";
    channel_->write(line);
}

std::string Pop3Session::login_fields(const std::string& user, const char* method) const {
    std::string s;
    if (!user.empty()) s += "user=<" + log::log_printable(user) + ">, ";
    if (method) s += std::string("method=") + method + ", ";
    s += "rip=" + rip_ + ", lip=" + lip_;
    if (tls_) s += ", TLS";
    return s;
}

void Pop3Session::end(const char* why) {
    if (state_ == State::kDone) return;
    log_disconnect(why);
    state_ = State::kDone;
    box_.reset();
    server_.finish(this);
}

void Pop3Session::end_after_output(const char* why) {
    if (state_ == State::kDone) return;
    log_disconnect(why);
    state_ = State::kDone;
    box_.reset();
    close_after_output();
}

void Pop3Session::log_disconnect(const char* why) {
    if (box_) {
        log::info("pop3(%s): Disconnected: %s top=%u/%llu, retr=%u/%llu, del=0/%zu, size=%llu",
                  log::log_printable(mail_user_).c_str(), why, top_count_,
                  static_cast<unsigned long long>(top_bytes_), retr_count_,
                  static_cast<unsigned long long>(retr_bytes_), box_->count(),
                  static_cast<unsigned long long>(box_->live_size()));
    } else if (auth_failures_ > 0) {
        const long secs = static_cast<long>(std::chrono::duration_cast<std::chrono::seconds>(
                                                std::chrono::steady_clock::now() - started_).count());
        log::info("pop3-login: Disconnected (auth failed, %d attempts in %ld secs): %s", auth_failures_, secs,
                  login_fields(last_user_, last_method_).c_str());
    } else {
        const long secs = static_cast<long>(std::chrono::duration_cast<std::chrono::seconds>(
                                                std::chrono::steady_clock::now() - started_).count());
        log::info("pop3-login: Disconnected (no auth attempts in %ld secs): %s", secs,
                  login_fields(user_, nullptr).c_str());
    }
}

void Pop3Session::close_after_output() {
    closing_ = true;
    channel_->pause_reading();
    channel_->on_drained([this] { server_.finish(this); });
    if (channel_->output_size() == 0) server_.finish(this);
}

void Pop3Session::on_event(event::Channel::Event event, const std::string& reason) {
    switch (event) {
    case event::Channel::Event::kTlsReady:
        tls_ = true;
        secured_ = true;
        if (state_ == State::kAuthWait) {
            state_ = State::kAuthorization;
            channel_->resume_reading();
            return;
        }
        if (server_.config().wrappermode && state_ == State::kAuthorization && user_.empty() && auth_failures_ == 0)
            send("+OK " + server_.config().greeting + (timestamp_.empty() ? "" : " " + timestamp_));
        return;
    case event::Channel::Event::kTlsFailed:
        log::info("pop3-login: Disconnected (TLS handshaking: %s): %s", reason.c_str(),
                  login_fields("", nullptr).c_str());
        state_ = State::kDone;
        server_.finish(this);
        return;
    case event::Channel::Event::kTimeout:
        if (closing_) {
            server_.finish(this);
            return;
        }
        // A read timeout leaves writing on: the reply goes out before the
        // close. Output still queued means the client stopped reading.
        if (channel_->output_size() > 0) {
            end("Disconnected for inactivity");
            return;
        }
        send("-ERR Disconnected for inactivity.");
        end_after_output("Disconnected for inactivity");
        return;
    case event::Channel::Event::kEof:
    case event::Channel::Event::kError:
        if (closing_) {
            server_.finish(this);
            return;
        }
        end("Connection closed");
        return;
    }
}

void Pop3Session::on_input() {
    event::Channel::Line line;
    while (!closing_ && state_ != State::kAuthWait && state_ != State::kDone) {
        if (channel_->output_size() > kMaxQueuedOutput) {
            wait_for_drain();
            return;
        }
        if (!channel_->read_line(&line)) break;
        if (!line.complete) {
            channel_->skip_line();
            bad_command("Input line too long.");
            continue;
        }
        handle_line(line.text);
    }
}

void Pop3Session::wait_for_drain() {
    channel_->pause_reading();
    channel_->on_drained([this] {
        channel_->on_drained(nullptr);
        if (closing_ || state_ == State::kDone || state_ == State::kAuthWait) return;
        channel_->resume_reading();  // runs on_input for what is buffered
    });
}

void Pop3Session::bad_command(const std::string& text) {
    send("-ERR " + text);
    if (++bad_commands_ >= kMaxBadCommands) {
        send("-ERR Too many bad commands.");
        end_after_output("Too many bad commands");
    }
}

void Pop3Session::handle_line(const std::string& line) {
    if (state_ == State::kSaslPlain || state_ == State::kSaslLoginUser || state_ == State::kSaslLoginPass) {
        sasl_response(line);
        return;
    }
    auto parsed = parse_pop3_command(line);
    if (!parsed.command) {
        bad_command(parsed.error);
        return;
    }
    if (state_ == State::kAuthorization)
        authorization(*parsed.command);
    else if (state_ == State::kTransaction)
        transaction(*parsed.command);
}

void Pop3Session::capa() {
    const auto& cfg = server_.config();
    std::string out = "+OK\r\nCAPA\r\nTOP\r\nUIDL\r\nRESP-CODES\r\nPIPELINING\r\nAUTH-RESP-CODE\r\n";
    if (state_ == State::kAuthorization) {
        if (server_.tls() && !tls_) out += "STLS\r\n";
        if (plaintext_allowed()) {
            out += "USER\r\n";
            std::string sasl = "SASL";
            if (cfg.mech_plain) sasl += " PLAIN";
            if (cfg.mech_login) sasl += " LOGIN";
            out += sasl + "\r\n";
        } else {
            out += "SASL\r\n";
        }
    }
    out += "IMPLEMENTATION mailroom\r\n.\r\n";
    channel_->write(out);
}

bool Pop3Session::plaintext_allowed() const {
    return !server_.config().disable_plaintext_auth || tls_ || secured_;
}

void Pop3Session::start_tls() {
    SSL* ssl = server_.tls()->new_ssl();
    if (!ssl || !channel_->start_tls(ssl, true)) {
        log::warn("pop3-login: cannot start TLS: rip=%s", rip_.c_str());
        end("TLS setup failed");
    }
}

void Pop3Session::authorization(const Pop3Command& cmd) {
    const auto& cfg = server_.config();
    const std::string plaintext_refused =
        "-ERR [AUTH] Plaintext authentication disallowed on non-secure (SSL/TLS) connections.";
    switch (cmd.verb) {
    case Pop3Verb::kCapa: capa(); return;
    case Pop3Verb::kQuit:
        send("+OK Logging out.");
        log_disconnect("Logged out");
        state_ = State::kDone;
        close_after_output();
        return;
    case Pop3Verb::kStls:
        if (!server_.tls()) return bad_command("TLS support isn't enabled.");
        if (tls_) return bad_command("TLS is already active.");
        // The reply goes out in plaintext; the handshake starts once it has
        // (pipelined input after STLS is dropped by the channel).
        send("+OK Begin TLS negotiation now.");
        state_ = State::kAuthWait;
        channel_->pause_reading();
        if (channel_->output_size() == 0) {
            start_tls();
        } else {
            channel_->on_drained([this] {
                channel_->on_drained(nullptr);
                start_tls();
            });
        }
        return;
    case Pop3Verb::kUser:
        if (!plaintext_allowed()) {
            send(plaintext_refused);
            return;
        }
        user_ = cmd.arg;
        send("+OK");
        return;
    case Pop3Verb::kPass: {
        if (!plaintext_allowed()) {
            send(plaintext_refused);
            return;
        }
        if (user_.empty()) return bad_command("No username given.");
        std::string user = std::move(user_);
        user_.clear();
        authenticate(std::move(user), cmd.arg, "PLAIN");
        return;
    }
    case Pop3Verb::kApop:
        if (timestamp_.empty()) return bad_command("APOP is not enabled.");
        apop(cmd);
        return;
    case Pop3Verb::kAuth: {
        if (cmd.arg.empty()) {
            std::string out = "+OK\r\n";
            if (cfg.mech_plain) out += "PLAIN\r\n";
            if (cfg.mech_login) out += "LOGIN\r\n";
            channel_->write(out + ".\r\n");
            return;
        }
        const bool plain = cmd.arg == "PLAIN" && cfg.mech_plain;
        const bool login = cmd.arg == "LOGIN" && cfg.mech_login;
        if (!plain && !login) return bad_command("Unsupported authentication mechanism.");
        if (!plaintext_allowed()) {
            send(plaintext_refused);
            return;
        }
        if (plain) state_ = State::kSaslPlain;
        else state_ = State::kSaslLoginUser;
        if (cmd.has_arg2) {
            sasl_response(cmd.arg2.empty() ? std::string("=") : cmd.arg2);
            return;
        }
        send(plain ? "+ " : "+ VXNlcm5hbWU6");
        return;
    }
    default:
        bad_command("Unknown command.");
        return;
    }
}

void Pop3Session::sasl_response(const std::string& line) {
    if (line == "*") {
        state_ = State::kAuthorization;
        send("-ERR Authentication aborted by client.");
        return;
    }
    auto decoded = line == "=" ? std::optional<std::string>(std::string()) : util::base64_decode(line);
    if (!decoded) {
        state_ = State::kAuthorization;
        bad_command("Invalid base64 data in continued response");
        return;
    }
    if (state_ == State::kSaslPlain) {
        state_ = State::kAuthorization;
        // authzid NUL authcid NUL password
        const auto a = decoded->find('\0');
        const auto b = a == std::string::npos ? std::string::npos : decoded->find('\0', a + 1);
        if (b == std::string::npos) {
            auth_failed("", "PLAIN", true);
            return;
        }
        std::string authz = decoded->substr(0, a);
        std::string authc = decoded->substr(a + 1, b - a - 1);
        if (!authz.empty() && authz != authc) {
            auth_failed(authc, "PLAIN", true);
            return;
        }
        authenticate(std::move(authc), decoded->substr(b + 1), "PLAIN");
        return;
    }
    if (state_ == State::kSaslLoginUser) {
        user_ = *decoded;
        state_ = State::kSaslLoginPass;
        send("+ UGFzc3dvcmQ6");
        return;
    }
    state_ = State::kAuthorization;
    std::string user = std::move(user_);
    user_.clear();
    authenticate(std::move(user), *decoded, "LOGIN");
}

void Pop3Session::authenticate(std::string user, std::string password, const char* method) {
    state_ = State::kAuthWait;
    channel_->pause_reading();
    auth_id_ = server_.authd().request(auth::make_login_request("pop3", user, password),
                                       [this, user, method](auth::AuthResult r) {
                                           auth_id_ = 0;
                                           auth_done(user, method, r);
                                       });
}

void Pop3Session::apop(const Pop3Command& cmd) {
    state_ = State::kAuthWait;
    channel_->pause_reading();
    const std::string user = cmd.arg;
    const std::string digest = util::lowercase(cmd.arg2);
    auth_id_ = server_.authd().request(
        auth::make_pre_request("pop3", user), [this, user, digest](auth::AuthResult r) {
            auth_id_ = 0;
            if (r.kind == auth::AuthResult::Kind::kOk) {
                std::string clear = r.reply.user.clear_passwd;
                if (clear.empty()) {
                    if (auto p = auth::plaintext_of(r.reply.user.passwd)) clear = *p;
                }
                const std::string want = clear.empty() ? std::string() : digest_hex("md5", timestamp_ + clear);
                if (want.empty() || want.size() != digest.size() ||
                    CRYPTO_memcmp(want.data(), digest.data(), want.size()) != 0)
                    r.kind = auth::AuthResult::Kind::kFail;
            }
            // authd's PRE lookup found the user; the digest check failing
            // here has had no failure delay yet.
            auth_done(user, "APOP", r, false);
        });
}

void Pop3Session::auth_done(const std::string& user, const char* method, const auth::AuthResult& result,
                            bool authd_delayed) {
    if (state_ == State::kDone) return;
    if (result.kind == auth::AuthResult::Kind::kFail) {
        auth_failed(user, method, !authd_delayed);
        return;
    }
    state_ = State::kAuthorization;
    channel_->resume_reading();
    last_user_ = user;
    last_method_ = method;
    switch (result.kind) {
    case auth::AuthResult::Kind::kOk:
        login(user, result.reply.user, method);
        return;
    case auth::AuthResult::Kind::kFail:
        return;
    case auth::AuthResult::Kind::kTempFail:
        log::warn("pop3-login: authd: %s: %s", result.reason.c_str(), login_fields(user, method).c_str());
        send("-ERR [SYS/TEMP] Temporary authentication failure.");
        return;
    }
}

void Pop3Session::auth_failed(const std::string& user, const char* method, bool delay) {
    ++auth_failures_;
    last_user_ = user;
    last_method_ = method;
    // Nothing more is read until the answer is out.
    state_ = State::kAuthWait;
    channel_->pause_reading();
    const auto wait = server_.config().failure_delay;
    if (!delay || wait.count() <= 0) {
        auth_failed_reply();
        return;
    }
    if (failure_timer_.empty()) failure_timer_ = event::Timer(server_.loop(), [this] { auth_failed_reply(); });
    failure_timer_.start(wait);
}

void Pop3Session::auth_failed_reply() {
    if (state_ == State::kDone) return;
    send("-ERR [AUTH] Authentication failed.");
    if (auth_failures_ >= kMaxAuthFailures) {
        end_after_output("auth failed");  // Disconnected (auth failed, 3 attempts in N secs)
        return;
    }
    state_ = State::kAuthorization;
    channel_->resume_reading();
}

void Pop3Session::login(const std::string& typed_name, const auth::AuthUser& user, const char* method) {
    // The name authd canonicalised (auth_username_format, a lookup's own
    // spelling), not what the client typed: the mailbox, the user+IP
    // count and the log are the same user however it was spelled.
    const std::string login_name = !user.address.empty()    ? user.address
                                   : !user.username.empty() ? user.username
                                                            : typed_name;
    last_user_ = login_name;
    mail_user_ = login_name;
    // The mail part never runs as root (docs/mail-access.md): a root
    // process refuses until the per-uid hand-off exists.
    if (::geteuid() == 0) {
        log::error("pop3(%s): refusing to read mail as root (uid=%ld): run pop3d unprivileged",
                   log::log_printable(login_name).c_str(), user.uid ? static_cast<long>(*user.uid) : -1L);
        send("-ERR [SYS/PERM] Internal error occurred. Refer to server log for more information.");
        end_after_output("Internal error");
        return;
    }
    // Counted before the mailbox is touched; the count may come from anvil.
    state_ = State::kAuthWait;
    channel_->pause_reading();
    std::weak_ptr<int> alive = life_;
    Pop3Server* server = &server_;
    server_.userip_connect(login_name, rip_, [this, alive, server, login_name, user, method](
                                                 bool admitted, Pop3Server::UseripTicket ticket) {
        if (alive.expired() || state_ == State::kDone) {
            server->userip_release(ticket);
            return;
        }
        if (!admitted) {
            const int max = server_.config().max_userip;
            send(util::format("-ERR [IN-USE] Maximum number of connections from user+IP exceeded "
                              "(mail_max_userip_connections=%d)", max));
            log::info("pop3-login: Maximum number of connections from user+IP exceeded "
                      "(mail_max_userip_connections=%d): %s", max, login_fields(login_name, method).c_str());
            state_ = State::kDone;
            close_after_output();
            return;
        }
        userip_ticket_ = std::move(ticket);
        open_mailbox(login_name, user, method);
    });
}

void Pop3Session::open_mailbox(const std::string& login_name, const auth::AuthUser& user, const char* method) {
    const auto& cfg = server_.config();
    std::string maildir;
    std::string mbox, index_dir;
    if (!user.maildir.empty()) {
        auto abs = access::resolve_maildir(user.maildir, user.home);
        if (!abs) {
            log::error("pop3(%s): %s", log::log_printable(login_name).c_str(), abs.error().message.c_str());
            send("-ERR [SYS/TEMP] Internal error occurred. Refer to server log for more information.");
            end_after_output("Internal error");
            return;
        }
        maildir = *abs;
    } else {
        auto loc = access::parse_mail_location(cfg.mail_location, access::MailUser{login_name, user.home});
        if (!loc) {
            log::error("pop3(%s): %s", log::log_printable(login_name).c_str(), loc.error().message.c_str());
            send("-ERR [SYS/TEMP] Internal error occurred. Refer to server log for more information.");
            end_after_output("Internal error");
            return;
        }
        if (loc->format == access::MailFormat::kMbox) {
            mbox = loc->inbox;
            index_dir = loc->root + "/.imap/INBOX";
        }
        maildir = loc->root;
    }
    log::info("pop3-login: Login: %s", login_fields(login_name, method).c_str());
    Pop3Mailbox::OpenError why = Pop3Mailbox::OpenError::kNone;
    std::string reason;
    const auto now = static_cast<std::uint32_t>(std::time(nullptr));
    box_ = mbox.empty() ? Pop3Mailbox::open(maildir, cfg.uidl_format, now, &why, &reason)
                        : Pop3Mailbox::open_mbox(mbox, index_dir, cfg.uidl_format, now, &why, &reason);
    if (!box_) {
        if (why == Pop3Mailbox::OpenError::kInUse) {
            log::info("pop3(%s): Couldn't open INBOX: %s", log::log_printable(login_name).c_str(), reason.c_str());
            send("-ERR [IN-USE] Couldn't open INBOX: " + reason + ".");
        } else {
            log::error("pop3(%s): Couldn't open INBOX: %s", log::log_printable(login_name).c_str(), reason.c_str());
            send("-ERR [SYS/TEMP] Couldn't open INBOX: Internal error occurred. Refer to server log for more information.");
        }
        state_ = State::kDone;
        close_after_output();
        return;
    }
    state_ = State::kTransaction;
    send("+OK Logged in.");
    channel_->resume_reading();
}

bool Pop3Session::message_index(const Pop3Command& cmd, std::size_t* index) {
    const std::uint32_t n = *cmd.msg;
    if (n == 0 || n > box_->count() || box_->message(n - 1).deleted) {
        send(util::format("-ERR There's no message %u.", n));
        return false;
    }
    *index = n - 1;
    return true;
}

void Pop3Session::transaction(const Pop3Command& cmd) {
    std::size_t i = 0;
    switch (cmd.verb) {
    case Pop3Verb::kCapa: capa(); return;
    case Pop3Verb::kNoop: send("+OK"); return;
    case Pop3Verb::kStat:
        send(util::format("+OK %zu %llu", box_->live_count(), static_cast<unsigned long long>(box_->live_size())));
        return;
    case Pop3Verb::kList:
    case Pop3Verb::kUidl: {
        const bool list = cmd.verb == Pop3Verb::kList;
        auto item = [&](std::size_t k) {
            const auto& m = box_->message(k);
            return list ? util::format("%zu %llu", k + 1, static_cast<unsigned long long>(m.size))
                        : util::format("%zu %s", k + 1, m.uidl.c_str());
        };
        if (cmd.msg) {
            if (message_index(cmd, &i)) send("+OK " + item(i));
            return;
        }
        std::string out = list ? util::format("+OK %zu messages:\r\n", box_->live_count()) : std::string("+OK\r\n");
        for (std::size_t k = 0; k < box_->count(); ++k) {
            if (box_->message(k).deleted) continue;
            out += item(k);
            out += "\r\n";
        }
        out += ".\r\n";
        channel_->write(out);
        return;
    }
    case Pop3Verb::kRetr:
    case Pop3Verb::kTop: {
        if (!message_index(cmd, &i)) return;
        const bool retr = cmd.verb == Pop3Verb::kRetr;
        std::string body;
        {
            // The file's text is dropped once encoded; the reply goes out
            // in three writes rather than one more copy of the message.
            auto text = box_->read(i);
            if (!text) {
                log::error("pop3(%s): %s", log::log_printable(mail_user_).c_str(), text.error().message.c_str());
                send("-ERR [SYS/TEMP] Message no longer exists or can't be read.");
                return;
            }
            body = pop3_encode_message(*text, retr ? -1 : static_cast<long>(cmd.lines));
        }
        channel_->write(retr ? util::format("+OK %llu octets\r\n", static_cast<unsigned long long>(box_->message(i).size))
                             : std::string("+OK\r\n"));
        channel_->write(body);
        channel_->write(".\r\n");
        if (retr) {
            ++retr_count_;
            retr_bytes_ += body.size();
        } else {
            ++top_count_;
            top_bytes_ += body.size();
        }
        return;
    }
    case Pop3Verb::kDele:
        if (!message_index(cmd, &i)) return;
        box_->mark_deleted(i);
        send("+OK Marked to be deleted.");
        return;
    case Pop3Verb::kRset:
        box_->reset();
        send("+OK");
        return;
    case Pop3Verb::kQuit: {
        const std::size_t total = box_->count();
        std::uint64_t total_size = 0;
        for (std::size_t k = 0; k < total; ++k) total_size += box_->message(k).size;
        auto stats = box_->commit();
        server_.userip_release(userip_ticket_);  // before the client hears it is out
        userip_ticket_ = Pop3Server::UseripTicket{};
        if (!stats) {
            log::error("pop3(%s): %s", log::log_printable(mail_user_).c_str(), stats.error().message.c_str());
            send("-ERR [SYS/TEMP] Couldn't update mailbox: Internal error occurred.");
        } else {
            send(stats->deleted > 0 ? "+OK Logging out, messages deleted." : "+OK Logging out.");
            log::info("pop3(%s): Disconnected: Logged out top=%u/%llu, retr=%u/%llu, del=%u/%zu, size=%llu",
                      log::log_printable(mail_user_).c_str(), top_count_, static_cast<unsigned long long>(top_bytes_),
                      retr_count_, static_cast<unsigned long long>(retr_bytes_), stats->deleted, total,
                      static_cast<unsigned long long>(total_size));
        }
        box_.reset();
        state_ = State::kDone;
        close_after_output();
        return;
    }
    default:
        bad_command("Unknown command.");
        return;
    }
}

}  // namespace mailroom::pop3d
