// smtpd_proxy.h - the before-queue content filter (Postfix's
// SMTPD_PROXY_README): smtpd relays each mail transaction to an SMTP proxy
// instead of cleanup and gives the client the proxy's replies.
//
// Summary
//   Parameters (main.cf, or -o in master.cf):
//     smtpd_proxy_filter    empty = off; host:port, inet:host:port or
//                           unix:/path (host numeric or localhost)
//     smtpd_proxy_timeout   connect, and each reply the proxy owes (100s)
//     smtpd_proxy_ehlo      the EHLO name smtpd gives the proxy
//                           ($myhostname)
//     smtpd_proxy_options   speed_adjust (accepted; see Known limits)
//
// Description
//   At the first recipient that passes smtpd's own restrictions the
//   session opens the proxy connection in place of cleanup's (through the
//   server's SinkOpener: a ProxySink): greeting, EHLO, XFORWARD (NAME ADDR
//   PROTO HELO, those the proxy announced) when the proxy announces it,
//   then MAIL FROM with the client's SIZE, BODY, SMTPUTF8, RET and ENVID
//   as far as the proxy announced SIZE, 8BITMIME, SMTPUTF8 and DSN. Each
//   accepted recipient goes to the proxy as RCPT TO (NOTIFY and ORCPT with
//   DSN) and the client gets the proxy's reply to it (a MAIL FROM the proxy
//   refused shows as the reply to the first RCPT). DATA: the client gets
//   354 once the proxy gave it, or the proxy's refusal as the reply to
//   DATA (logged "NOQUEUE: proxy-reject: DATA: ..."; the transaction
//   ends); smtpd then streams the content (its Received: header first,
//   dot-stuffed, in order, never held
//   whole: while the proxy lags, the session reads no more); at the end
//   the client gets the proxy's reply to "." as it is, usually the
//   re-injection server's "250 2.0.0 Ok: queued as ID". smtpd queues
//   nothing itself: the proxy hands the mail to a second smtpd (with
//   -o smtpd_proxy_filter= in master.cf). Each transaction gets a
//   connection of its own, closed with QUIT.
//   One log line per message:
//     NOQUEUE: proxy-accept: END-OF-MESSAGE: 250 2.0.0 Ok: queued as ID;
//         from=<s> to=<r> proto=ESMTP helo=<h>
//     NOQUEUE: proxy-reject: END-OF-MESSAGE: 554 5.7.1 ...; from=<s> ...
//   A proxy that cannot be reached, times out or breaks the protocol gives
//   "451 4.3.0 Error: queue file write error" (as Postfix) and a warning.
//
// Known limits
//   With BDAT a proxy's refusal of DATA reaches the client at the end of
//   the message. smtpd_proxy_options = speed_adjust is accepted but the
//   message is always streamed as it arrives. XCLIENT is not sent.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "lib/config/config.h"
#include "lib/event/connector.h"
#include "lib/util/result.h"

namespace mailroom::smtpd {

struct ProxyConfig {
    std::optional<event::StreamAddress> address;  // nullopt: no proxy
    std::chrono::milliseconds timeout{100000};
    std::string ehlo;

    static Result<ProxyConfig> from_config(const config::Config& config);
};

}  // namespace mailroom::smtpd
