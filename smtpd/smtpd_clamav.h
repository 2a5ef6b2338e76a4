// smtpd_clamav.h - smtpd's built-in virus scan: each message goes to clamd
// (INSTREAM) while it is received, and the reply to end of DATA waits for
// clamd's verdict.
//
// Summary
//   Parameters (main.cf, or -o in master.cf):
//     smtpd_clamav_socket          empty = off; unix:/run/clamav/clamd.ctl,
//                                  inet:127.0.0.1:3310
//     smtpd_clamav_action          reject | hold | discard: what an infected
//                                  message gets (default reject)
//     smtpd_clamav_failure_action  tempfail | accept: what a message gets
//                                  when clamd gives no verdict (default
//                                  tempfail)
//     smtpd_clamav_timeout         connect, each write, the verdict (30s)
//     smtpd_clamav_max_length      bytes of a message scanned at most
//                                  (26214400 = 25 MiB, as Debian's clamd.conf StreamMaxLength
//                                  default); 0 = all
//
// Description
//   The session wraps its cleanup sink (smtpd_session.h: MessageSink) in a
//   scanning sink when the scan is on: from the start of the content (the
//   Received: header smtpd adds, then the client's headers and body) every
//   line goes both to cleanup and, with CR LF, to clamd, in 64 KiB chunks;
//   nothing is held whole. The session reads no more DATA while either
//   peer lags (the sink's unsent() is the sum). At end of DATA, after the
//   end-of-data restrictions, the session waits for the verdict:
//     clean                 the message is queued as usual
//     infected, reject      "554 5.7.1 Virus found: NAME"; cleanup removes
//                           its file
//     infected, hold        queued to the hold queue (as the access HOLD
//                           action)
//     infected, discard     "250 ... queued as ID" and nothing is kept (as
//                           the access DISCARD action)
//     no verdict, tempfail  "451 4.3.0 Error: virus scanner unavailable";
//                           the client tries again later
//     no verdict, accept    queued unscanned
//   No verdict: clamd cannot be reached, times out, closes early, or
//   answers ERROR (as "INSTREAM size limit exceeded" when its
//   StreamMaxLength is below smtpd_clamav_max_length).
//   A message longer than smtpd_clamav_max_length is scanned over its
//   first smtpd_clamav_max_length bytes (headers and the first
//   attachments), and the log line says "scanned=N of M": a virus past
//   the limit goes unseen. This is what clamav-milter's MaxFileSize does
//   not do (it skips the message); a partial scan catches what a mail
//   virus nearly always is, a leading attachment.
//   One log line per scanned message:
//     ID: clamav: clean, scanned=N
//     ID: clamav-reject: END-OF-MESSAGE from host[addr]: 554 5.7.1 Virus
//         found: NAME; from=<s> to=<r> proto=ESMTP helo=<h>
//     (clamav-hold, clamav-discard likewise)
//     warning: ID: clamav unix:/run/clamav/clamd.ctl: REASON; action=tempfail
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "lib/clamav/clamd_client.h"
#include "lib/config/config.h"
#include "lib/util/result.h"

namespace mailroom::smtpd {

struct ClamavConfig {
    enum class Action { kReject, kHold, kDiscard };
    enum class Failure { kTempfail, kAccept };

    std::optional<clamav::Endpoint> endpoint;  // nullopt: no scan
    Action action = Action::kReject;
    Failure failure = Failure::kTempfail;
    std::chrono::milliseconds timeout{30000};
    std::uint64_t max_length = 25 * 1024 * 1024;

    static Result<ClamavConfig> from_config(const config::Config& config);
};

}  // namespace mailroom::smtpd
