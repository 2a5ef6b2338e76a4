// smtp_data.cc - see smtp_data.h.
#include "lib/smtp/smtp_data.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace mailroom::smtp {

bool take_line(std::string_view buffer, size_t limit, LinePiece* out) {
    if (limit < 2) limit = 2;
    size_t window = buffer.size() < limit + 2 ? buffer.size() : limit + 2;
    size_t lf = buffer.substr(0, window).find('\n');
    if (lf != std::string_view::npos) {
        bool cr = lf > 0 && buffer[lf - 1] == '\r';
        size_t len = cr ? lf - 1 : lf;
        if (len <= limit) {
            out->text = buffer.substr(0, len);
            out->end = cr ? LineEnd::kCrlf : LineEnd::kBareLf;
            out->consumed = lf + 1;
            return true;
        }
    }
    if (buffer.size() <= limit) return false;
    // An over-long line: hand out a piece, never splitting "\r\n".
    size_t n = limit;
    if (buffer[n - 1] == '\r') --n;
    out->text = buffer.substr(0, n);
    out->end = LineEnd::kNone;
    out->consumed = n;
    return true;
}

bool CommandLines::feed(const LinePiece& piece, std::string* line) {
    if (!skipping_) {
        if (piece.end != LineEnd::kNone) {
            line->assign(piece.text);
            return true;
        }
        skipping_ = true;
        head_.assign(piece.text);
        return false;
    }
    if (piece.end == LineEnd::kNone) return false;
    skipping_ = false;
    *line = std::move(head_);
    head_.clear();
    return true;
}

bool parse_bare_newline(std::string_view value, BareNewline* out) {
    if (value == "no") {
        *out = BareNewline::kNo;
    } else if (value == "normalize") {
        *out = BareNewline::kNormalize;
    } else if (value == "yes" || value == "reject") {
        *out = BareNewline::kReject;
    } else {
        return false;
    }
    return true;
}

DataDecoder::Output DataDecoder::feed(const LinePiece& piece) {
    Output out;
    std::string_view text = piece.text;
    bool line_start = at_line_start_;
    if (piece.end == LineEnd::kBareLf && reject_bare_lf_) {
        out.kind = Kind::kBareLf;
        return out;
    }
    // Only "." alone on a line that ends in CRLF, after a line that ended
    // in CRLF, ends the message.
    if (line_start && piece.end == LineEnd::kCrlf && prev_crlf_ && text == ".") {
        out.kind = Kind::kEnd;
        return out;
    }
    if (line_start && !text.empty() && text.front() == '.') text.remove_prefix(1);
    out.kind = Kind::kContent;
    out.text = text;
    out.continued = piece.end == LineEnd::kNone;
    at_line_start_ = piece.end != LineEnd::kNone;
    if (piece.end != LineEnd::kNone) prev_crlf_ = piece.end == LineEnd::kCrlf;
    return out;
}

std::string mail_date(std::time_t when) {
    struct tm lt {};
    localtime_r(&when, &lt);
    char date[64];
    std::strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S ", &lt);
    long off = lt.tm_gmtoff / 60;
    char sign = off < 0 ? '-' : '+';
    if (off < 0) off = -off;
    char zone[64];
    const char* name = lt.tm_zone ? lt.tm_zone : "UTC";
    std::snprintf(zone, sizeof(zone), "%c%02ld%02ld (%s)", sign, off / 60, off % 60, name);
    return std::string(date) + zone;
}

std::string received_protocol(std::string_view protocol, bool tls, bool authenticated) {
    std::string out(protocol);
    if (out != "ESMTP") return out;
    if (tls) out += 'S';
    if (authenticated) out += 'A';
    return out;
}

std::vector<std::string> format_received(const ReceivedInfo& info) {
    std::vector<std::string> lines;
    std::string addr = info.client_addr;
    if (addr.find(':') != std::string::npos && addr.rfind("IPv6:", 0) != 0) addr = "IPv6:" + addr;
    const std::string& helo = info.helo_name.empty() ? info.client_name : info.helo_name;
    lines.push_back("Received: from " + helo + " (" + info.client_name + " [" + addr + "])");
    if (!info.tls_clause.empty()) {
        lines.push_back("\t" + info.tls_clause);
        lines.push_back("\t" + (info.cert_clause.empty() ? std::string("(No client certificate requested)")
                                                          : info.cert_clause));
    }
    if (!info.authenticated_sender.empty()) lines.push_back("\t(Authenticated sender: " + info.authenticated_sender + ")");
    std::string by = "\tby " + info.myhostname + " (" + info.mail_name + ") with " +
                     received_protocol(info.protocol, info.tls, info.authenticated) + " id " + info.queue_id;
    if (info.recipients.size() == 1) {
        lines.push_back(by);
        lines.push_back("\tfor <" + info.recipients.front() + ">; " + mail_date(info.when));
    } else {
        lines.push_back(by + ";");
        lines.push_back("\t" + mail_date(info.when));
    }
    return lines;
}

}  // namespace mailroom::smtp
