// bounce_dsn.cc - see bounce_dsn.h.
#include "bounce/bounce_dsn.h"

#include <cctype>
#include <ctime>

#include "lib/address/address.h"
#include "lib/util/strings.h"

namespace mailroom::bounce {

namespace {

constexpr std::size_t kMaxLine = 998;  // RFC 5322 line limit, without CRLF

bool is_double_bounce_sender(std::string_view sender, const NoticeSettings& s) {
    if (s.double_bounce_sender.empty() || sender.empty()) return false;
    if (util::iequals(sender, s.double_bounce_sender)) return true;
    if (!address::split(s.double_bounce_sender).has_at && !s.myorigin.empty())
        return util::iequals(sender, s.double_bounce_sender + "@" + s.myorigin);
    return false;
}

// "1 hour", "3 days": the largest unit that divides evenly (at least a minute).
std::string duration_text(long long seconds) {
    struct Unit {
        long long size;
        const char* name;
    };
    for (Unit u : {Unit{86400, "day"}, Unit{3600, "hour"}, Unit{60, "minute"}}) {
        if (seconds >= u.size && seconds % u.size == 0) {
            long long n = seconds / u.size;
            return util::format("%lld %s%s", n, u.name, n == 1 ? "" : "s");
        }
    }
    if (seconds >= 3600) {
        long long n = seconds / 3600;
        return util::format("%lld hour%s", n, n == 1 ? "" : "s");
    }
    long long n = seconds / 60;
    return util::format("%lld minute%s", n, n == 1 ? "" : "s");
}

// "rfc822;addr" -> "rfc822; addr"; a bare address gets "rfc822; ".
std::string typed_address(std::string_view value) {
    auto semi = value.find(';');
    if (semi == std::string_view::npos) return "rfc822; " + std::string(value);
    return std::string(util::trim(value.substr(0, semi))) + "; " + std::string(util::trim(value.substr(semi + 1)));
}

bool has_eight_bit(std::string_view s) {
    for (unsigned char c : s)
        if (c >= 0x80) return true;
    return false;
}

void append(std::vector<std::string>& out, std::vector<std::string> more) {
    for (auto& l : more) out.push_back(std::move(l));
}

// Splits one line of the original into pieces of at most kMaxLine octets.
void append_limited(std::vector<std::string>& out, std::string_view line) {
    do {
        out.emplace_back(line.substr(0, kMaxLine));
        line.remove_prefix(std::min(line.size(), kMaxLine));
    } while (!line.empty());
}

const char* subject_of(DsnKind kind, bool postmaster_copy) {
    switch (kind) {
        case DsnKind::kFailure:
            return postmaster_copy ? "Postmaster Copy: Undelivered Mail" : "Undelivered Mail Returned to Sender";
        case DsnKind::kDelay: return "Delayed Mail (still being retried)";
        case DsnKind::kSuccess: return "Successful Mail Delivery Report";
    }
    return "";
}

std::vector<std::string> human_text(const DsnSettings& s, const OriginalMessage& m,
                                    const std::vector<BounceRecipient>& rcpts, bool headers_only) {
    std::vector<std::string> out;
    out.push_back("This is the mail system at host " + s.myhostname + ".");
    out.push_back("");
    switch (s.kind) {
        case DsnKind::kFailure:
            if (s.postmaster_copy) {
                append(out, wrap_text("A delivery status notification could not be delivered to its "
                                      "recipient. It is returned below for the postmaster's attention.",
                                      72, ""));
            } else {
                out.push_back("I'm sorry to have to inform you that your message could not");
                out.push_back("be delivered to one or more recipients.");
                out.push_back("");
                append(out, wrap_text(headers_only ? "The header of your message is attached below."
                                                   : "Your message is attached below.",
                                      72, ""));
                out.push_back("");
                append(out, wrap_text("Should you need help, write to the postmaster of this site and "
                                      "include this report with your question.",
                                      72, ""));
            }
            break;
        case DsnKind::kDelay: {
            long long waited = s.now > m.arrival_time ? s.now - m.arrival_time : 0;
            append(out, wrap_text("This is a warning only. You do not need to send your message again.", 72, ""));
            out.push_back("");
            append(out, wrap_text("Your message has been waiting for delivery for " + duration_text(waited) +
                                      " to the recipients listed below. The mail system keeps trying "
                                      "until the message is " +
                                      duration_text(s.maximal_queue_lifetime) +
                                      " old, and tells you if it then gives up.",
                                  72, ""));
            break;
        }
        case DsnKind::kSuccess:
            append(out, wrap_text("Your message was delivered to the recipients listed below, as you asked "
                                  "when you sent it.",
                                  72, ""));
            break;
    }
    out.push_back("");
    out.push_back("                   The mail system");
    for (const auto& r : rcpts) {
        out.push_back("");
        std::string who = "<" + r.recipient + ">";
        if (!r.orig_rcpt.empty() && r.orig_rcpt != r.recipient) who += " (expanded from <" + r.orig_rcpt + ">)";
        std::string why = r.reason.empty() ? r.action : r.reason;
        append(out, wrap_text(who + ": " + why, 78, "    "));
    }
    return out;
}

std::vector<std::string> status_part(const DsnSettings& s, const OriginalMessage& m,
                                     const std::vector<BounceRecipient>& rcpts) {
    std::vector<std::string> out;
    if (!m.envid.empty()) append(out, fold_header("Original-Envelope-Id", m.envid));
    append(out, fold_header("Reporting-MTA", "dns; " + s.myhostname));
    append(out, fold_header("X-Mailroom-Queue-ID", s.queue_id));
    append(out, fold_header("X-Mailroom-Sender", "rfc822; " + m.sender));
    append(out, fold_header("Arrival-Date", rfc5322_date(m.arrival_time)));
    for (const auto& r : rcpts) {
        out.push_back("");
        append(out, fold_header("Final-Recipient", "rfc822; " + r.recipient));
        if (!r.dsn_orcpt.empty()) append(out, fold_header("Original-Recipient", typed_address(r.dsn_orcpt)));
        append(out, fold_header("Action", r.action));
        append(out, fold_header("Status", r.status));
        RemoteReply remote = parse_remote_reply(r.reason);
        if (!remote.host.empty()) {
            append(out, fold_header("Remote-MTA", "dns; " + remote.host));
            append(out, fold_header("Diagnostic-Code", "smtp; " + remote.reply));
        }
        if (r.action == kActionDelayed)
            append(out, fold_header("Will-Retry-Until", rfc5322_date(m.arrival_time + s.maximal_queue_lifetime)));
    }
    return out;
}

}  // namespace

NoticePlan plan_notice(DsnKind kind, std::string_view original_sender, const NoticeSettings& settings) {
    NoticePlan plan;
    bool null_sender = original_sender.empty();
    bool double_bounce = is_double_bounce_sender(original_sender, settings);
    if (kind != DsnKind::kFailure) {
        if (null_sender || double_bounce) return plan;  // kNone: nobody to warn
        plan.outcome = NoticePlan::Outcome::kSend;
        plan.to = std::string(original_sender);
        plan.log_label = kind == DsnKind::kDelay ? "sender delay notification" : "sender delivery status notification";
        return plan;
    }
    if (double_bounce) {
        plan.outcome = NoticePlan::Outcome::kDiscard;
        return plan;
    }
    if (null_sender) {
        if (settings.notice_recipient.empty()) {
            plan.outcome = NoticePlan::Outcome::kDiscard;
            return plan;
        }
        plan.outcome = NoticePlan::Outcome::kSend;
        plan.to = settings.notice_recipient;
        plan.envelope_sender = settings.double_bounce_sender;
        plan.postmaster_copy = true;
        plan.log_label = "postmaster non-delivery notification";
        return plan;
    }
    plan.outcome = NoticePlan::Outcome::kSend;
    plan.to = std::string(original_sender);
    plan.log_label = "sender non-delivery notification";
    return plan;
}

std::vector<BounceRecipient> select_recipients(DsnKind kind, const std::vector<BounceRecipient>& all) {
    const char* what = kind == DsnKind::kFailure ? "FAILURE" : kind == DsnKind::kDelay ? "DELAY" : "SUCCESS";
    std::vector<BounceRecipient> out;
    for (const auto& r : all)
        if (notify_wants(r.notify, what)) out.push_back(r);
    return out;
}

DsnMessage compose_dsn(const DsnSettings& s, const OriginalMessage& m, const std::vector<BounceRecipient>& rcpts) {
    DsnMessage msg;
    // What to return: the header only unless a failure notice may carry
    // the whole message (RET, bounce_size_limit, and all of it was read).
    bool headers_only = s.kind != DsnKind::kFailure || util::iequals(m.ret, "HDRS") || m.size > s.bounce_size_limit;
    std::vector<std::string> original;
    std::uint64_t taken = 0;
    for (const auto& line : m.lines) {
        if (headers_only && line.empty()) break;
        if (taken + line.size() + 1 > s.bounce_size_limit) break;
        taken += line.size() + 1;
        append_limited(original, line);
    }
    for (const auto& l : original)
        if (has_eight_bit(l)) msg.eight_bit = true;

    // A boundary that no returned line starts with.
    std::string boundary = util::format("%s.%lld/%s", s.queue_id.c_str(), static_cast<long long>(s.now),
                                        s.myhostname.c_str());
    for (bool clash = true; clash;) {
        clash = false;
        for (const auto& l : original) {
            if (l.size() >= boundary.size() + 2 && l.compare(0, 2, "--") == 0 &&
                l.compare(2, boundary.size(), boundary) == 0) {
                clash = true;
                boundary += "=";
                break;
            }
        }
    }
    msg.boundary = boundary;

    auto& out = msg.lines;
    append(out, fold_header("From", "Mail Delivery System <MAILER-DAEMON@" + s.myhostname + ">"));
    append(out, fold_header("To", s.to));
    append(out, fold_header("Subject", subject_of(s.kind, s.postmaster_copy)));
    append(out, fold_header("Auto-Submitted", "auto-replied"));
    append(out, fold_header("Message-ID", s.message_id));
    append(out, fold_header("Date", rfc5322_date(s.now)));
    append(out, fold_header("MIME-Version", "1.0"));
    out.push_back("Content-Type: multipart/report; report-type=delivery-status;");
    out.push_back("\tboundary=\"" + boundary + "\"");
    append(out, fold_header("Content-Transfer-Encoding", msg.eight_bit ? "8bit" : "7bit"));
    out.push_back("");
    out.push_back("This is a MIME-encapsulated message.");
    out.push_back("");

    out.push_back("--" + boundary);
    out.push_back("Content-Description: Notification");
    out.push_back("Content-Type: text/plain; charset=us-ascii");
    out.push_back("");
    append(out, human_text(s, m, rcpts, headers_only));
    out.push_back("");

    out.push_back("--" + boundary);
    out.push_back("Content-Description: Delivery report");
    out.push_back("Content-Type: message/delivery-status");
    out.push_back("");
    append(out, status_part(s, m, rcpts));
    out.push_back("");

    out.push_back("--" + boundary);
    if (headers_only) {
        out.push_back(s.kind == DsnKind::kFailure ? "Content-Description: Undelivered Message Headers"
                                                  : "Content-Description: Message Headers");
        out.push_back("Content-Type: text/rfc822-headers");
    } else {
        out.push_back("Content-Description: Undelivered Message");
        out.push_back("Content-Type: message/rfc822");
    }
    if (msg.eight_bit) out.push_back("Content-Transfer-Encoding: 8bit");
    out.push_back("");
    append(out, std::move(original));
    out.push_back("");
    out.push_back("--" + boundary + "--");
    return msg;
}

std::vector<std::string> fold_header(std::string_view name, std::string_view value, std::size_t width) {
    std::vector<std::string> out;
    std::string line = std::string(name) + ":";
    // Words keep their leading white space; folding happens before one.
    std::vector<std::string> words;
    std::size_t i = 0;
    while (i < value.size()) {
        std::size_t start = i;
        while (i < value.size() && (value[i] == ' ' || value[i] == '\t')) ++i;
        while (i < value.size() && value[i] != ' ' && value[i] != '\t') ++i;
        words.emplace_back(value.substr(start, i - start));
    }
    bool first = true;
    for (auto& w : words) {
        std::string piece = first && !w.empty() && w[0] != ' ' && w[0] != '\t' ? " " + w : w;
        first = false;
        if (line.size() + piece.size() > width && util::trim(line).size() > name.size() + 1) {
            out.push_back(std::move(line));
            line.clear();
            if (piece.empty() || (piece[0] != ' ' && piece[0] != '\t')) piece = "\t" + piece;
        }
        line += piece;
        // A word too long for any line: split it hard.
        while (line.size() > kMaxLine) {
            out.push_back(line.substr(0, kMaxLine));
            line = "\t" + line.substr(kMaxLine);
        }
    }
    out.push_back(std::move(line));
    return out;
}

std::vector<std::string> wrap_text(std::string_view text, std::size_t width, std::string_view indent) {
    std::vector<std::string> out;
    std::string line;
    for (const auto& word : util::split(text, " ")) {
        std::string_view w = word;
        if (!line.empty() && line.size() + 1 + w.size() > width) {
            out.push_back(std::move(line));
            line.clear();
        }
        if (line.empty()) {
            line = (out.empty() ? std::string() : std::string(indent));
        } else {
            line += ' ';
        }
        line += w;
        while (line.size() > kMaxLine) {
            out.push_back(line.substr(0, kMaxLine));
            line = std::string(indent) + line.substr(kMaxLine);
        }
    }
    if (!line.empty() || out.empty()) out.push_back(std::move(line));
    return out;
}

std::string rfc5322_date(std::int64_t when) {
    std::time_t t = static_cast<std::time_t>(when);
    std::tm tm{};
    ::localtime_r(&t, &tm);
    static const char* const kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char* const kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    long off = tm.tm_gmtoff;
    char sign = off < 0 ? '-' : '+';
    if (off < 0) off = -off;
    std::string out = util::format("%s, %d %s %d %02d:%02d:%02d %c%02ld%02ld", kDays[tm.tm_wday], tm.tm_mday,
                                   kMonths[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec, sign,
                                   off / 3600, (off % 3600) / 60);
    if (tm.tm_zone && *tm.tm_zone) out += util::format(" (%s)", tm.tm_zone);
    return out;
}

RemoteReply parse_remote_reply(std::string_view reason) {
    RemoteReply r;
    if (!reason.starts_with("host ")) return r;
    auto said = reason.find(" said: ");
    if (said == std::string_view::npos) return r;
    std::string_view host = reason.substr(5, said - 5);
    auto bracket = host.find('[');
    if (bracket != std::string_view::npos) host = host.substr(0, bracket);
    std::string_view reply = reason.substr(said + 7);
    if (reply.size() < 3 || !std::isdigit(static_cast<unsigned char>(reply[0])) ||
        !std::isdigit(static_cast<unsigned char>(reply[1])) || !std::isdigit(static_cast<unsigned char>(reply[2])))
        return r;
    auto in_reply = reply.rfind(" (in reply to ");
    if (in_reply != std::string_view::npos && reply.ends_with(")")) reply = reply.substr(0, in_reply);
    r.host = std::string(host);
    r.reply = std::string(reply);
    return r;
}

}  // namespace mailroom::bounce
