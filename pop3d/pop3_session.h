// pop3_session.h - one POP3 client on the event loop (see pop3_server.h).
//
// Summary
//   States as RFC 1939: AUTHORIZATION (greeting, CAPA, STLS, USER/PASS,
//   APOP, AUTH), then TRANSACTION on a Pop3Mailbox once authd accepted the
//   user, then UPDATE at QUIT. Input is read line by line with a bounded
//   length (kMaxPop3Line); reading pauses while authd answers, and while
//   more than 256 KiB of replies wait for the client. Replies are
//   CRLF-terminated; message text is dot-stuffed (pop3_mailbox.h).
//
// Description
//   Plaintext credentials (USER/PASS, AUTH PLAIN/LOGIN) are refused when
//   disable_plaintext_auth is set, unless the connection is under TLS,
//   comes from login_trusted_networks, or from the server's own address
//   (as Dovecot). Twenty bad commands, or the idle timeout, end the
//   session. Log lines are Dovecot's (docs/mail-access.md).
//
// Thread safety
//   Loop thread only.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "lib/auth/auth_client.h"
#include "lib/event/event_loop.h"
#include "lib/event/channel.h"
#include "lib/server/server.h"
#include "pop3d/pop3_command.h"
#include "pop3d/pop3_mailbox.h"
#include "pop3d/pop3_server.h"

namespace mailroom::pop3d {

class Pop3Session {
public:
    Pop3Session(Pop3Server& server, server::Connection conn);
    ~Pop3Session();
    Pop3Session(const Pop3Session&) = delete;
    Pop3Session& operator=(const Pop3Session&) = delete;

    void start();

private:
    enum class State { kAuthorization, kAuthWait, kSaslPlain, kSaslLoginUser, kSaslLoginPass, kTransaction, kDone };

    void on_input();
    void wait_for_drain();  // reading paused until the queued replies are sent
    void on_event(event::Channel::Event event, const std::string& reason);
    void handle_line(const std::string& line);
    void authorization(const Pop3Command& cmd);
    void transaction(const Pop3Command& cmd);
    void sasl_response(const std::string& line);
    void capa();
    void start_tls();
    bool plaintext_allowed() const;
    void authenticate(std::string user, std::string password, const char* method);
    void apop(const Pop3Command& cmd);
    void auth_done(const std::string& user, const char* method, const auth::AuthResult& result,
                   bool authd_delayed = true);
    // Counts a failed authentication and answers it after the failure
    // delay (at once when authd already waited); the third ends the session.
    void auth_failed(const std::string& user, const char* method, bool delay);
    void auth_failed_reply();
    void login(const std::string& typed_name, const auth::AuthUser& user, const char* method);
    void open_mailbox(const std::string& login_name, const auth::AuthUser& user, const char* method);
    bool message_index(const Pop3Command& cmd, std::size_t* index);
    void send(std::string_view text);  // adds CRLF
    void bad_command(const std::string& text);
    void close_after_output();
    void end(const char* why);             // logs, then ends the session now
    void end_after_output(const char* why);  // logs, ends once queued replies are sent
    void log_disconnect(const char* why);  // Dovecot's Disconnected line
    std::string login_fields(const std::string& user, const char* method) const;

    Pop3Server& server_;
    server::Connection conn_;
    event::Channel::Ptr channel_;
    State state_ = State::kAuthorization;
    std::string rip_, lip_;
    bool tls_ = false;
    bool secured_ = false;  // trusted network or local address
    std::string timestamp_;  // APOP's greeting challenge, when offered
    std::string user_;       // from USER
    std::string last_user_;  // for the log
    const char* last_method_ = nullptr;
    int auth_failures_ = 0;
    event::Timer failure_timer_;
    int bad_commands_ = 0;
    std::uint64_t auth_id_ = 0;
    std::chrono::steady_clock::time_point started_;
    // The mail part.
    std::string mail_user_;
    Pop3Server::UseripTicket userip_ticket_;
    std::unique_ptr<Pop3Mailbox> box_;
    std::uint32_t top_count_ = 0, retr_count_ = 0;
    std::uint64_t top_bytes_ = 0, retr_bytes_ = 0;
    bool closing_ = false;
    std::shared_ptr<int> life_ = std::make_shared<int>(0);  // for callbacks that may outlive the session
};

}  // namespace mailroom::pop3d
