// mail_process.h - the per-user mail processes behind a login process
// (docs/mail-access.md), and the TLS proxy in front of them.
//
// Summary
//   MailProcesses::start(), called by a login service's pre_jail_init
//   (before privileges are dropped and before any client is read), forks
//   the service's mail broker. The login process, once authd accepted a
//   user, gives the broker the client's descriptor and a Handoff
//   (handoff.h) with handoff(); the broker passes both on to a mail
//   process for the user's uid/gid, forking one when none has room
//   (sessions_per_process). Each mail process runs an event loop with the
//   protocol's MailSessionStarter for every session it is given; when a
//   session ends, its id comes back to the login process (on_done), which
//   then releases what it counted for it (the user+IP limit); if the
//   broker exits, the login process is told so (on_gone) and lets go of
//   every session not reported yet (handed_sessions.h).
//
// Description
//   Privileged (the broker started as root): a mail process runs with
//   setgroups/setgid/setuid to the record's GID/UID before it reads
//   anything; a record without UID and GID, or with 0 for either, is
//   refused (the client is disconnected, and the session reported done).
//   Unprivileged: mail processes run as the invoking user, one per
//   record UID/GID all the same, so mailbox work stays off the login
//   process's loop in tests too. The broker reads only hand-off messages
//   from its login process (never client input), and exits when the login
//   process goes; mail processes exit once their last session is over
//   and the broker no longer needs them.
//
//   TlsProxy: a TLS session stays in the login process (OpenSSL's state
//   can not be handed over): the mail process gets one end of a socket
//   pair, and the proxy moves clear text between it and the client's
//   TLS channel, with back-pressure both ways, until either side closes.
//
// Thread safety
//   Loop thread only (the login process's); the broker and mail
//   processes are single-threaded processes of their own.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "lib/access/handoff.h"
#include "lib/event/channel.h"
#include "lib/event/event_loop.h"
#include "lib/util/result.h"
#include "lib/util/unique_fd.h"

namespace mailroom::access {

// Runs in a mail process for each session it is given: `fd` is the
// client (or the clear-text end of the TLS proxy). done() once, when the
// session is over.
using MailSessionStarter =
    std::function<void(event::Loop& loop, Handoff handoff, util::UniqueFd fd, std::function<void()> done)>;

struct MailProcessOptions {
    int sessions_per_process = 100;  // sessions one mail process serves at once
    // Descriptors the broker and mail processes must not keep (master's
    // status pipe and listening sockets).
    std::vector<int> close_fds;
};

class MailProcesses {
public:
    ~MailProcesses();
    MailProcesses(const MailProcesses&) = delete;
    MailProcesses& operator=(const MailProcesses&) = delete;

    // Forks the broker; privileged when called as root.
    static Result<std::unique_ptr<MailProcesses>> start(MailProcessOptions options, MailSessionStarter starter);

    bool privileged() const { return privileged_; }
    pid_t broker_pid() const { return broker_; }
    // Once the loop exists: session ids reported done arrive at on_done;
    // on_gone runs once if the broker exits (no report comes after it).
    void attach(event::Loop& loop, std::function<void(std::uint64_t id)> on_done,
                std::function<void()> on_gone = nullptr);
    // Sends a session; the caller then closes its copy of `fd`. An error
    // means the broker is gone (the session stays the caller's).
    Status handoff(const Handoff& handoff, int fd);
    // Whether a privileged broker would accept this record.
    static bool runnable_uid(const auth::AuthUser& user, std::string* why);

private:
    MailProcesses() = default;
    void on_readable();

    util::UniqueFd sock_;
    pid_t broker_ = -1;
    bool privileged_ = false;
    event::FdWatcher watcher_;
    std::function<void(std::uint64_t)> on_done_;
    std::function<void()> on_gone_;
};

class TlsProxy {
public:
    TlsProxy(event::Channel::Ptr tls, util::UniqueFd clear, event::Loop& loop, std::function<void()> done);
    ~TlsProxy();
    TlsProxy(const TlsProxy&) = delete;
    TlsProxy& operator=(const TlsProxy&) = delete;

private:
    void pump(event::Channel& from, event::Channel& to);
    void closed(bool client_side);

    event::Channel::Ptr tls_;
    event::Channel::Ptr clear_;
    std::function<void()> done_;
    bool finishing_ = false;
};

}  // namespace mailroom::access
