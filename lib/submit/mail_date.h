// mail_date.h - the RFC 5322 date text of Date: and Received: headers (pure).
//
// Summary
//   mail_date() formats a time as Postfix's mail_date() does, in the local
//   time zone with English day and month names whatever the locale:
//     "Tue, 24 Nov 2026 05:17:18 +0000 (UTC)"
#pragma once

#include <ctime>
#include <string>

namespace mailroom::submit {

std::string mail_date(std::time_t when);

}  // namespace mailroom::submit
