// smtpd_milter.h - smtpd's milters (smtpd_milters): the SMTP events of a
// session sent to lib/milter, and the message handed to cleanup through
// them.
//
// Summary
//   A session with milters keeps a milter::MilterList. The connect, HELO,
//   MAIL, RCPT, DATA and unknown-command events go to the milters before
//   smtpd replies (Session::milter_stage, smtpd_milter.cc), so a reject or
//   tempfail reaches the client as the reply to that command, with the
//   milter's text, and is logged as Postfix logs it:
//     NOQUEUE: milter-reject: RCPT from name[addr]: 550 5.7.1 text; from=<s> to=<r> proto=ESMTP helo=<h>
//   The message goes to cleanup through milter_sink(), a MessageSink in
//   front of the cleanup one: it keeps the envelope in memory and the
//   content in an unlinked spool file (milter::MilterMessage), runs the
//   header, body and end-of-message events when the client has sent the
//   final dot, applies the milters' edits and only then writes the edited
//   record stream to cleanup, so the edits are in the queue file before
//   "250 Ok: queued". A milter's reject, tempfail or discard at end of
//   message drops the cleanup connection (cleanup removes its file);
//   quarantine sends the `hold` attribute (the file goes to hold/).
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "lib/milter/milter_list.h"
#include "smtpd/smtpd_session.h"

namespace mailroom::smtpd {

// The session facts the sink logs with ("from=<s> to=<r> proto=P helo=<h>"
// and the client's name[addr]).
struct MilterLogInfo {
    std::function<std::string()> suffix;
    std::string namaddr;
};

// A sink that runs the message events of `milters` before anything
// reaches `inner`; spool_dir holds its spool files.
std::unique_ptr<MessageSink> milter_sink(std::unique_ptr<MessageSink> inner, std::shared_ptr<milter::MilterList> milters,
                                         std::string spool_dir, MilterLogInfo log);

// "550 5.7.1 text" -> a Reply (a text without a valid DSN keeps none).
Reply milter_reply(const std::string& text);

}  // namespace mailroom::smtpd
