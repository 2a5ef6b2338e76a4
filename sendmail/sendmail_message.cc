// sendmail_message.cc - see sendmail_message.h.
#include "sendmail/sendmail_message.h"

#include "lib/submit/address_list.h"
#include "lib/submit/mail_date.h"
#include "lib/util/strings.h"

namespace mailroom::sendmail {

using queue::RecordType;

namespace {

std::string_view field_name(std::string_view line) {
    std::size_t i = 0;
    while (i < line.size() && line[i] > ' ' && line[i] < 127 && line[i] != ':') ++i;
    if (i == 0 || i >= line.size() || line[i] != ':') return {};
    return line.substr(0, i);
}

}  // namespace

std::string quote_display_name(std::string_view name) {
    bool special = false;
    for (char c : name)
        if (std::string_view("()<>[]:;@\\,.\"").find(c) != std::string_view::npos) special = true;
    if (!special) return std::string(name);
    std::string out = "\"";
    for (char c : name) {
        if (c == '"' || c == '\\') out.push_back('\\');
        out.push_back(c);
    }
    out.push_back('"');
    return out;
}

Status MessageWriter::recipient(const std::string& address) {
    if (!options_.dsn_notify.empty())
        if (auto st = emit(RecordType::kDsnNotify, options_.dsn_notify); !st) return st;
    return emit(RecordType::kRecipient, std::string(1, queue::kRcptPending) + address);
}

std::vector<std::string> received_header(std::string_view hostname, std::string_view mail_name, long uid,
                                         std::string_view queue_id, std::time_t when) {
    return {util::format("Received: by %.*s (%.*s, from userid %ld)", static_cast<int>(hostname.size()),
                         hostname.data(), static_cast<int>(mail_name.size()), mail_name.data(), uid),
            util::format("\tid %.*s; %s", static_cast<int>(queue_id.size()), queue_id.data(),
                         submit::mail_date(when).c_str())};
}

Status MessageWriter::begin(std::int64_t seconds, std::int32_t microseconds, const std::vector<std::string>& prepend) {
    if (auto st = emit(RecordType::kArrivalTime,
                       util::format("%lld.%06d", static_cast<long long>(seconds), static_cast<int>(microseconds)));
        !st)
        return st;
    if (auto st = emit(RecordType::kSender, sender_); !st) return st;
    if (!options_.dsn_ret.empty())
        if (auto st = emit(RecordType::kDsnRet, options_.dsn_ret); !st) return st;
    if (!options_.envid.empty())
        if (auto st = emit(RecordType::kDsnEnvid, options_.envid); !st) return st;
    for (const auto& r : options_.recipients)
        if (auto st = recipient(r); !st) return st;
    if (auto st = emit(RecordType::kContentStart, ""); !st) return st;
    for (const auto& line : prepend)
        if (auto st = emit(RecordType::kNormal, line); !st) return st;
    return ok_status();
}

void MessageWriter::collect_header_text(std::string_view text) {
    if (header_kind_.empty() || !options_.extract_recipients) return;
    std::size_t room = kMaxExtractBytes > collected_ ? kMaxExtractBytes - collected_ : 0;
    text = text.substr(0, std::min(room, text.size()));
    header_text_.append(text);
    collected_ += text.size();
}

Status MessageWriter::end_header() {
    // The last To/Cc/Bcc header is complete.
    if (!header_text_.empty()) {
        for (auto& a : submit::addresses_in(header_text_)) extracted_.push_back(std::move(a));
        header_text_.clear();
    }
    header_kind_.clear();
    if (!in_header_) return ok_status();
    in_header_ = false;
    if (!from_seen_ && !options_.full_name.empty()) {
        std::string from = "From: " + quote_display_name(options_.full_name) + " <" + sender_ + ">";
        if (auto st = emit(RecordType::kNormal, from); !st) return st;
    }
    return ok_status();
}

Result<bool> MessageWriter::feed(std::string_view piece, bool line_end) {
    if (line_end && !piece.empty() && piece.back() == '\r') piece.remove_suffix(1);
    if (line_start_) {
        if (!options_.ignore_dots && line_end && piece == ".") return true;
        skip_line_ = false;
        if (in_header_) {
            bool continuation = !piece.empty() && (piece[0] == ' ' || piece[0] == '\t');
            std::string_view name = field_name(piece);
            if (piece.empty() && line_end) {
                if (auto st = end_header(); !st) return st.error();
            } else if (continuation && !header_kind_.empty()) {
                header_text_.push_back(' ');
                skip_line_ = header_kind_ == "bcc" && options_.extract_recipients;
            } else if (continuation) {
                // A continuation of a header -t does not care about.
            } else if (!name.empty()) {
                // A new header: the previous one is complete.
                if (!header_text_.empty()) {
                    for (auto& a : submit::addresses_in(header_text_)) extracted_.push_back(std::move(a));
                    header_text_.clear();
                }
                std::string lname = util::lowercase(name);
                header_kind_ = (lname == "to" || lname == "cc" || lname == "bcc") ? lname : "";
                if (lname == "from") from_seen_ = true;
                skip_line_ = lname == "bcc" && options_.extract_recipients;
                piece_offset_skip_ = name.size() + 1;
            } else {
                if (auto st = end_header(); !st) return st.error();
            }
        }
    }
    if (in_header_ && !header_kind_.empty()) {
        std::string_view text = piece;
        if (line_start_ && piece_offset_skip_ <= text.size()) text.remove_prefix(piece_offset_skip_);
        collect_header_text(text);
    }
    piece_offset_skip_ = 0;
    line_start_ = line_end;
    if (skip_line_) return false;
    if (auto st = emit(line_end ? RecordType::kNormal : RecordType::kContinued, piece); !st) return st.error();
    return false;
}

Status MessageWriter::finish() {
    if (!line_start_)
        if (auto st = emit(RecordType::kNormal, ""); !st) return st;  // end an unfinished line
    if (auto st = end_header(); !st) return st;
    if (options_.recipients.empty() && extracted_.empty()) {
        return make_error(options_.extract_recipients ? "No recipient addresses found in message header"
                                                      : "no recipients specified");
    }
    if (auto st = emit(RecordType::kExtractedStart, ""); !st) return st;
    for (const auto& r : extracted_)
        if (auto st = recipient(r); !st) return st;
    return emit(RecordType::kEnd, "");
}

}  // namespace mailroom::sendmail
