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
//   (as Dovecot; lib/access/login.h). Twenty bad commands, or the idle
//   timeout, end the session. Log lines are Dovecot's (docs/mail-access.md).
//
//   In a login process with mail processes (Pop3Server::mail_processes()),
//   an accepted login is handed over (lib/access/mail_process.h) and the
//   session ends here; the mail process makes a Pop3Session from the
//   hand-off, which opens the mailbox and goes on in TRANSACTION. Without
//   mail processes (the unit tests) the mail part runs in this process.
//
// Thread safety
//   Loop thread only.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "lib/access/login.h"
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
    // In a mail process: the session a login process handed over, in the
    // TRANSACTION state once the mailbox is open; done() when it is over.
    Pop3Session(Pop3Server& server, access::Handoff handoff, util::UniqueFd fd, std::function<void()> done);
    ~Pop3Session();
    Pop3Session(const Pop3Session&) = delete;
    Pop3Session& operator=(const Pop3Session&) = delete;

    void start();

private:
    enum class State { kAuthorization, kAuthWait, kSasl, kTransaction, kUpdate, kDone };

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
    void wait_for_auth();  // reading paused until authd (and the failure delay) answered
    // authd's answer (after the failure delay when it is a failure); the
    // third failure ends the session.
    void auth_done(access::LoginAuth::Outcome outcome, const char* method);
    void login(const std::string& login_name, const auth::AuthUser& user, const char* method);
    void open_mailbox(const std::string& login_name, const auth::AuthUser& user, const char* method);
    void mailbox_opened(const std::string& login_name, std::shared_ptr<Pop3Mailbox> box, Pop3Mailbox::OpenError why,
                        const std::string& reason);
    void updated(Result<UpdateStats> stats);  // QUIT's UPDATE is done
    void send_transfer();  // the next pieces of a RETR or TOP, as the client takes them
    // Gives the session to a mail process (lib/access/mail_process.h).
    void hand_off(const std::string& login_name, const auth::AuthUser& user, const char* method);
    void start_mail();      // a mail process's start()
    event::Channel::Options channel_options() const;
    bool attach_channel(event::Channel::Ptr channel);  // false: the session is over
    void report_done();     // tells the login process the session is over (once)
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
    access::LoginPeer peer_;  // addresses, TLS, trusted
    std::string timestamp_;   // APOP's greeting challenge, when offered
    std::string user_;        // from USER
    access::LoginAuth auth_;
    std::optional<access::SaslExchange> sasl_;
    int bad_commands_ = 0;
    std::chrono::steady_clock::time_point started_;
    // The mail part.
    std::string mail_user_;
    access::UseripLimiter::Ticket userip_ticket_;
    std::shared_ptr<Pop3Mailbox> box_;  // shared with the UPDATE work off the loop
    bool client_gone_ = false;          // the client closed during UPDATE
    struct Transfer {
        Pop3Mailbox::Reader reader;
        Pop3Encoder encoder;
        bool retr = true;
        std::uint64_t bytes = 0;  // encoded, for the Disconnected line
        bool waited = false;      // for the client to take some of it
    };
    std::unique_ptr<Transfer> transfer_;  // a RETR or TOP being sent
    std::uint32_t top_count_ = 0, retr_count_ = 0;
    std::uint64_t top_bytes_ = 0, retr_bytes_ = 0;
    bool closing_ = false;
    // A mail process's session: what the login process handed over.
    std::optional<access::Handoff> handoff_;
    util::UniqueFd handoff_fd_;
    std::function<void()> done_;
    std::string carry_;  // handed-over input without its line end yet
    std::shared_ptr<int> life_ = std::make_shared<int>(0);  // for callbacks that may outlive the session
};

}  // namespace mailroom::pop3d
