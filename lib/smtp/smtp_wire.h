// smtp_wire.h - message content as an SMTP client sends it after DATA:
// every line ended by CRLF, a leading dot doubled, over-long lines broken
// as Postfix's smtp_line_length_limit does. No I/O.
//
// Summary
//   WireEncoder takes the content as the queue file holds it (lines ended
//   by "\n", fed in pieces cut anywhere) and appends the wire form to a
//   string, so that the agent can stream a message of any size in bounded
//   pieces. finish() ends a last line that had no "\n"; the final ".\r\n"
//   is the caller's.
//
// Description
//   With a line limit L > 0 (smtp_line_length_limit, default 998, as
//   Postfix 3.7 and later) a line longer than L bytes is sent as its first
//   L bytes, then CRLF and a SPACE, then the next L - 1 bytes, and so on:
//   a header line becomes a folded header, a body line gets a space where
//   it was broken (Postfix's "<CR><LF><SPACE>"). A line of exactly L bytes
//   is not broken. The doubled leading dot does not count toward L (RFC
//   5321 4.5.2 removes it at the other end). L = 0 sends lines as they are.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace mailroom::smtp {

class WireEncoder {
public:
    // A limit of 1 is taken as 2 (a continuation needs room after its space).
    explicit WireEncoder(std::size_t line_limit = 998)
        : limit_(line_limit == 1 ? 2 : line_limit), space_(limit_) {}

    // Appends the wire form of `content` to *out.
    void feed(std::string_view content, std::string* out);
    // Completes a last line that did not end in "\n".
    void finish(std::string* out);

private:
    std::size_t limit_;
    std::size_t space_;          // bytes the current output line may still take
    bool line_start_ = true;     // the next byte starts a content line
    bool break_pending_ = false; // the output line is full: more bytes of this line start a continuation
};

}  // namespace mailroom::smtp
