// handed_sessions.cc - see handed_sessions.h.
#include "lib/access/handed_sessions.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

namespace mailroom::access {

HandedSessions::~HandedSessions() = default;

void HandedSessions::attach(MailProcesses* mail) {
    mail_ = mail;
    if (mail_)
        mail_->attach(loop_, [this](std::uint64_t id) { done(id, false); }, [this] { broker_gone(); });
}

Status HandedSessions::hand_off(Handoff h, Session s, const std::function<void()>& sending) {
    std::string why;
    if (mail_ == nullptr) return make_temp_error("no mail processes");
    if (mail_->privileged() && !MailProcesses::runnable_uid(h.user, &why)) return make_error(why);
    h.id = ++ids_;
    h.user.passwd.clear();
    h.user.clear_passwd.clear();
    util::UniqueFd ours, theirs;
    if (h.tls) {
        int sv[2];
        if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
            return make_sys_error(std::string("socketpair: ") + std::strerror(errno), errno, ErrorKind::kTemporary);
        ours.reset(sv[0]);
        theirs.reset(sv[1]);
    }
    if (sending) sending();
    if (auto st = mail_->handoff(h, h.tls ? theirs.get() : s.conn->fd()); !st) {
        Error e = st.error();
        e.kind = ErrorKind::kTemporary;
        return e;
    }
    theirs.reset();
    event::Channel::Ptr channel = std::move(*s.channel);
    channel->on_drained(nullptr);
    Handed& handed = handed_[h.id];
    handed.ticket = std::exchange(*s.ticket, UseripLimiter::Ticket{});
    if (h.tls) {
        const std::uint64_t id = h.id;
        handed.proxy = std::make_unique<TlsProxy>(std::move(channel), std::move(ours), loop_,
                                                  [this, id] { done(id, true); });
    } else {
        channel.reset();
        // The client's socket is the mail process's now; the descriptor
        // number stays taken (by /dev/null) so that the Connection, and
        // with it this process's count of sessions, lives until the mail
        // process reports the session over.
        util::UniqueFd null(::open("/dev/null", O_RDONLY | O_CLOEXEC));
        if (!null.valid() || ::dup3(null.get(), s.conn->fd(), O_CLOEXEC) < 0) s.conn->close();
    }
    handed.conn = std::move(*s.conn);
    return ok_status();
}

void HandedSessions::report(std::map<std::uint64_t, Handed>::iterator it) {
    Handed& h = it->second;
    if (!h.reported) {
        h.reported = true;
        userip_.release(h.ticket);
        h.ticket = UseripLimiter::Ticket{};
        if (!h.proxy) h.conn.close();
    }
    if (!h.proxy) handed_.erase(it);
}

void HandedSessions::done(std::uint64_t id, bool from_proxy) {
    auto it = handed_.find(id);
    if (it == handed_.end()) return;
    Handed& h = it->second;
    if (from_proxy) {
        // Freed after the proxy's callback, the proxy (and its channel on
        // the client's socket) before the socket itself: closing the socket
        // now would let a new client reuse its number under the channel.
        struct Gone {
            server::Connection conn;
            std::unique_ptr<TlsProxy> proxy;  // destroyed first
        };
        loop_.release_later(std::make_unique<Gone>(Gone{std::move(h.conn), std::move(h.proxy)}));
        if (h.reported) handed_.erase(it);
        return;
    }
    report(it);
}

void HandedSessions::broker_gone() {
    // Its mail processes exit with it (they die with their parent): what
    // they served is over, and a proxy sees its clear side close.
    for (auto it = handed_.begin(); it != handed_.end();) {
        auto next = std::next(it);
        report(it);
        it = next;
    }
}

}  // namespace mailroom::access
