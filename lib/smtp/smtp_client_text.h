// smtp_client_text.h - the pure text rules of an SMTP client: reading the
// server's reply lines and the EHLO keywords they announce.
//
// Summary
//   ReplyReader takes the server's reply lines one at a time (CRLF already
//   removed) and assembles multi-line replies ("250-a", "250 b"): feed()
//   says whether the reply is complete; take() then gives the code, the
//   enhanced status code when every line carries one of the reply's class
//   (then removed from the lines), and the text lines.
//   parse_ehlo_keywords() turns the lines of a 250 EHLO reply into the
//   announced extensions (upper-cased keyword and its parameters; the
//   first line is the server's name).
//
// Diagnostics
//   A line that is not "NNN", "NNN text" or "NNN-text" with a code 200..599,
//   or whose code differs from the reply's first line, is a permanent error
//   naming the line; so is a reply of more than kMaxReplyLines lines.
//
// Security
//   All input is the peer's. Lines are bounded by the caller's reader; the
//   number of lines of one reply is bounded here.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "lib/smtp/smtp_reply.h"
#include "lib/util/result.h"

namespace mailroom::smtp {

inline constexpr std::size_t kMaxReplyLines = 1000;

class ReplyReader {
public:
    // One reply line. Returns true when it completes the reply, false when
    // more lines follow, an error for a malformed line (the reader is then
    // reset).
    Result<bool> feed(std::string_view line);
    // The completed reply; the reader starts over for the next one.
    Reply take();

private:
    Reply reply_;
    bool started_ = false;
    bool all_dsn_ = true;
};

struct EhloKeyword {
    std::string name;                 // "SIZE", "AUTH", "PIPELINING"
    std::vector<std::string> params;  // {"10240000"}, {"PLAIN", "LOGIN"}
};

// The extensions of an EHLO reply's lines (Reply::lines: the first is the
// server's greeting name and is skipped).
std::vector<EhloKeyword> parse_ehlo_keywords(const std::vector<std::string>& lines);
// The keyword named `name` (case-insensitive), or nullptr.
const EhloKeyword* find_ehlo_keyword(const std::vector<EhloKeyword>& keywords, std::string_view name);

}  // namespace mailroom::smtp
