// message_part.cc - see message_part.h.
#include "lib/imap/message_part.h"

#include "lib/mime/mime_parser.h"
#include "lib/util/strings.h"

namespace mailroom::imap {

namespace {

using mime::is_token_char;
using mime::read_token;
using mime::skip_cfws;

// The end of the line starting at pos (just after its LF), or `end`.
std::size_t line_end(std::string_view s, std::size_t pos, std::size_t end) {
    std::size_t lf = s.find('\n', pos);
    return (lf == std::string_view::npos || lf >= end) ? end : lf + 1;
}

// The line's text without its CRLF or LF.
std::string_view line_text(std::string_view s, std::size_t begin, std::size_t stop) {
    std::string_view t = s.substr(begin, stop - begin);
    if (!t.empty() && t.back() == '\n') t.remove_suffix(1);
    if (!t.empty() && t.back() == '\r') t.remove_suffix(1);
    return t;
}

std::string unfold_trim(std::string_view v) {
    std::string out;
    out.reserve(v.size());
    for (char c : v)
        if (c != '\r' && c != '\n') out += c;
    return std::string(util::trim(out));
}

// "type/subtype; params" or "type; params" (Content-Disposition).
struct TypeValue {
    std::string type;  // as written
    std::string subtype;
    Params params;
};

TypeValue parse_type_value(std::string_view v, bool with_subtype) {
    TypeValue tv;
    std::size_t i = 0;
    skip_cfws(v, &i);
    tv.type = read_token(v, &i);
    skip_cfws(v, &i);
    if (with_subtype && i < v.size() && v[i] == '/') {
        ++i;
        skip_cfws(v, &i);
        tv.subtype = read_token(v, &i);
    }
    std::size_t semi = v.find(';', i);
    if (semi != std::string_view::npos) tv.params = parse_params(v.substr(semi));
    return tv;
}

struct Parser {
    std::string_view s;
    std::size_t parts = 0;
    bool truncated = false;
    // Where the text of each closing delimiter line ("--b--") ends.
    std::vector<std::size_t> closes;

    std::unique_ptr<MessagePart> parse(std::size_t begin, std::size_t end, bool digest_child, int depth);
    void set_body_sizes(MessagePart* p) const {
        std::string_view body = s.substr(p->body_begin, p->body_end - p->body_begin);
        p->body_size = crlf_size(body);
        std::uint64_t lines = 0;
        for (char c : body) lines += c == '\n';
        p->body_lines = lines;
    }
    void read_header(MessagePart* p, std::size_t end, bool digest_child);
    void split_multipart(MessagePart* p, int depth);
};

void Parser::read_header(MessagePart* p, std::size_t end, bool digest_child) {
    // The header runs to the first empty line, which it includes.
    std::size_t pos = p->header_begin;
    while (pos < end) {
        std::size_t next = line_end(s, pos, end);
        if (line_text(s, pos, next).empty() && next > pos && s[next - 1] == '\n') {
            pos = next;
            break;
        }
        pos = next;
    }
    p->body_begin = pos;
    p->body_end = end;
    std::string_view header = s.substr(p->header_begin, p->body_begin - p->header_begin);
    if (digest_child) p->type = p->type_raw = "message", p->subtype = p->subtype_raw = "rfc822";
    for (const HeaderField& f : parse_header_fields(header)) {
        if (!util::starts_with_icase(f.name, "Content-")) continue;
        std::string_view name = f.name.substr(8);
        std::string_view value = f.value.substr(0, kMaxHeaderField);
        if (util::iequals(name, "Type")) {
            if (p->has_content_type) continue;
            p->has_content_type = true;
            TypeValue tv = parse_type_value(value, true);
            if (!tv.type.empty()) {
                // "text" alone stays "text" "" as Dovecot has it.
                p->type = util::lowercase(tv.type);
                p->subtype = util::lowercase(tv.subtype);
                p->type_raw = std::move(tv.type);
                p->subtype_raw = std::move(tv.subtype);
            } else {
                // Unusable: RFC 2045's default, whatever the context.
                p->type = p->type_raw = "text";
                p->subtype = p->subtype_raw = "plain";
            }
            p->params = std::move(tv.params);
        } else if (util::iequals(name, "Transfer-Encoding")) {
            std::size_t i = 0;
            skip_cfws(value, &i);
            std::string enc = read_token(value, &i);
            if (!enc.empty()) {
                p->encoding = util::lowercase(enc);
                p->encoding_raw = std::move(enc);
                p->has_encoding = true;
            }
        } else if (util::iequals(name, "ID")) {
            if (!p->id) p->id = unfold_trim(value);
        } else if (util::iequals(name, "Description")) {
            if (!p->description) p->description = unfold_trim(value);
        } else if (util::iequals(name, "MD5")) {
            if (!p->md5) p->md5 = unfold_trim(value);
        } else if (util::iequals(name, "Disposition")) {
            if (p->disposition) continue;
            TypeValue tv = parse_type_value(value, false);
            if (tv.type.empty()) continue;
            p->disposition = std::move(tv.type);
            p->disposition_params = std::move(tv.params);
        } else if (util::iequals(name, "Language")) {
            if (!p->language.empty()) continue;
            std::size_t i = 0;
            while (i < value.size()) {
                skip_cfws(value, &i);
                std::size_t start = i;
                while (i < value.size() && (is_token_char(value[i]) || value[i] == '-')) ++i;
                if (i > start) p->language.emplace_back(value.substr(start, i - start));
                skip_cfws(value, &i);
                if (i < value.size()) ++i;  // ',' or junk
            }
        } else if (util::iequals(name, "Location")) {
            if (!p->location) p->location = unfold_trim(value);
        }
    }
}

std::unique_ptr<MessagePart> Parser::parse(std::size_t begin, std::size_t end, bool digest_child, int depth) {
    auto p = std::make_unique<MessagePart>();
    p->header_begin = begin;
    ++parts;
    read_header(p.get(), end, digest_child);
    p->header_size = crlf_size(s.substr(p->header_begin, p->body_begin - p->header_begin));
    set_body_sizes(p.get());

    if (depth >= kMaxDepth || parts >= kMaxParts) {
        if (p->is_multipart() || p->type == "message") truncated = true;
        if (p->is_multipart()) {
            p->type = p->type_raw = "application";
            p->subtype = p->subtype_raw = "octet-stream";
        }
        return p;
    }
    if (p->is_multipart()) {
        split_multipart(p.get(), depth);
    } else if (p->is_message()) {
        // An encoded message is not looked into: it is attached empty.
        bool identity = p->encoding == "7bit" || p->encoding == "8bit" || p->encoding == "binary";
        std::size_t begin = identity ? p->body_begin : p->body_end;
        p->children.push_back(parse(begin, p->body_end, false, depth + 1));
    }
    return p;
}

void Parser::split_multipart(MessagePart* p, int depth) {
    const std::string* b = p->param("boundary");
    const std::string boundary = b ? *b : std::string();
    bool digest = p->subtype == "digest";
    std::size_t pos = boundary.empty() ? p->body_end : p->body_begin;
    std::size_t end = p->body_end;
    std::size_t part_begin = std::string_view::npos;  // start of the part being read
    auto close_part = [&](std::size_t delim, bool at_delimiter) {
        if (part_begin == std::string_view::npos) return;
        // The line break before a delimiter line belongs to the delimiter.
        std::size_t stop = delim;
        if (at_delimiter && stop > part_begin && s[stop - 1] == '\n') {
            --stop;
            if (stop > part_begin && s[stop - 1] == '\r') --stop;
        }
        if (parts >= kMaxParts) {
            truncated = true;
            return;
        }
        std::size_t closes_before = closes.size();
        auto child = parse(part_begin, stop, digest, depth + 1);
        // A part whose last line closes a multipart inside it keeps the
        // line break after that line (it ends the closing delimiter line),
        // as Dovecot counts it: the part and every part inside it that
        // ended there are extended over it.
        bool ends_closed = false;
        for (std::size_t k = closes_before; k < closes.size(); ++k) ends_closed |= closes[k] == stop;
        for (MessagePart* q = child.get(); ends_closed && stop != delim && q && q->body_end == stop;
             q = q->children.empty() ? nullptr : q->children.back().get()) {
            q->body_end = delim;
            set_body_sizes(q);
        }
        p->children.push_back(std::move(child));
    };
    while (pos < end) {
        std::size_t next = line_end(s, pos, end);
        std::string_view t = line_text(s, pos, next);
        if (t.size() >= 2 + boundary.size() && t[0] == '-' && t[1] == '-' &&
            t.substr(2, boundary.size()) == boundary) {
            std::string_view rest = t.substr(2 + boundary.size());
            bool closing = rest.starts_with("--");
            if (closing || util::trim(rest).empty()) {
                close_part(pos, true);
                if (closing) {
                    closes.push_back(pos + t.size());
                    part_begin = std::string_view::npos;
                    break;
                }
                part_begin = next;
            }
        }
        pos = next;
    }
    close_part(end, false);  // no closing delimiter: the part runs to the end
    if (p->children.empty()) {
        // No parts at all: one empty text/plain part, so BODYSTRUCTURE has a body.
        auto empty = std::make_unique<MessagePart>();
        empty->header_begin = empty->body_begin = empty->body_end = p->body_end;
        ++parts;
        p->children.push_back(std::move(empty));
    }
}

// The section number of an RFC 2231 name suffix ("*0", "*3*"), or -1.
int continuation_index(std::string_view suffix) {
    if (suffix.size() < 2 || suffix[0] != '*') return -1;
    suffix.remove_prefix(1);
    if (suffix.back() == '*') suffix.remove_suffix(1);
    if (suffix.empty() || suffix.size() > 3) return -1;
    int n = 0;
    for (char c : suffix) {
        if (c < '0' || c > '9') return -1;
        n = n * 10 + (c - '0');
    }
    return n;
}

// Joins RFC 2231 continuations: name*0, name*1, ... (and name*0*, ...).
Params join_continuations(Params raw) {
    Params out;
    for (std::size_t i = 0; i < raw.size(); ++i) {
        const std::string& name = raw[i].first;
        std::size_t star = name.find('*');
        int index = star == std::string::npos ? -1 : continuation_index(std::string_view(name).substr(star));
        if (index < 0) {
            out.push_back(std::move(raw[i]));
            continue;
        }
        if (index > 0) continue;  // joined into section 0
        std::string base = name.substr(0, star);
        bool extended = name.back() == '*';
        std::string value = raw[i].second;
        for (int n = 1; n < 1000; ++n) {
            bool found = false;
            for (const auto& [k, v] : raw) {
                if (k.size() > base.size() && k.compare(0, base.size(), base) == 0 &&
                    continuation_index(std::string_view(k).substr(base.size())) == n) {
                    value += v;
                    found = true;
                    break;
                }
            }
            if (!found) break;
        }
        out.push_back({extended ? base + "*" : base, std::move(value)});
    }
    return out;
}

}  // namespace

bool MessagePart::is_message() const {
    return type == "message" && (subtype == "rfc822" || subtype == "global");
}

const std::string* MessagePart::param(std::string_view name) const {
    for (const auto& [k, v] : params)
        if (util::iequals(k, name)) return &v;
    return nullptr;
}

ParsedMessage parse_message(std::string_view bytes) {
    Parser parser{bytes, 0, false, {}};
    ParsedMessage m;
    m.bytes = bytes;
    m.root = parser.parse(0, bytes.size(), false, 0);
    m.truncated = parser.truncated;
    return m;
}

std::uint64_t crlf_size(std::string_view s) {
    std::uint64_t n = s.size();
    for (std::size_t i = 0; i < s.size(); ++i)
        if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r')) ++n;
    return n;
}

std::string to_crlf(std::string_view s) {
    std::string out;
    out.reserve(s.size() + s.size() / 32);
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r')) out += '\r';
        out += s[i];
    }
    return out;
}

std::vector<HeaderField> parse_header_fields(std::string_view header) {
    std::vector<HeaderField> out;
    std::size_t pos = 0;
    while (pos < header.size()) {
        std::size_t next = line_end(header, pos, header.size());
        std::string_view t = line_text(header, pos, next);
        if (t.empty()) break;  // the blank line ending the header
        if (t[0] == ' ' || t[0] == '\t') {
            // A continuation: extend the previous field (or skip a stray one).
            if (!out.empty()) {
                HeaderField& f = out.back();
                f.raw = header.substr(f.raw.data() - header.data(), next - (f.raw.data() - header.data()));
                std::size_t vstart = f.value.data() - header.data();
                f.value = line_text(header, vstart, next);
            }
            pos = next;
            continue;
        }
        std::size_t colon = t.find(':');
        std::size_t name_end = colon;
        while (name_end != std::string_view::npos && name_end > 0 && (t[name_end - 1] == ' ' || t[name_end - 1] == '\t'))
            --name_end;
        if (colon == std::string_view::npos || name_end == 0) {
            pos = next;  // not a field: ignored, as Dovecot does
            continue;
        }
        HeaderField f;
        f.name = t.substr(0, name_end);
        f.value = t.substr(colon + 1);
        f.raw = header.substr(pos, next - pos);
        out.push_back(f);
        pos = next;
    }
    return out;
}

std::optional<std::string> header_value(std::string_view header, std::string_view name) {
    for (const HeaderField& f : parse_header_fields(header))
        if (util::iequals(f.name, name)) return unfold_trim(f.value);
    return std::nullopt;
}

std::vector<std::string> header_values(std::string_view header, std::string_view name) {
    std::vector<std::string> out;
    for (const HeaderField& f : parse_header_fields(header))
        if (util::iequals(f.name, name)) out.push_back(unfold_trim(f.value));
    return out;
}

Params parse_params(std::string_view v) {
    Params raw = mime::parse_parameters(v, 0);
    return join_continuations(std::move(raw));
}

}  // namespace mailroom::imap
