// mime_parser.cc - see mime_parser.h.
#include "lib/mime/mime_parser.h"

#include "lib/util/strings.h"

namespace mailroom::mime {

namespace {

std::string_view strip_cr(std::string_view s) {
    if (!s.empty() && s.back() == '\r') s.remove_suffix(1);
    return s;
}

}  // namespace

bool is_token_char(char c) {
    // RFC 2045 token: printable ASCII except SPACE and tspecials.
    return c > ' ' && c < 127 && std::string_view("()<>@,;:\\\"/[]?=").find(c) == std::string_view::npos;
}

// Skips white space, line breaks and (nested) comments.
void skip_cfws(std::string_view s, std::size_t* i) {
    int depth = 0;
    while (*i < s.size()) {
        char c = s[*i];
        if (depth > 0) {
            if (c == '\\') ++*i;
            else if (c == '(') ++depth;
            else if (c == ')') --depth;
        } else if (c == '(') {
            depth = 1;
        } else if (c != ' ' && c != '\t' && c != '\r' && c != '\n') {
            return;
        }
        ++*i;
    }
}

std::string read_token(std::string_view s, std::size_t* i) {
    std::size_t start = *i;
    while (*i < s.size() && is_token_char(s[*i])) ++*i;
    return std::string(s.substr(start, *i - start));
}

std::string_view header_name(std::string_view line) {
    // RFC 5322 field-name: printable ASCII except ':' and space.
    std::size_t i = 0;
    while (i < line.size() && line[i] > ' ' && line[i] < 127 && line[i] != ':') ++i;
    if (i == 0) return {};
    std::size_t name_end = i;
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;  // "Subject :" (obsolete syntax)
    if (i >= line.size() || line[i] != ':') return {};
    return line.substr(0, name_end);
}

std::vector<std::pair<std::string, std::string>> parse_parameters(std::string_view v, std::size_t i) {
    // ; name = value (token or quoted string), junk skipped.
    std::vector<std::pair<std::string, std::string>> out;
    while (i < v.size() && out.size() < kMaxParameters) {
        skip_cfws(v, &i);
        if (i >= v.size()) break;
        if (v[i] != ';') {
            ++i;  // junk: skip to the next parameter
            continue;
        }
        ++i;
        skip_cfws(v, &i);
        std::string name = read_token(v, &i);
        skip_cfws(v, &i);
        if (name.empty() || i >= v.size() || v[i] != '=') continue;
        ++i;
        skip_cfws(v, &i);
        std::string value;
        if (i < v.size() && v[i] == '"') {
            ++i;
            while (i < v.size() && v[i] != '"') {
                if (v[i] == '\\' && i + 1 < v.size()) ++i;
                if (v[i] != '\r' && v[i] != '\n') value.push_back(v[i]);
                ++i;
            }
            if (i < v.size()) ++i;  // the closing quote
        } else {
            value = read_token(v, &i);
        }
        out.push_back({std::move(name), std::move(value)});
    }
    return out;
}

ContentType parse_content_type(std::string_view v) {
    ContentType ct;
    std::size_t i = 0;
    skip_cfws(v, &i);
    ct.type = util::lowercase(read_token(v, &i));
    skip_cfws(v, &i);
    if (i < v.size() && v[i] == '/') {
        ++i;
        skip_cfws(v, &i);
        ct.subtype = util::lowercase(read_token(v, &i));
    }
    for (auto& [name, value] : parse_parameters(v, i)) {
        if (ct.boundary.empty() && util::iequals(name, "boundary")) ct.boundary = std::move(value);
    }
    return ct;
}

MimeParser::MimeParser(MimeLimits limits, MimeCallbacks callbacks)
    : limits_(limits), cb_(std::move(callbacks)) {}

void MimeParser::feed(std::string_view piece, bool line_end) {
    if (state_ == State::kHeader && !body_passthrough_) {
        // Collect the line, bounded by header_size_limit per logical
        // header: a continuation line gets what the header has left.
        if (line_start_) {
            continuation_ = !piece.empty() && (piece[0] == ' ' || piece[0] == '\t');
            line_dropped_ = false;
        }
        std::size_t used = line_.size() + (continuation_ ? header_.size() : 0);
        std::size_t room = limits_.header_size_limit > used ? limits_.header_size_limit - used : 0;
        if (piece.size() > room) {
            line_.append(piece.substr(0, room));
            errors_ |= kErrTruncHeader;
            line_dropped_ = true;
        } else {
            line_.append(piece);
        }
        line_start_ = line_end;
        if (!line_end) return;
        std::string line = std::move(line_);
        line_.clear();
        // A continuation with nothing left of it is dropped, not an empty line.
        if (line.empty() && line_dropped_) return;
        header_line(std::move(line));
        return;
    }
    if (line_start_ && !body_passthrough_) {
        body_line_start(piece, line_end);
    } else {
        cb_.body(piece, line_end);
    }
    if (line_end) body_passthrough_ = false;
    line_start_ = line_end;
}

void MimeParser::header_line(std::string line) {
    std::string_view text = strip_cr(line);
    bool continuation = !text.empty() && (text[0] == ' ' || text[0] == '\t');
    if (continuation && !header_.empty()) {
        header_ += "\n";
        header_ += line;
        return;
    }
    flush_header();
    if (text.empty()) {
        // The empty line ends the header block and belongs to the body.
        end_header_block();
        cb_.body(line, true);
        return;
    }
    if (!header_name(text).empty()) {
        header_ = std::move(line);
        return;
    }
    // Not a header: the block is over and this line is what follows it.
    end_header_block();
    if (state_ == State::kHeader) {
        header_line(std::move(line));
    } else {
        body_line_start(line, true);
    }
}

void MimeParser::flush_header() {
    if (header_.empty()) return;
    if (!limits_.disabled) {
        std::string_view name = header_name(header_);
        std::string_view value = std::string_view(header_).substr(header_.find(':') + 1);
        if (util::iequals(name, "Content-Type")) {
            ctype_ = parse_content_type(value);
        } else if (util::iequals(name, "Content-Transfer-Encoding")) {
            std::size_t i = 0;
            skip_cfws(value, &i);
            std::string enc = util::lowercase(read_token(value, &i));
            identity_encoding_ = enc.empty() || enc == "7bit" || enc == "8bit" || enc == "binary";
        }
    }
    std::string h = std::move(header_);
    header_.clear();
    cb_.header(class_, std::move(h));
}

void MimeParser::open_level(Level level) {
    if (static_cast<int>(levels_.size()) >= limits_.nesting_limit) {
        errors_ |= kErrNesting;
        return;
    }
    levels_.push_back(std::move(level));
}

void MimeParser::end_header_block() {
    flush_header();
    if (cb_.header_end) cb_.header_end(class_);
    ContentType ct = std::move(ctype_);
    bool identity = identity_encoding_;
    bool digest = digest_part_;
    ctype_ = ContentType{};
    identity_encoding_ = true;
    digest_part_ = false;
    state_ = State::kBody;
    if (limits_.disabled || (errors_ & kErrNesting) || !identity) return;
    if (ct.type == "multipart" && !ct.boundary.empty()) {
        std::string b = ct.boundary.substr(0, limits_.boundary_length_limit);
        open_level({std::move(b), ct.subtype == "digest"});
        return;
    }
    bool rfc822 = (ct.type == "message" && ct.subtype == "rfc822") || (ct.type.empty() && digest);
    if (rfc822) {
        std::size_t before = levels_.size();
        open_level({std::string(), false});
        if (levels_.size() > before) {
            state_ = State::kHeader;
            class_ = HeaderClass::kNested;
        }
    }
}

void MimeParser::body_line_start(std::string_view piece, bool line_end) {
    std::string_view text = strip_cr(piece);
    if (line_end && text.size() > 2 && text[0] == '-' && text[1] == '-' && !(errors_ & kErrNesting)) {
        // The innermost open multipart whose boundary this is.
        for (std::size_t k = levels_.size(); k-- > 0;) {
            const std::string& b = levels_[k].boundary;
            if (b.empty() || text.substr(2, b.size()) != b) continue;
            bool closing = text.substr(2 + b.size()).starts_with("--");
            bool digest = levels_[k].digest;
            levels_.resize(closing ? k : k + 1);
            cb_.body(piece, true);
            if (!closing) {
                state_ = State::kHeader;
                class_ = HeaderClass::kMultipart;
                digest_part_ = digest;
            }
            return;
        }
    }
    if (!line_end) body_passthrough_ = true;
    cb_.body(piece, line_end);
}

void MimeParser::finish() {
    if (state_ != State::kHeader) return;
    if (!line_.empty()) {
        std::string line = std::move(line_);
        line_.clear();
        header_line(std::move(line));
        if (state_ != State::kHeader) return;
    }
    end_header_block();
}

}  // namespace mailroom::mime
