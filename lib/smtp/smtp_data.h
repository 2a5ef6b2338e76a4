// smtp_data.h - the pure parts of receiving a message: splitting the
// client's bytes into lines, DATA's end-of-message and dot rules, and the
// Received: header smtpd prepends.
//
// Summary
//   take_line() cuts one line (or one piece of an over-long line) from the
//   front of a buffer and says how it ended: CRLF, a bare LF, or not at
//   all (a piece, or bytes still to come). DataDecoder turns the lines of a
//   DATA section into content lines: it removes the transparency dot
//   (RFC 5321 4.5.2) and recognises the end of the message only as
//   <CR><LF>.<CR><LF>, so an SMTP smuggling attempt ("\n.\n", "\r\n.\n",
//   "\n.\r\n") never ends DATA. format_received() builds Postfix's
//   Received: header. No I/O; tests drive them directly.
//
// Description
//   Bare LF handling follows smtpd_forbid_bare_newline: with "no" or
//   "normalize" (the default) a line that ends in a bare LF is accepted as
//   if it had ended in CRLF (but it can never be the end of the message);
//   with "yes"/"reject" it is an error the session answers with
//   "521 5.5.2 host Error: bare <LF> received" and a disconnect (unless the
//   client matches smtpd_forbid_bare_newline_exclusions). A bare CR is
//   ordinary line content and never ends a line.
//
// Security
//   Every piece is bounded by the caller's limit; a client that never
//   sends LF costs at most one limit's worth of memory per piece.
#pragma once

#include <cstddef>
#include <ctime>
#include <string>
#include <string_view>
#include <vector>

namespace mailroom::smtp {

enum class LineEnd {
    kCrlf,     // "\r\n"
    kBareLf,   // "\n" without a CR before it
    kNone,     // a piece of a longer line: the line goes on
};

struct LinePiece {
    std::string_view text;  // without the line ending
    LineEnd end = LineEnd::kNone;
    size_t consumed = 0;    // bytes of the buffer this piece used
};

// Takes the first line of `buffer` if it is complete, or a piece of at most
// `limit` bytes (limit >= 2) when no LF comes within `limit` bytes. Returns
// false when more bytes are needed. A piece never ends between a CR and
// the LF after it.
bool take_line(std::string_view buffer, size_t limit, LinePiece* out);

// A command line as Postfix's smtpd reads one: an over-long line keeps its
// first `limit` bytes (what take_line() handed out first), the rest up to
// the newline is skipped, and then the kept bytes are executed as the
// command. Feed it every piece take_line() cuts in command state; it
// returns true with the line in *line once a command is complete.
class CommandLines {
public:
    bool feed(const LinePiece& piece, std::string* line);
    void reset() {
        skipping_ = false;
        head_.clear();
    }

private:
    bool skipping_ = false;
    std::string head_;  // the first `limit` bytes of an over-long line
};

enum class BareNewline { kNo, kNormalize, kReject };

// Parses smtpd_forbid_bare_newline ("no", "normalize", "yes", "reject").
bool parse_bare_newline(std::string_view value, BareNewline* out);

// The DATA section decoder: feed it the pieces take_line() cuts, in order.
class DataDecoder {
public:
    enum class Kind {
        kContent,   // `text` is (a piece of) a content line; `continued` when the line goes on
        kEnd,       // <CR><LF>.<CR><LF>: the message is complete
        kBareLf,    // a line ended in a bare LF and bare LFs are rejected
    };
    struct Output {
        Kind kind = Kind::kContent;
        std::string_view text;
        bool continued = false;
    };

    explicit DataDecoder(bool reject_bare_lf = false) : reject_bare_lf_(reject_bare_lf) {}

    Output feed(const LinePiece& piece);

private:
    bool reject_bare_lf_;
    bool at_line_start_ = true;
    bool prev_crlf_ = true;  // the DATA command line ended in CRLF
};

// Postfix's Received: header, as lines without line endings (the first
// starts with "Received: ", the others with a TAB):
//   Received: from HELO (NAME [ADDR])
//   \tby MYHOSTNAME (MAIL_NAME) with PROTOCOL id QUEUEID
//   \tfor <RCPT>; DATE                       (exactly one recipient)
// or, for several recipients, "...id QUEUEID;" and "\tDATE". With TLS and
// smtpd_tls_received_header, "\t(using ...)" and "\t(No client certificate
// requested)" follow the first line; with smtpd_sasl_authenticated_header,
// "\t(Authenticated sender: NAME)". PROTOCOL follows RFC 3848.
// HELO defaults to NAME when the client sent none.
struct ReceivedInfo {
    std::string helo_name;  // "" = none sent
    std::string client_name;
    std::string client_addr;  // "1.2.3.4" or an IPv6 address (written "IPv6:..." as Postfix does)
    std::string myhostname;
    std::string mail_name = "mailroom";
    std::string protocol = "ESMTP";
    std::string queue_id;
    std::vector<std::string> recipients;
    std::time_t when = 0;
    bool tls = false;                  // the session is encrypted: ESMTPS
    bool authenticated = false;        // AUTH succeeded: ESMTPA / ESMTPSA
    std::string tls_clause;            // smtpd_tls_received_header: "(using TLSv1.3 with cipher ...)"
    std::string cert_clause;           // the line after it; empty: "(No client certificate requested)"
    std::string authenticated_sender;  // smtpd_sasl_authenticated_header: the SASL login name
};
// RFC 3848: "ESMTP" becomes ESMTPS, ESMTPA or ESMTPSA; other names stay.
std::string received_protocol(std::string_view protocol, bool tls, bool authenticated);
std::vector<std::string> format_received(const ReceivedInfo& info);

// RFC 5322 date as Postfix's mail_date(): "Tue, 24 Nov 2026 05:50:12 +0000 (UTC)"
// in the local time zone.
std::string mail_date(std::time_t when);

}  // namespace mailroom::smtp
