// cleanup_header.h - header recognition and the headers cleanup adds (pure).
//
// Summary
//   header_name() returns the name of a header line ("Subject" for
//   "Subject: hi"), or "" when the line does not start a header.
//   HeaderFlags records which of the headers cleanup may add were present.
//   make_message_id(), make_date_header() and missing_headers() build the
//   Message-ID, Date and From headers Postfix's cleanup adds when a
//   message lacks them; rewrite_header() qualifies the addresses of
//   From/To/Cc (and their Resent- forms) with $myorigin.
#pragma once

#include <ctime>
#include <string>
#include <string_view>
#include <vector>

#include "lib/mime/mime_parser.h"

namespace mailroom::cleanup {

struct HeaderFlags {
    bool message_id = false;
    bool date = false;
    bool from = false;
};

// The field name of a header line, or "" when `line` is not "name:"
// (lib/mime's, which the MIME parser uses too).
using mime::header_name;
// Records a header in `flags`.
void note_header(std::string_view name, HeaderFlags* flags);

// "<YYYYMMDDhhmmss.QUEUEID@HOST>" with the UTC time.
std::string make_message_id(std::time_t when, std::string_view queue_id, std::string_view hostname);
// "Tue, 24 Nov 2026 05:17:18 +0000 (UTC)" in the local time zone.
std::string format_rfc2822_date(std::time_t when);

struct MessageFacts {
    std::time_t arrival = 0;
    std::string queue_id;
    std::string sender;    // envelope sender, already qualified; "" = null sender
    std::string myhostname;
    std::string myorigin;
};

// The header lines to add, in Postfix's order (Message-ID, Date, From).
// *message_id receives the message id (with brackets) when one was added.
std::vector<std::string> missing_headers(const HeaderFlags& flags, const MessageFacts& facts,
                                         std::string* message_id);

// Qualifies addresses in From/To/Cc/Resent-From/Resent-To/Resent-Cc/Sender
// headers; other headers come back unchanged. `header` is the whole
// header, continuation lines joined with "\n".
std::string rewrite_header(std::string_view header, std::string_view myorigin);

// The message id in a Message-ID header value ("<a@b>"), trimmed.
std::string message_id_value(std::string_view header);

}  // namespace mailroom::cleanup
