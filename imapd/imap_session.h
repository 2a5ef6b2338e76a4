// imap_session.h - one IMAP client on the event loop (see imap_server.h).
//
// Summary
//   States as RFC 3501 section 3: not authenticated (greeting, CAPABILITY,
//   STARTTLS, LOGIN, AUTHENTICATE PLAIN/LOGIN with SASL-IR), authenticated
//   (on the user's access::MailStore), selected (on an access::MailFolder)
//   and logout. Input goes through an ImapFramer (imap_parser.h): lines
//   with a bounded length, literals read raw, "+ OK" sent for synchronising
//   ones; each complete command is parsed and dispatched. Reading pauses
//   while authd answers and while more than 256 KiB of output waits for
//   the client.
//
//   The code is in three files: imap_session.cc (connection, login,
//   IDLE, untagged updates), imap_mailboxes.cc (the authenticated state:
//   LIST, CREATE, SELECT, STATUS, APPEND, ...) and imap_messages.cc (the
//   selected state: FETCH, STORE, SEARCH, COPY, MOVE, EXPUNGE, ...).
//
// Description
//   Changes made by other sessions and deliveries are picked up with
//   MailFolder::sync() after every command except FETCH, STORE and SEARCH
//   (and COPY) by sequence number, where RFC 3501 section 7.4.1 forbids
//   EXPUNGE responses, and sent as untagged EXISTS, RECENT, EXPUNGE (or
//   VANISHED with QRESYNC) and FETCH FLAGS before the tagged reply. While
//   IDLE the folder is checked when inotify reports a change in its new/,
//   cur/ or UID list (folder_watch.h), and every 30 seconds in case an
//   event was missed (once a second where inotify is unavailable); "* OK
//   Still here" goes out every imap_idle_notify_interval.
//
// Thread safety
//   Loop thread only.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "lib/access/login.h"
#include "lib/access/mail_store.h"
#include "lib/auth/auth_client.h"
#include "lib/event/channel.h"
#include "lib/event/event_loop.h"
#include "lib/server/server.h"
#include "imapd/imap_parser.h"
#include "imapd/imap_server.h"

namespace mailroom::imapd {

class ImapSession {
public:
    ImapSession(ImapServer& server, server::Connection conn);
    // In a mail process: a session handed over after its login.
    ImapSession(ImapServer& server, access::Handoff handoff, util::UniqueFd fd, std::function<void()> done);
    ~ImapSession();
    ImapSession(const ImapSession&) = delete;
    ImapSession& operator=(const ImapSession&) = delete;

    void start();

private:
    enum class State { kNotAuth, kAuth, kSelected, kLogout };
    enum class Wait { kNone, kAuthd, kSasl, kIdle, kTls, kOutput };

    // --- imap_session.cc: connection and login
    void on_input();
    bool read_one();  // false: nothing more to do now
    void wait_for_drain();
    void on_event(event::Channel::Event event, const std::string& reason);
    void command(ImapCommand& cmd);
    void send(std::string_view text);  // adds CRLF
    void send_raw(std::string_view bytes);
    void tagged(const std::string& tag, std::string_view text) { send(tag + " " + std::string(text)); }
    void bad(const std::string& tag, std::string_view text);
    std::string capabilities() const;
    bool plaintext_allowed() const { return peer_.plaintext_allowed(server_.config().login); }
    void start_tls();
    void cmd_starttls(const ImapCommand& cmd);
    void cmd_login(const ImapCommand& cmd);
    void cmd_authenticate(const ImapCommand& cmd);
    void sasl_line(const std::string& line);
    void authenticate(const std::string& user, const std::string& password, const char* method);
    void auth_done(access::LoginAuth::Outcome outcome, const char* method);
    void login(const std::string& login_name, const auth::AuthUser& user, const char* method);
    void open_store(const std::string& login_name, const auth::AuthUser& user, const char* method);
    void hand_off(const std::string& login_name, const auth::AuthUser& user, const char* method);
    void start_mail();
    bool attach_channel(event::Channel::Ptr channel);
    // Input: what the login process had read past the login comes first.
    bool next_line(event::Channel::Line* line);
    std::size_t input_available() const { return carry_.size() + channel_->input_size(); }
    std::string take_input(std::size_t max);
    void cmd_idle(const ImapCommand& cmd);
    void idle_line(const std::string& line);
    void idle_check();
    void idle_stop();  // timers and the folder watch off
    void end(const char* why);
    void end_after_output(const char* why);
    void close_after_output();
    void log_disconnect(const char* why);
    // Untagged responses for what changed in the selected folder; false
    // when the folder is gone (the session was ended).
    bool report_changes(bool allow_expunge = true);

    // --- imap_mailboxes.cc: the authenticated state
    bool authenticated_command(ImapCommand& cmd);
    void cmd_select(const ImapCommand& cmd, bool read_only);
    void cmd_create(const ImapCommand& cmd);
    void cmd_delete(const ImapCommand& cmd);
    void cmd_rename(const ImapCommand& cmd);
    void cmd_subscribe(const ImapCommand& cmd, bool on);
    void cmd_list(const ImapCommand& cmd, bool lsub);
    void cmd_status(const ImapCommand& cmd);
    void cmd_append(ImapCommand& cmd);
    void cmd_enable(const ImapCommand& cmd);
    void cmd_quota(const ImapCommand& cmd);
    std::string status_items(const std::string& name, const access::MailboxStatus& st,
                             const std::vector<std::string>& items) const;
    void store_error(const std::string& tag, const Error& e, const char* what);
    // A mailbox name from the client as the store names it (INBOX in any
    // case is INBOX; UTF-8 to modified UTF-7 after ENABLE IMAP4rev2), and a
    // store name for a reply, quoted (UTF-8 again for IMAP4rev2).
    std::string store_name(const std::string& wire) const;
    std::string store_name(const ImapArg& a) const { return store_name(a.value); }
    std::string wire_name(const std::string& name) const;
    void deselect();

    // --- imap_messages.cc: the selected state
    bool selected_command(ImapCommand& cmd);
    void cmd_fetch(ImapCommand& cmd, bool uid);
    void cmd_store(const ImapCommand& cmd, bool uid);
    void cmd_search(const ImapCommand& cmd, bool uid);
    void cmd_sort_thread(const ImapCommand& cmd, bool uid, bool thread);
    void cmd_copy(const ImapCommand& cmd, bool uid, bool move);
    void cmd_expunge(const ImapCommand& cmd, bool uid);
    // The view indexes a sequence set (or UID set) names; false when it
    // is not one (BAD sent).
    bool resolve_set(const std::string& tag, const ImapArg& arg, bool uid, std::vector<std::size_t>* out);
    std::string flags_text(const access::Message& m) const;
    std::string fetch_flags_line(std::size_t index, bool with_uid) const;
    void send_expunges(const std::vector<access::FolderChange>& changes);
    // FETCH runs as a job that writes a bounded amount of output per turn
    // and goes on when the client has read it (reading paused meanwhile).
    struct FetchJob;
    void run_fetch();
    void fetch_one(FetchJob& job, std::size_t index);
    bool write_segment(FetchJob& job);  // false: the front segment is done

    ImapServer& server_;
    server::Connection conn_;
    event::Channel::Ptr channel_;
    ImapFramer framer_;
    State state_ = State::kNotAuth;
    Wait wait_ = Wait::kNone;
    access::LoginPeer peer_;
    access::LoginAuth auth_;
    std::optional<access::SaslExchange> sasl_;
    bool closing_ = false;
    bool done_ = false;
    std::string sasl_tag_;  // LOGIN's or AUTHENTICATE's tag while authd answers
    std::chrono::steady_clock::time_point started_;
    std::uint64_t in_bytes_ = 0, out_bytes_ = 0;
    int bad_commands_ = 0;
    // The mail part.
    std::string mail_user_;
    access::UseripLimiter::Ticket userip_ticket_;
    std::unique_ptr<access::MailStore> store_;
    std::unique_ptr<access::MailFolder> folder_;
    bool condstore_ = false;  // CONDSTORE enabled (ENABLE, SELECT (CONDSTORE), a MODSEQ use)
    bool enabled_condstore_ = false;  // ENABLE CONDSTORE was answered
    bool qresync_ = false;
    bool rev2_ = false;       // ENABLE IMAP4rev2
    bool utf8_ = false;       // ENABLE UTF8=ACCEPT
    std::vector<std::uint32_t> saved_uids_;  // SEARCHRES "$"
    // IDLE.
    std::string idle_tag_;
    event::Timer idle_poll_;
    event::Timer idle_notify_;
    std::uint64_t idle_watch_ = 0;  // FolderWatch subscription while idling, 0 when polling
    bool idle_wake_ = false;        // a check is due soon (the watch fired)
    std::unique_ptr<FetchJob> fetch_job_;
    // A session handed to this mail process.
    std::optional<access::Handoff> handoff_;
    util::UniqueFd handoff_fd_;
    std::function<void()> done_report_;
    std::string carry_;
    std::shared_ptr<int> life_ = std::make_shared<int>(0);
};

}  // namespace mailroom::imapd
