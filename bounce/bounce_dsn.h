// bounce_dsn.h - delivery status notifications (RFC 3464), composed (pure).
//
// Summary
//   compose_dsn() builds the whole notification message as lines (no line
//   endings): the header (From: Mail Delivery System <MAILER-DAEMON@...>,
//   To:, Subject:, Auto-Submitted: auto-replied, Message-ID:, Date:,
//   MIME-Version:, Content-Type: multipart/report;
//   report-type=delivery-status) and three parts:
//     1. text/plain, the human-readable report: which recipients and why;
//     2. message/delivery-status: the per-message fields (Original-
//        Envelope-Id, Reporting-MTA, X-Mailroom-Queue-ID, X-Mailroom-
//        Sender, Arrival-Date) and one group per recipient
//        (Final-Recipient, Original-Recipient, Action, Status,
//        Remote-MTA and Diagnostic-Code for a remote reply,
//        Will-Retry-Until for a delay);
//     3. the original message: message/rfc822 (whole message), or
//        text/rfc822-headers (its header only).
//   plan_notice() decides who receives a notification and with which
//   envelope sender, so that notifications never loop. select_recipients()
//   applies each recipient's DSN NOTIFY.
//
// Description
//   What part 3 holds: a non-delivery notice follows RET (HDRS: the
//   header; FULL or none: the whole message); a message larger than
//   bounce_size_limit is returned as its header only. Delay and success
//   notices always return the header only. Every generated line is at
//   most 998 octets: header fields are folded at white space to 78
//   columns where possible and split hard otherwise; the text part is
//   wrapped; lines of the original longer than 998 octets are split.
//
//   No I/O and no clock: the caller passes the time, the host name and
//   the Message-ID.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "lib/bounce/bounce_proto.h"

namespace mailroom::bounce {

enum class DsnKind { kFailure, kDelay, kSuccess };

// Who gets a notification, and the envelope sender it is submitted with.
struct NoticePlan {
    enum class Outcome { kSend, kNone, kDiscard };
    Outcome outcome = Outcome::kNone;
    std::string to;               // the notice's recipient
    std::string envelope_sender;  // "" = <>, else the double-bounce sender
    bool postmaster_copy = false; // a bounce of a bounce, sent to the postmaster
    std::string log_label;        // "sender non-delivery notification", ...
};

struct NoticeSettings {
    std::string notice_recipient;      // 2bounce_notice_recipient
    std::string double_bounce_sender;  // double_bounce_sender (local part or address)
    std::string myorigin;
};

// Failure notices go to the sender; for a message from <> to the
// postmaster (2bounce_notice_recipient, from the double-bounce sender);
// a message from the double-bounce sender is discarded (kDiscard), so a
// notice never causes another. Delay and success notices go only to a
// real sender (kNone otherwise).
NoticePlan plan_notice(DsnKind kind, std::string_view original_sender, const NoticeSettings& settings);

// The recipients whose NOTIFY asks for this kind of notice, in order.
std::vector<BounceRecipient> select_recipients(DsnKind kind, const std::vector<BounceRecipient>& all);

struct OriginalMessage {
    std::string sender;             // "" = <>
    std::int64_t arrival_time = 0;  // seconds since the epoch
    std::string envid;              // DSN ENVID ("" = none)
    std::string ret;                // DSN RET: "FULL", "HDRS" or ""
    std::vector<std::string> lines; // the content as stored, as much as was read
    std::uint64_t size = 0;         // the whole content's size (message_size)
};

struct DsnSettings {
    DsnKind kind = DsnKind::kFailure;
    std::string myhostname;
    std::string queue_id;           // the original message's
    std::string to;                 // NoticePlan::to
    bool postmaster_copy = false;
    std::string message_id;         // "<...>", fresh for this notice
    std::int64_t now = 0;           // seconds since the epoch
    std::uint64_t bounce_size_limit = 50000;
    long long maximal_queue_lifetime = 5 * 86400;  // for the delay text
};

struct DsnMessage {
    std::vector<std::string> lines;
    bool eight_bit = false;         // the returned original has 8-bit bytes
    std::string boundary;
};

DsnMessage compose_dsn(const DsnSettings& settings, const OriginalMessage& original,
                       const std::vector<BounceRecipient>& recipients);

// Helpers, exposed for tests.
// "Name: value" folded at white space to `width` columns where possible,
// and never longer than 998 octets per line.
std::vector<std::string> fold_header(std::string_view name, std::string_view value, std::size_t width = 78);
// Splits text into lines of at most `width` columns at spaces; words
// longer than 998 octets are split; continuation lines get `indent`.
std::vector<std::string> wrap_text(std::string_view text, std::size_t width, std::string_view indent);
// RFC 5322 date in local time: "Tue, 24 Nov 2026 06:00:00 +0000 (UTC)".
std::string rfc5322_date(std::int64_t when);
// A remote server's reply inside a reason text ("host H[A] said: 550 ...
// (in reply to RCPT TO command)"): the host and the reply, or empty.
struct RemoteReply {
    std::string host;
    std::string reply;
};
RemoteReply parse_remote_reply(std::string_view reason);

}  // namespace mailroom::bounce
