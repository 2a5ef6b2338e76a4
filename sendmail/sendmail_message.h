// sendmail_message.h - turn a message on standard input into records.
//
// Summary
//   MessageWriter produces the record stream postdrop reads
//   (record_format.h, cleanup-stream form): T, S, the optional DSN RET
//   and envid, the
//   command-line recipients, M, the content as it arrives, X, the
//   recipients found in To/Cc/Bcc with -t, E. Nothing is held in memory
//   but the current header values that -t needs (bounded).
//
// Description
//   Input comes as pieces of lines (feed(piece, line_end)), so lines of
//   any length stream through. A trailing CR before the newline is
//   dropped. Without -i a line holding only "." ends the message. With -t
//   the Bcc headers are removed. With -F and no From header, a
//   "From: Full Name <sender>" header is added at the end of the header.
//   received_header() builds Postfix's header for local submissions:
//     Received: by HOST (MAIL_NAME, from userid UID)
//     <TAB>id QUEUEID; DATE
#pragma once

#include <ctime>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "lib/queue/record_format.h"
#include "lib/util/result.h"
#include "sendmail/sendmail_opts.h"

namespace mailroom::sendmail {

using RecordSink = std::function<Status(queue::RecordType type, std::string_view payload)>;

// Bytes of To/Cc/Bcc text -t keeps for recipient extraction.
inline constexpr std::size_t kMaxExtractBytes = 1024 * 1024;

class MessageWriter {
public:
    MessageWriter(const SendmailOptions& options, std::string sender, RecordSink sink)
        : options_(options), sender_(std::move(sender)), sink_(std::move(sink)) {}

    // `prepend` lines go first in the content (the Received: header).
    Status begin(std::int64_t seconds, std::int32_t microseconds, const std::vector<std::string>& prepend = {});
    // Returns true once the "." terminator line was seen (ignore the rest).
    Result<bool> feed(std::string_view piece, bool line_end);
    // Ends the content and the stream. Fails when no recipient is known.
    Status finish();

    const std::vector<std::string>& extracted() const { return extracted_; }

private:
    Status emit(queue::RecordType type, std::string_view payload) { return sink_(type, payload); }
    Status end_header();
    Status recipient(const std::string& address);
    void collect_header_text(std::string_view text);

    const SendmailOptions& options_;
    std::string sender_;
    RecordSink sink_;
    bool in_header_ = true;
    bool line_start_ = true;
    bool skip_line_ = false;     // the current line is dropped (Bcc with -t)
    bool from_seen_ = false;
    std::string header_kind_;   // "to", "cc", "bcc" or "" for the current header
    std::string header_text_;   // collected To/Cc/Bcc value
    std::size_t collected_ = 0;
    std::size_t piece_offset_skip_ = 0;  // the "Name:" of a new To/Cc/Bcc line
    std::vector<std::string> extracted_;
};

std::vector<std::string> received_header(std::string_view hostname, std::string_view mail_name, long uid,
                                         std::string_view queue_id, std::time_t when);

// Quotes a display name when it holds RFC 5322 specials.
std::string quote_display_name(std::string_view name);

}  // namespace mailroom::sendmail
