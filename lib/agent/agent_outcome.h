// agent_outcome.h - what became of one delivery, and the sysexits table.
//
// Summary
//   Outcome is a delivery agent's verdict for one recipient: sent, deferred
//   or bounced, an RFC 3463 status ("2.0.0", "4.3.0", "5.1.1") and the text
//   logged in parentheses after status= ("delivered to mailbox").
//   sysexits_detail() maps a command's exit status to Postfix's status and
//   text (EX_TEMPFAIL 75 defers, EX_NOUSER 67 bounces, ...).
//   combine_outcomes() folds the outcomes of an alias expansion into the
//   one result reported for the original recipient; the parts themselves
//   are logged one line each (Outcome::parts, as Postfix's local logs
//   every final address with the original one as orig_to=).
//
// Description
//   Error kinds map the usual way: a temporary Error is a deferral (4.x.x),
//   a permanent one a bounce (5.x.x); outcome_from_error() does that with a
//   caller-chosen status. A failed mailbox delivery is judged by the errno
//   the Error carries (mailbox_failure(), Postfix's mbox_dsn), never by the
//   wording of its message.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lib/util/result.h"

namespace mailroom::agent {

enum class OutcomeKind { kSent, kDeferred, kBounced };

// One destination of an expansion as the log shows it: to=<to> with the
// request's recipient as orig_to=.
struct LoggedPart {
    std::string to;
    OutcomeKind kind = OutcomeKind::kDeferred;
    std::string dsn;
    std::string text;

    bool operator==(const LoggedPart&) const = default;
};

struct Outcome {
    OutcomeKind kind = OutcomeKind::kDeferred;
    std::string dsn;   // "2.0.0", "4.3.0", "5.1.1"
    std::string text;  // "delivered to mailbox"
    // A success that handed the message to something that is not its final
    // destination (pipe without the X flag): success DSNs say "relayed".
    bool relayed = false;
    // The lines logged for this recipient instead of the outcome itself
    // (one per destination of an alias or .forward expansion); empty: the
    // outcome is logged for the request's recipient.
    std::vector<LoggedPart> parts{};

    // The verdict: what qmgr is told (parts only say how it is logged).
    bool operator==(const Outcome& o) const {
        return kind == o.kind && dsn == o.dsn && text == o.text && relayed == o.relayed;
    }
};

inline Outcome sent(std::string text, std::string dsn = "2.0.0") {
    return {OutcomeKind::kSent, std::move(dsn), std::move(text)};
}
inline Outcome deferred(std::string text, std::string dsn = "4.3.0") {
    return {OutcomeKind::kDeferred, std::move(dsn), std::move(text)};
}
inline Outcome bounced(std::string text, std::string dsn = "5.3.0") {
    return {OutcomeKind::kBounced, std::move(dsn), std::move(text)};
}

// "sent", "deferred", "bounced".
const char* outcome_word(OutcomeKind kind);

// Temporary error -> deferred with temp_dsn, else bounced with perm_dsn.
Outcome outcome_from_error(const Error& error, std::string_view temp_dsn = "4.3.0",
                           std::string_view perm_dsn = "5.3.0");

// Postfix's status for a mailbox write that failed with errno `err`:
// EAGAIN/ESTALE "4.2.0" (try again), ENOSPC "4.3.0" (the system is full),
// EDQUOT/EFBIG "5.2.2" (the mailbox is full), anything else default_dsn.
std::string mailbox_dsn(int err, std::string_view default_dsn);

// The outcome of a failed mbox or Maildir delivery, text `what` + the
// error's message. The status is mailbox_dsn() of the error's errno with a
// default of "4.2.0" for a temporary error or any Maildir trouble (a broken
// directory is the administrator's to fix) and "5.2.0" otherwise; a 4.X.X
// status defers, a 5.X.X one bounces.
Outcome mailbox_failure(std::string_view what, const Error& error, bool maildir);

// One row of Postfix's sysexits table.
struct ExitDetail {
    int code;
    const char* dsn;   // "4.3.0" soft, "5.x.x" hard
    const char* text;  // "temporary failure"
};

// The row for a <sysexits.h> code (64..78), or nullopt for other codes.
std::optional<ExitDetail> sysexits_detail(int code);

// True when `text` starts with an RFC 3463 status "4.X.X" or "5.X.X"
// (followed by white space or the end); the status goes to *dsn.
bool leading_enhanced_status(std::string_view text, std::string* dsn);

// The outcome of an expansion, reported for the original recipient: any
// deferral defers (the first one's text), else any bounce bounces (the
// first one's text), else sent (the first one's text). An empty list is a
// broken invariant of the caller and is reported as a deferral.
Outcome combine_outcomes(const std::vector<Outcome>& outcomes);

// The same for outcomes that each concern an address of the expansion
// (`to[i]` for outcomes[i]): the result also carries them as parts.
Outcome combine_outcomes(const std::vector<Outcome>& outcomes, const std::vector<std::string>& to);

}  // namespace mailroom::agent
