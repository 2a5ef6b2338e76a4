// pop3_session_mail.cc - the mail part of Pop3Session (see pop3_session.h):
// opening the mailbox, the TRANSACTION state, RETR and TOP sent as the
// client takes them, and QUIT's UPDATE.
#include <malloc.h>

#include <charconv>
#include <ctime>
#include <string_view>

#include "lib/access/mail_location.h"
#include "lib/log/log.h"
#include "lib/util/strings.h"
#include "pop3d/pop3_server.h"
#include "pop3d/pop3_session.h"

namespace mailroom::pop3d {
namespace {

// RETR and TOP of a message up to this size read it whole; larger ones
// are sent piece by piece, so a session never holds more than about this.
constexpr std::uint64_t kWholeMessage = 256 * 1024;

}  // namespace

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
    if (!handoff_) peer_.log_login(login_name, method);  // else the login process logged it
    // Opening waits for locks (the UID list's, an mbox's dotlock): off the
    // loop, so the other sessions of this process go on meanwhile.
    struct Opened {
        std::shared_ptr<Pop3Mailbox> box;
        Pop3Mailbox::OpenError why = Pop3Mailbox::OpenError::kNone;
        std::string reason;
    };
    const auto now = static_cast<std::uint32_t>(std::time(nullptr));
    std::function<Opened()> work = [maildir, mbox, index_dir, format = cfg.uidl_format, now] {
        Opened o;
        o.box = mbox.empty() ? Pop3Mailbox::open(maildir, format, now, &o.why, &o.reason)
                             : Pop3Mailbox::open_mbox(mbox, index_dir, format, now, &o.why, &o.reason);
        // Reading the folder and its UID list frees as much as the index
        // keeps; glibc holds such memory in the thread's arena until told.
        ::malloc_trim(0);
        return o;
    };
    std::weak_ptr<int> alive = life_;
    std::function<void(Opened)> done = [this, alive, login_name](Opened o) {
        if (alive.expired() || state_ == State::kDone) return;  // the box (and its lock) goes with `o`
        mailbox_opened(login_name, std::move(o.box), o.why, o.reason);
    };
    state_ = State::kAuthWait;
    channel_->pause_reading();
    if (auto* offload = server_.offload())
        offload->submit_value<Opened>(std::move(work), std::move(done));
    else
        done(work());
}

void Pop3Session::mailbox_opened(const std::string& login_name, std::shared_ptr<Pop3Mailbox> box,
                                 Pop3Mailbox::OpenError why, const std::string& reason) {
    box_ = std::move(box);
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
    if (!carry_.empty()) {
        std::weak_ptr<int> alive = life_;
        server_.loop().defer([this, alive] {
            if (!alive.expired()) on_input();
        });
    }
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
        auto item = [&](std::size_t k, std::string* out) {
            char num[24];
            *out += std::string_view(num, std::to_chars(num, num + sizeof(num), k + 1).ptr - num);
            *out += ' ';
            if (list)
                *out += std::string_view(num, std::to_chars(num, num + sizeof(num), box_->message(k).size).ptr - num);
            else
                box_->append_uidl(k, out);
        };
        if (cmd.msg) {
            if (!message_index(cmd, &i)) return;
            std::string one = "+OK ";
            item(i, &one);
            send(one);
            return;
        }
        std::string out = list ? util::format("+OK %zu messages:\r\n", box_->live_count()) : std::string("+OK\r\n");
        out.reserve(out.size() + box_->count() * (list ? 16 : 24));
        for (std::size_t k = 0; k < box_->count(); ++k) {
            if (box_->message(k).deleted) continue;
            item(k, &out);
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
        const long lines = retr ? -1 : static_cast<long>(cmd.lines);
        const std::string ok =
            retr ? util::format("+OK %llu octets\r\n", static_cast<unsigned long long>(box_->message(i).size))
                 : std::string("+OK\r\n");
        if (box_->message(i).file_size <= kWholeMessage) {
            // Most mail: read and sent whole, which is the fastest.
            auto text = box_->read(i);
            if (!text) {
                log::error("pop3(%s): %s", log::log_printable(mail_user_).c_str(), text.error().message.c_str());
                send("-ERR [SYS/TEMP] Message no longer exists or can't be read.");
                return;
            }
            // The reply in one piece: status line, message, terminator.
            std::string out;
            out.reserve(ok.size() + text->size() + text->size() / 16 + 8);
            out += ok;
            Pop3Encoder enc(lines);
            enc.feed(*text, &out);
            enc.finish(&out);
            const std::size_t body = out.size() - ok.size();
            out += ".\r\n";
            channel_->write(out);
            (retr ? retr_count_ : top_count_) += 1;
            (retr ? retr_bytes_ : top_bytes_) += body;
            return;
        }
        auto reader = box_->open_message(i);
        if (!reader) {
            log::error("pop3(%s): %s", log::log_printable(mail_user_).c_str(), reader.error().message.c_str());
            send("-ERR [SYS/TEMP] Message no longer exists or can't be read.");
            return;
        }
        channel_->write(ok);
        // A large message goes out piece by piece as the client takes it; no
        // command is taken meanwhile (on_input waits for the transfer).
        transfer_ = std::make_unique<Transfer>(
            Transfer{std::move(*reader), Pop3Encoder(lines), retr, 0, false});
        send_transfer();
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
        server_.userip().release(userip_ticket_);  // before the client hears it is out
        userip_ticket_ = access::UseripLimiter::Ticket{};
        // UPDATE (unlinks, renames, maildirsize, an mbox rewritten under
        // its locks) runs off the loop; the session waits for it even if
        // the client goes away meanwhile, so the log tells what was done.
        state_ = State::kUpdate;
        channel_->pause_reading();
        std::shared_ptr<Pop3Mailbox> box = box_;
        std::function<Result<UpdateStats>()> work = [box] { return box->commit(); };
        std::weak_ptr<int> alive = life_;
        std::function<void(Result<UpdateStats>)> done =
            [this, alive](Result<UpdateStats> stats) {
                if (!alive.expired()) updated(std::move(stats));
            };
        if (auto* offload = server_.offload())
            offload->submit_value<Result<UpdateStats>>(std::move(work), std::move(done));
        else
            done(work());
        return;
    }
    default:
        bad_command("Unknown command.");
        return;
    }
}

void Pop3Session::send_transfer() {
    constexpr std::size_t kPiece = 64 * 1024;
    while (transfer_ && channel_->output_size() < 2 * kPiece) {
        std::string raw, out;
        auto more = transfer_->reader.next(kPiece, &raw);
        if (!more) {
            // After "+OK" there is no way to say so: the session ends.
            log::error("pop3(%s): %s", log::log_printable(mail_user_).c_str(), more.error().message.c_str());
            transfer_.reset();
            end("Message can't be read");
            return;
        }
        transfer_->encoder.feed(raw, &out);
        const bool last = !*more || transfer_->encoder.done();
        if (last) {
            transfer_->encoder.finish(&out);
            out += ".\r\n";
        }
        transfer_->bytes += out.size() - (last ? 3 : 0);
        channel_->write(out);
        if (last) {
            if (transfer_->retr) {
                ++retr_count_;
                retr_bytes_ += transfer_->bytes;
            } else {
                ++top_count_;
                top_bytes_ += transfer_->bytes;
            }
            const bool waited = transfer_->waited;
            transfer_.reset();
            if (waited) {
                channel_->on_drained(nullptr);
                channel_->resume_reading();  // runs on_input for what came meanwhile
            }
            return;
        }
    }
    if (transfer_) {
        transfer_->waited = true;
        channel_->on_drained([this] {
            channel_->on_drained(nullptr);
            send_transfer();
        });
    }
}

void Pop3Session::updated(Result<UpdateStats> stats) {
    const std::size_t total = box_->count();
    std::uint64_t total_size = 0;
    for (std::size_t k = 0; k < total; ++k) total_size += box_->message(k).size;
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
    if (client_gone_) {
        server_.finish(this);
        return;
    }
    close_after_output();
}

}  // namespace mailroom::pop3d
