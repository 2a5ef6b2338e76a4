// pop3_session.cc - see pop3_session.h.
#include "pop3d/pop3_session.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/rand.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <utility>

#include "lib/log/log.h"
#include "lib/util/base64.h"
#include "lib/util/strings.h"
#include "pop3d/pop3_server.h"

namespace mailroom::pop3d {
namespace {

constexpr int kMaxBadCommands = 20;
// Replies queued for a client that does not read them: above this, input
// is not read until the queue has drained, so pipelined CAPA or RETR
// commands cannot grow it without bound.
constexpr std::size_t kMaxQueuedOutput = 256 * 1024;

}  // namespace

Pop3Session::Pop3Session(Pop3Server& server, server::Connection conn)
    : server_(server),
      conn_(std::move(conn)),
      auth_(server.loop(), server.authd(), server.config().login),
      started_(std::chrono::steady_clock::now()) {}

Pop3Session::Pop3Session(Pop3Server& server, access::Handoff handoff, util::UniqueFd fd, std::function<void()> done)
    : server_(server),
      auth_(server.loop(), server.authd(), server.config().login),
      started_(std::chrono::steady_clock::now()),
      handoff_(std::move(handoff)),
      handoff_fd_(std::move(fd)),
      done_(std::move(done)) {}

Pop3Session::~Pop3Session() {
    server_.userip().release(userip_ticket_);
    report_done();
}

void Pop3Session::report_done() {
    if (auto done = std::exchange(done_, nullptr)) done();
}

event::Channel::Options Pop3Session::channel_options() const {
    const auto idle = server_.config().idle_timeout;
    return {.max_line = kMaxPop3Line, .max_input = 64 * 1024, .read_timeout = idle, .write_timeout = idle};
}

bool Pop3Session::attach_channel(event::Channel::Ptr channel) {
    channel_ = std::move(channel);
    if (!channel_) {
        server_.finish(this);
        return false;
    }
    channel_->on_input([this] { on_input(); });
    channel_->on_event([this](event::Channel::Event e, const std::string& why) { on_event(e, why); });
    return true;
}

void Pop3Session::start_mail() {
    access::Handoff& h = *handoff_;
    peer_ = access::LoginPeer::of(h);
    mail_user_ = h.login_name;
    carry_ = std::move(h.state);  // client input the login process had read past the login
    if (!attach_channel(event::Channel::create(server_.loop(), std::move(handoff_fd_), channel_options()))) return;
    channel_->pause_reading();
    const char* method = h.method == "APOP" ? "APOP" : h.method == "LOGIN" ? "LOGIN" : "PLAIN";
    open_mailbox(h.login_name, h.user, method);
}

void Pop3Session::start() {
    if (handoff_) return start_mail();
    const auto& cfg = server_.config();
    peer_ = access::LoginPeer::of(conn_.fd(), cfg.login);
    if (!attach_channel(event::Channel::create(server_.loop(), conn_.fd(), channel_options()))) return;
    if (cfg.login.mech_apop) {
        unsigned char rnd[12];
        RAND_bytes(rnd, sizeof(rnd));
        timestamp_ = util::format("<%d.%ld.%s@%s>", static_cast<int>(::getpid()), static_cast<long>(std::time(nullptr)),
                                  util::base64_encode(std::string_view(reinterpret_cast<char*>(rnd), sizeof(rnd))).c_str(),
                                  cfg.login.hostname.c_str());
    }
    if (cfg.wrappermode) {
        if (!server_.tls()) {
            log::warn("pop3-login: implicit TLS wanted but no TLS context (ssl_cert): rip=%s", peer_.rip.c_str());
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
    } else {
        peer_.log_disconnect(auth_.failures(), started_, auth_.failures() > 0 ? auth_.last_user() : user_,
                             auth_.last_method());
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
        peer_.tls = true;
        if (state_ == State::kAuthWait) {
            state_ = State::kAuthorization;
            channel_->resume_reading();
            return;
        }
        if (server_.config().wrappermode && state_ == State::kAuthorization && user_.empty() && auth_.failures() == 0)
            send("+OK " + server_.config().greeting + (timestamp_.empty() ? "" : " " + timestamp_));
        return;
    case event::Channel::Event::kTlsFailed:
        log::info("pop3-login: Disconnected (TLS handshaking: %s): %s", reason.c_str(),
                  peer_.fields("", nullptr).c_str());
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
        if (state_ == State::kUpdate) {
            client_gone_ = true;  // updated() ends the session
            return;
        }
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
    while (!closing_ && !transfer_ && state_ != State::kAuthWait && state_ != State::kUpdate &&
           state_ != State::kDone) {
        if (channel_->output_size() > kMaxQueuedOutput) {
            wait_for_drain();
            return;
        }
        if (!carry_.empty()) {
            // Input handed over with the session comes first.
            const auto nl = carry_.find('\n');
            if (nl != std::string::npos) {
                std::string text = carry_.substr(0, nl);
                carry_.erase(0, nl + 1);
                if (!text.empty() && text.back() == '\r') text.pop_back();
                handle_line(text);
                continue;
            }
            if (!channel_->read_line(&line)) break;
            line.text = std::exchange(carry_, std::string()) + line.text;
            if (line.text.size() > kMaxPop3Line) line.complete = false;
        } else if (!channel_->read_line(&line)) {
            break;
        }
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
        if (closing_ || transfer_ || state_ == State::kDone || state_ == State::kAuthWait ||
            state_ == State::kUpdate)
            return;
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
    if (state_ == State::kSasl) {
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
        if (server_.tls() && !peer_.tls) out += "STLS\r\n";
        if (plaintext_allowed()) {
            out += "USER\r\n";
            std::string sasl = "SASL";
            if (cfg.login.mech_plain) sasl += " PLAIN";
            if (cfg.login.mech_login) sasl += " LOGIN";
            out += sasl + "\r\n";
        } else {
            out += "SASL\r\n";
        }
    }
    out += "IMPLEMENTATION mailroom\r\n.\r\n";
    channel_->write(out);
}

bool Pop3Session::plaintext_allowed() const {
    return peer_.plaintext_allowed(server_.config().login);
}

void Pop3Session::start_tls() {
    SSL* ssl = server_.tls()->new_ssl();
    if (!ssl || !channel_->start_tls(ssl, true)) {
        log::warn("pop3-login: cannot start TLS: rip=%s", peer_.rip.c_str());
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
        if (peer_.tls) return bad_command("TLS is already active.");
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
        wait_for_auth();
        auth_.password(user, cmd.arg, "PLAIN", [this](access::LoginAuth::Outcome o) { auth_done(std::move(o), "PLAIN"); });
        return;
    }
    case Pop3Verb::kApop:
        if (timestamp_.empty()) return bad_command("APOP is not enabled.");
        wait_for_auth();
        auth_.apop(cmd.arg, timestamp_, util::lowercase(cmd.arg2),
                   [this](access::LoginAuth::Outcome o) { auth_done(std::move(o), "APOP"); });
        return;
    case Pop3Verb::kAuth: {
        const auto& login = cfg.login;
        if (cmd.arg.empty()) {
            std::string out = "+OK\r\n";
            if (login.mech_plain) out += "PLAIN\r\n";
            if (login.mech_login) out += "LOGIN\r\n";
            channel_->write(out + ".\r\n");
            return;
        }
        const bool plain = cmd.arg == "PLAIN" && login.mech_plain;
        const bool login_mech = cmd.arg == "LOGIN" && login.mech_login;
        if (!plain && !login_mech) return bad_command("Unsupported authentication mechanism.");
        if (!plaintext_allowed()) {
            send(plaintext_refused);
            return;
        }
        sasl_.emplace(plain ? access::SaslExchange::Mech::kPlain : access::SaslExchange::Mech::kLogin);
        state_ = State::kSasl;
        if (cmd.has_arg2) {
            sasl_response(cmd.arg2.empty() ? std::string("=") : cmd.arg2);
            return;
        }
        send("+ " + sasl_->first_challenge());
        return;
    }
    default:
        bad_command("Unknown command.");
        return;
    }
}

void Pop3Session::sasl_response(const std::string& line) {
    using Kind = access::SaslExchange::Step::Kind;
    auto step = sasl_->feed(line);
    const char* method = sasl_->method();
    if (step.kind == Kind::kChallenge) {
        send("+ " + step.challenge);
        return;
    }
    sasl_.reset();
    state_ = State::kAuthorization;
    switch (step.kind) {
    case Kind::kChallenge: return;
    case Kind::kAborted: send("-ERR Authentication aborted by client."); return;
    case Kind::kInvalidBase64: bad_command("Invalid base64 data in continued response"); return;
    case Kind::kMalformed:
        wait_for_auth();
        auth_.fail(step.user, method, [this, method](access::LoginAuth::Outcome o) { auth_done(std::move(o), method); });
        return;
    case Kind::kCredentials:
        wait_for_auth();
        auth_.password(step.user, step.password, method,
                       [this, method](access::LoginAuth::Outcome o) { auth_done(std::move(o), method); });
        return;
    }
}

void Pop3Session::wait_for_auth() {
    state_ = State::kAuthWait;
    channel_->pause_reading();
}

void Pop3Session::auth_done(access::LoginAuth::Outcome outcome, const char* method) {
    using Kind = access::LoginAuth::Outcome::Kind;
    if (state_ == State::kDone) return;
    switch (outcome.kind) {
    case Kind::kFail:
        send("-ERR [AUTH] Authentication failed.");
        if (outcome.disconnect) {
            end_after_output("auth failed");  // Disconnected (auth failed, 3 attempts in N secs)
            return;
        }
        break;
    case Kind::kTempFail:
        log::warn("pop3-login: authd: %s: %s", outcome.reason.c_str(),
                  peer_.fields(auth_.last_user(), method).c_str());
        send("-ERR [SYS/TEMP] Temporary authentication failure.");
        break;
    case Kind::kOk:
        state_ = State::kAuthorization;
        channel_->resume_reading();
        login(outcome.login_name, outcome.user, method);
        return;
    }
    state_ = State::kAuthorization;
    channel_->resume_reading();
}

void Pop3Session::login(const std::string& login_name, const auth::AuthUser& user, const char* method) {
    mail_user_ = login_name;
    // The mail part never runs as root (docs/mail-access.md): without mail
    // processes to hand the session to, a root process refuses.
    if (::geteuid() == 0 && !server_.mail_processes()) {
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
    server_.userip().connect(login_name, peer_.rip, [this, alive, server, login_name, user, method](
                                                        bool admitted, access::UseripLimiter::Ticket ticket) {
        if (alive.expired() || state_ == State::kDone) {
            server->userip().release(ticket);
            return;
        }
        if (!admitted) {
            send("-ERR [IN-USE] " + peer_.userip_refused(server_.userip().max(), login_name, method));
            state_ = State::kDone;
            close_after_output();
            return;
        }
        userip_ticket_ = std::move(ticket);
        if (server_.mail_processes())
            hand_off(login_name, user, method);
        else
            open_mailbox(login_name, user, method);
    });
}

void Pop3Session::hand_off(const std::string& login_name, const auth::AuthUser& user, const char* method) {
    // The state: what the client pipelined after the login.
    access::Handoff h = peer_.handoff(login_name, method, user, channel_->read(channel_->input_size()));
    auto st = server_.handed().hand_off(std::move(h), {&channel_, &conn_, &userip_ticket_},
                                        [&] { peer_.log_login(login_name, method); });
    if (!st) {
        log::error("pop3(%s): %s", log::log_printable(login_name).c_str(), st.error().message.c_str());
        send(st.error().temporary()
                 ? "-ERR [SYS/TEMP] Internal error occurred. Refer to server log for more information."
                 : "-ERR [SYS/PERM] Internal error occurred. Refer to server log for more information.");
        end_after_output("Internal error");
        return;
    }
    state_ = State::kDone;
    server_.finish(this);
}

}  // namespace mailroom::pop3d
