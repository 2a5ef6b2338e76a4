// handed_sessions.h - a login process's sessions that went to mail processes.
//
// Summary
//   Once authd accepted a user, pop3d's and imapd's login part gives the
//   session to a mail process with HandedSessions::hand_off() (the client's
//   descriptor, or for TLS the clear-text end of a TlsProxy, and a Handoff
//   record, through the broker: mail_process.h). From then on it keeps, per
//   session, what it still counts: the user+IP ticket (login.h) and the
//   client's Connection, whose descriptor number stays taken so that the
//   server skeleton goes on counting the session. Both are let go when the
//   mail process reports the session over (and the proxy, when there is
//   one, has finished), or when the broker exits without having reported
//   it (its mail processes exit with it).
//
// Description
//   A plain session's socket belongs to the mail process after the hand-off:
//   the login process's copy of the descriptor is replaced with /dev/null
//   (dup3), so no data of the client can be read or written here, but the
//   number is not reused by a new connection while the Connection lives.
//   A TLS session's socket stays here, read and written by the proxy; the
//   proxy is freed after its last callback, before the socket.
//
// Thread safety
//   Loop thread only.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>

#include "lib/access/handoff.h"
#include "lib/access/login.h"
#include "lib/access/mail_process.h"
#include "lib/event/channel.h"
#include "lib/event/event_loop.h"
#include "lib/server/server.h"
#include "lib/util/result.h"

namespace mailroom::access {

class HandedSessions {
public:
    HandedSessions(event::Loop& loop, UseripLimiter& userip) : loop_(loop), userip_(userip) {}
    ~HandedSessions();
    HandedSessions(const HandedSessions&) = delete;
    HandedSessions& operator=(const HandedSessions&) = delete;

    // The mail processes sessions go to (null: sessions stay in this
    // process, as in the unit tests).
    void attach(MailProcesses* mail);
    MailProcesses* mail() const { return mail_; }

    // What a login session gives up when it is handed over.
    struct Session {
        event::Channel::Ptr* channel;    // the client's channel (TLS or plain)
        server::Connection* conn;        // the client's socket
        UseripLimiter::Ticket* ticket;   // its user+IP count
    };
    // Sends the session (`handoff` without its id, which is given here) to
    // a mail process; `sending` runs just before (the login log line). On
    // success the channel, connection and ticket are taken. An error leaves
    // them with the session: a permanent one when a privileged broker would
    // refuse the user's uid/gid, else temporary.
    Status hand_off(Handoff handoff, Session session, const std::function<void()>& sending = nullptr);

    // The mail process reported session `id` over, or its proxy finished.
    void done(std::uint64_t id, bool from_proxy);
    // The broker exited: the sessions it never reported are over.
    void broker_gone();
    std::size_t size() const { return handed_.size(); }

private:
    struct Handed {
        UseripLimiter::Ticket ticket;
        server::Connection conn;
        std::unique_ptr<TlsProxy> proxy;
        bool reported = false;  // the mail process said it is over
    };
    void report(std::map<std::uint64_t, Handed>::iterator it);

    event::Loop& loop_;
    UseripLimiter& userip_;
    MailProcesses* mail_ = nullptr;
    std::uint64_t ids_ = 0;
    std::map<std::uint64_t, Handed> handed_;
};

}  // namespace mailroom::access
