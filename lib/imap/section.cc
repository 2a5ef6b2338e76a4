// section.cc - see section.h.
#include "lib/imap/section.h"

#include "lib/imap/decode.h"
#include "lib/util/strings.h"

namespace mailroom::imap {

namespace {

bool parse_nz(std::string_view s, std::uint32_t* out) {
    if (s.empty() || s.size() > 10 || s[0] == '0') return false;
    std::uint64_t v = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return false;
        v = v * 10 + static_cast<std::uint64_t>(c - '0');
    }
    if (v > 0xffffffffu) return false;
    *out = static_cast<std::uint32_t>(v);
    return true;
}

bool parse_u64(std::string_view s, std::uint64_t* out) {
    if (s.empty() || s.size() > 19) return false;
    std::uint64_t v = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return false;
        v = v * 10 + static_cast<std::uint64_t>(c - '0');
    }
    *out = v;
    return true;
}

// "(A B "C")": field names, upper-cased; false when malformed or empty.
bool parse_header_list(std::string_view s, std::vector<std::string>* out) {
    if (s.size() < 2 || s.front() != '(' || s.back() != ')') return false;
    s = s.substr(1, s.size() - 2);
    std::size_t i = 0;
    while (i < s.size()) {
        if (s[i] == ' ') {
            if (i == 0 || s[i - 1] == ' ') return false;
            ++i;
            continue;
        }
        std::string name;
        if (s[i] == '"') {
            ++i;
            while (i < s.size() && s[i] != '"') {
                if (s[i] == '\\' && i + 1 < s.size()) ++i;
                name += s[i++];
            }
            if (i >= s.size()) return false;
            ++i;
        } else {
            while (i < s.size() && s[i] != ' ') {
                char c = s[i];
                if (c <= ' ' || c >= 0x7f || c == '(' || c == ')' || c == '"' || c == '{') return false;
                name += c;
                ++i;
            }
        }
        if (name.empty()) return false;
        for (char& c : name)
            if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 32);
        out->push_back(std::move(name));
    }
    return !out->empty() && s.back() != ' ';
}

using Parts = std::vector<const MessagePart*>;

// The numbered parts of a message: a multipart's parts, else the message
// itself as part 1 (which has no parts below it).
Parts parts_of_message(const MessagePart& m, bool* self) {
    Parts out;
    *self = !m.is_multipart();
    if (m.is_multipart()) {
        for (const auto& c : m.children) out.push_back(c.get());
    } else {
        out.push_back(&m);
    }
    return out;
}

// The numbered parts below a part of a multipart: its own parts, those of
// an attached message, or a leaf itself as its part 1 (as Dovecot answers).
Parts parts_below(const MessagePart& p, bool* self) {
    if (p.is_message() && !p.children.empty()) return parts_of_message(*p.children[0], self);
    return parts_of_message(p, self);
}

std::string_view header_of(std::string_view msg, const MessagePart& p) {
    return msg.substr(p.header_begin, p.body_begin - p.header_begin);
}

std::string_view body_of(std::string_view msg, const MessagePart& p) {
    return msg.substr(p.body_begin, p.body_end - p.body_begin);
}

// HEADER.FIELDS (or .NOT): the listed fields (or the others) in message
// order with their continuation lines, then the blank line. A line that is
// no field at all is one of "the others", as Dovecot has it.
std::string header_fields(std::string_view header, const std::vector<std::string>& fields, bool negate) {
    std::string out;
    bool blank_line = false;
    bool keep = false;
    std::size_t pos = 0;
    while (pos < header.size()) {
        std::size_t lf = header.find('\n', pos);
        std::size_t next = lf == std::string_view::npos ? header.size() : lf + 1;
        std::string_view line = header.substr(pos, next - pos);
        std::string_view text = line.substr(0, line.find_first_of("\r\n"));
        pos = next;
        if (text.empty() && line.size() > 0 && line.find('\n') != std::string_view::npos &&
            line.find_first_not_of("\r\n") == std::string_view::npos) {
            blank_line = true;
            break;
        }
        if (text.empty() || (text[0] != ' ' && text[0] != '\t')) {
            // A new field (or a line that is none): listed or not decides.
            std::size_t colon = text.find(':');
            std::string_view name = colon == std::string_view::npos ? std::string_view() : util::trim(text.substr(0, colon));
            bool listed = false;
            for (const std::string& n : fields) listed = listed || (!name.empty() && util::iequals(n, name));
            keep = listed != negate;
        }
        if (!keep) continue;
        out += to_crlf(line);
        if (line.empty() || line.back() != '\n') out += "\r\n";
    }
    // .NOT copies the header's own end: no blank line when it had none.
    if (blank_line || !negate) out += "\r\n";
    return out;
}

}  // namespace

std::string Section::to_string() const {
    std::string out;
    for (std::uint32_t n : part) {
        if (!out.empty()) out += '.';
        out += std::to_string(n);
    }
    const char* name = nullptr;
    switch (text) {
        case Text::kNone: return out;
        case Text::kHeader: name = "HEADER"; break;
        case Text::kHeaderFields: name = "HEADER.FIELDS"; break;
        case Text::kHeaderFieldsNot: name = "HEADER.FIELDS.NOT"; break;
        case Text::kText: name = "TEXT"; break;
        case Text::kMime: name = "MIME"; break;
    }
    if (!out.empty()) out += '.';
    out += name;
    if (text == Text::kHeaderFields || text == Text::kHeaderFieldsNot) {
        out += " (";
        for (std::size_t k = 0; k < fields.size(); ++k) {
            if (k) out += ' ';
            out += fields[k];
        }
        out += ')';
    }
    return out;
}

std::optional<Section> parse_section(std::string_view spec) {
    Section s;
    std::size_t i = 0;
    // section-part: nz-number *("." nz-number)
    while (i < spec.size() && spec[i] >= '0' && spec[i] <= '9') {
        std::size_t end = i;
        while (end < spec.size() && spec[end] >= '0' && spec[end] <= '9') ++end;
        std::uint32_t n = 0;
        if (!parse_nz(spec.substr(i, end - i), &n) || s.part.size() >= 100) return std::nullopt;
        s.part.push_back(n);
        i = end;
        if (i == spec.size()) return s;
        if (spec[i] != '.') return std::nullopt;
        ++i;
        if (i == spec.size()) return std::nullopt;
    }
    std::string_view rest = spec.substr(i);
    if (rest.empty()) {
        if (!s.part.empty()) return std::nullopt;
        return s;
    }
    std::size_t sp = rest.find(' ');
    std::string word = util::lowercase(rest.substr(0, sp));
    if (word == "header" && sp == std::string_view::npos) {
        s.text = Section::Text::kHeader;
    } else if (word == "text" && sp == std::string_view::npos) {
        s.text = Section::Text::kText;
    } else if (word == "mime" && sp == std::string_view::npos) {
        if (s.part.empty()) return std::nullopt;
        s.text = Section::Text::kMime;
    } else if ((word == "header.fields" || word == "header.fields.not") && sp != std::string_view::npos) {
        s.text = word == "header.fields" ? Section::Text::kHeaderFields : Section::Text::kHeaderFieldsNot;
        if (!parse_header_list(rest.substr(sp + 1), &s.fields)) return std::nullopt;
    } else {
        return std::nullopt;
    }
    return s;
}

std::optional<Partial> parse_partial(std::string_view text) {
    if (text.size() < 5 || text.front() != '<' || text.back() != '>') return std::nullopt;
    text = text.substr(1, text.size() - 2);
    std::size_t dot = text.find('.');
    if (dot == std::string_view::npos) return std::nullopt;
    Partial p;
    if (!parse_u64(text.substr(0, dot), &p.origin) || !parse_u64(text.substr(dot + 1), &p.count) || p.count == 0)
        return std::nullopt;
    if (text.substr(dot + 1)[0] == '0') return std::nullopt;  // nz-number
    return p;
}

std::string apply_partial(std::string_view data, const Partial& p) {
    if (p.origin >= data.size()) return std::string();
    return std::string(data.substr(p.origin, p.count));
}

const MessagePart* find_part(const ParsedMessage& msg, const std::vector<std::uint32_t>& path) {
    if (path.empty()) return msg.root.get();
    bool self = false;
    Parts level = parts_of_message(*msg.root, &self);
    const MessagePart* cur = nullptr;
    for (std::uint32_t n : path) {
        if (n == 0 || n > level.size()) return nullptr;
        cur = level[n - 1];
        if (self && !cur->is_message()) {
            level.clear();  // a message's own body as its part 1 has no parts
        } else {
            level = parts_below(*cur, &self);
        }
    }
    return cur;
}

std::string extract_section_of(const ParsedMessage& msg, const Section& section) {
    const MessagePart* p = find_part(msg, section.part);
    if (!p) return std::string();
    std::string_view bytes = msg.bytes;
    using Text = Section::Text;
    if (section.text == Text::kNone) {
        if (section.part.empty()) return to_crlf(bytes);
        return to_crlf(body_of(bytes, *p));
    }
    if (section.text == Text::kMime) return to_crlf(header_of(bytes, *p));
    // HEADER, TEXT, HEADER.FIELDS: of the message, or of the message a part attaches.
    const MessagePart* m = p;
    if (!section.part.empty()) {
        if (!p->is_message() || p->children.empty()) return std::string();
        m = p->children[0].get();
    }
    switch (section.text) {
        case Text::kHeader: return to_crlf(header_of(bytes, *m));
        case Text::kText: return to_crlf(body_of(bytes, *m));
        case Text::kHeaderFields: return header_fields(header_of(bytes, *m), section.fields, false);
        case Text::kHeaderFieldsNot: return header_fields(header_of(bytes, *m), section.fields, true);
        default: return std::string();
    }
}

std::string extract_section(std::string_view message, const Section& section) {
    if (section.part.empty() && section.text == Section::Text::kNone) return to_crlf(message);
    return extract_section_of(parse_message(message), section);
}

BinaryResult extract_binary_of(const ParsedMessage& msg, const Section& section) {
    BinaryResult r;
    if (section.text != Section::Text::kNone) {
        r.status = BinaryStatus::kBadSection;
        return r;
    }
    const MessagePart* p = find_part(msg, section.part);
    if (!p) return r;
    if (section.part.empty()) {
        r.data = to_crlf(msg.bytes);
        return r;
    }
    std::string_view body = body_of(msg.bytes, *p);
    if (p->is_multipart() || p->is_message()) {
        r.data = to_crlf(body);
        return r;
    }
    const std::string& enc = p->encoding;
    if (enc == "base64" || enc == "quoted-printable") {
        r.data = decode_body(body, enc);
    } else if (enc == "7bit" || enc == "8bit" || enc == "binary") {
        r.data = to_crlf(body);
    } else {
        r.status = BinaryStatus::kUnknownCte;
        r.encoding = enc;
    }
    return r;
}

std::optional<FetchSection> parse_fetch_section(std::string_view att) {
    FetchSection f;
    std::size_t open = att.find('[');
    std::size_t close = att.rfind(']');
    if (open == std::string_view::npos || close == std::string_view::npos || close < open) return std::nullopt;
    std::string name = util::lowercase(att.substr(0, open));
    if (name == "body" || name == "body.peek") {
        f.kind = FetchSection::Kind::kBody;
    } else if (name == "binary" || name == "binary.peek") {
        f.kind = FetchSection::Kind::kBinary;
    } else if (name == "binary.size") {
        f.kind = FetchSection::Kind::kBinarySize;
    } else {
        return std::nullopt;
    }
    f.peek = name.ends_with(".peek");
    auto section = parse_section(att.substr(open + 1, close - open - 1));
    if (!section) return std::nullopt;
    if (f.kind != FetchSection::Kind::kBody && section->text != Section::Text::kNone) return std::nullopt;
    f.section = std::move(*section);
    std::string_view rest = att.substr(close + 1);
    if (!rest.empty()) {
        if (f.kind == FetchSection::Kind::kBinarySize) return std::nullopt;
        f.partial = parse_partial(rest);
        if (!f.partial) return std::nullopt;
    }
    return f;
}

std::string FetchSection::reply_name() const {
    std::string out = kind == Kind::kBody ? "BODY[" : kind == Kind::kBinary ? "BINARY[" : "BINARY.SIZE[";
    out += section.to_string();
    out += ']';
    if (partial) out += '<' + std::to_string(partial->origin) + '>';
    return out;
}

BinaryResult extract_binary(std::string_view message, const Section& section) {
    return extract_binary_of(parse_message(message), section);
}

}  // namespace mailroom::imap
