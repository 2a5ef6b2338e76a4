// fetch_structure.cc - see fetch_structure.h.
#include "lib/imap/fetch_structure.h"

#include "lib/imap/imap_string.h"
#include "lib/util/strings.h"

namespace mailroom::imap {

namespace {

constexpr std::size_t kMaxAddresses = 10000;

// Address-list tokens.
struct Tok {
    enum Kind { kWord, kQuoted, kSpecial, kComment, kDomainLiteral } kind;
    std::string text;
};

bool is_atext(char c) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u >= 0x80) return true;  // 8-bit text kept inside words
    if (u <= ' ' || u == 0x7f) return false;
    return std::string_view("()<>[]:;@\\,.\"").find(c) == std::string_view::npos;
}

std::vector<Tok> tokenize(std::string_view v) {
    std::vector<Tok> out;
    std::size_t i = 0;
    while (i < v.size() && out.size() < kMaxAddresses * 8) {
        char c = v[i];
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
            ++i;
        } else if (c == '"') {
            std::string t;
            ++i;
            while (i < v.size() && v[i] != '"') {
                if (v[i] == '\\' && i + 1 < v.size()) ++i;
                if (v[i] != '\r' && v[i] != '\n') t += v[i];
                ++i;
            }
            ++i;
            out.push_back({Tok::kQuoted, std::move(t)});
        } else if (c == '(') {
            std::string t;
            int depth = 1;
            ++i;
            while (i < v.size() && depth > 0) {
                if (v[i] == '\\' && i + 1 < v.size()) ++i;
                else if (v[i] == '(') ++depth;
                else if (v[i] == ')' && --depth == 0) break;
                if (v[i] != '\r' && v[i] != '\n') t += v[i];
                ++i;
            }
            ++i;
            out.push_back({Tok::kComment, std::move(t)});
        } else if (c == '[') {
            std::size_t close = v.find(']', i);
            if (close == std::string_view::npos) close = v.size() - 1;
            out.push_back({Tok::kDomainLiteral, std::string(v.substr(i, close - i + 1))});
            i = close + 1;
        } else if (is_atext(c)) {
            std::size_t start = i;
            while (i < v.size() && is_atext(v[i])) ++i;
            out.push_back({Tok::kWord, std::string(v.substr(start, i - start))});
        } else {
            out.push_back({Tok::kSpecial, std::string(1, c)});
            ++i;
        }
    }
    return out;
}

struct AddrParser {
    std::vector<Tok> t;
    std::size_t i = 0;
    std::vector<Address> out;
    std::string comment;  // the last comment inside an addr-spec

    bool special(char c) const { return i < t.size() && t[i].kind == Tok::kSpecial && t[i].text[0] == c; }
    void skip_comments(std::string* last) {
        while (i < t.size() && t[i].kind == Tok::kComment) {
            if (last) *last = t[i].text;
            ++i;
        }
    }

    // A phrase: words and quoted strings, joined by single spaces ('.'
    // joined without spaces, as obsolete phrases write it).
    std::string phrase(std::string* comment) {
        std::string p;
        bool glue = false;
        while (i < t.size()) {
            if (t[i].kind == Tok::kComment) {
                if (comment) *comment = t[i].text;
                ++i;
                continue;
            }
            if (t[i].kind == Tok::kSpecial && t[i].text == ".") {
                p += '.';
                glue = true;
                ++i;
                continue;
            }
            if (t[i].kind != Tok::kWord && t[i].kind != Tok::kQuoted) break;
            if (!p.empty() && !glue) p += ' ';
            p += t[i].text;
            glue = false;
            ++i;
        }
        return p;
    }

    // local-part "@" domain, with words and dots glued.
    std::string dotted(bool domain) {
        std::string s;
        while (i < t.size()) {
            if (t[i].kind == Tok::kComment) {
                comment = t[i].text;
                ++i;
                continue;
            }
            bool word = t[i].kind == Tok::kWord || t[i].kind == Tok::kQuoted ||
                        (domain && t[i].kind == Tok::kDomainLiteral);
            if (word || (t[i].kind == Tok::kSpecial && t[i].text == ".")) {
                s += t[i].text;
                ++i;
                continue;
            }
            break;
        }
        return s;
    }

    void add_mailbox(std::optional<std::string> name, std::optional<std::string> adl, std::string local,
                     std::string domain) {
        if (out.size() >= kMaxAddresses) return;
        Address a;
        a.name = std::move(name);
        a.adl = std::move(adl);
        a.mailbox = local.empty() ? "MISSING_MAILBOX" : std::move(local);
        a.host = domain.empty() ? "MISSING_DOMAIN" : std::move(domain);
        out.push_back(std::move(a));
    }

    // One mailbox; false when there is nothing to read here.
    bool mailbox() {
        std::string comment;
        std::size_t start = i;
        std::string p = phrase(&comment);
        if (special('<')) {
            ++i;
            std::optional<std::string> adl;
            if (special('@')) {
                // Obsolete source route: "@a,@b:".
                std::string route;
                while (i < t.size() && !special(':') && !special('>')) route += t[i++].text;
                if (special(':')) {
                    ++i;
                    adl = route;
                }
            }
            std::string local = dotted(false);
            std::string domain;
            if (special('@')) {
                ++i;
                domain = dotted(true);
            }
            while (i < t.size() && !special('>') && !special(',') && !special(';')) ++i;
            if (special('>')) ++i;
            std::string trailing;
            skip_comments(&trailing);
            std::optional<std::string> name;
            if (!p.empty()) name = p;
            add_mailbox(std::move(name), std::move(adl), std::move(local), std::move(domain));
            return true;
        }
        // addr-spec: re-read the words as a local part.
        i = start;
        while (i < t.size() && t[i].kind == Tok::kComment) ++i;  // a comment before it names nothing
        this->comment.clear();
        std::string local = dotted(false);
        std::string domain;
        if (special('@')) {
            ++i;
            domain = dotted(true);
        }
        std::string trailing;
        skip_comments(&trailing);
        if (local.empty() && domain.empty()) return false;
        std::optional<std::string> name;
        // A comment after the address names it ("user@host (Name)").
        if (!trailing.empty()) name = trailing;
        else if (!this->comment.empty()) name = this->comment;
        add_mailbox(std::move(name), std::nullopt, std::move(local), std::move(domain));
        return true;
    }

    void skip_to_separator() {
        while (i < t.size() && !special(',') && !special(';')) ++i;
    }

    void parse() {
        while (i < t.size() && out.size() < kMaxAddresses) {
            if (special(',')) {
                ++i;
                continue;
            }
            std::size_t start = i;
            std::string p = phrase(nullptr);
            if (special(':')) {
                ++i;
                Address g;
                g.mailbox = p;
                g.is_group_start = true;
                out.push_back(std::move(g));
                while (i < t.size() && !special(';') && out.size() < kMaxAddresses) {
                    if (special(',')) {
                        ++i;
                        continue;
                    }
                    std::size_t before = i;
                    if (!mailbox() || i == before) {
                        skip_to_separator();
                        if (i == before) ++i;
                    }
                }
                if (special(';')) ++i;
                Address end;
                end.is_group_end = true;
                out.push_back(std::move(end));
                continue;
            }
            i = start;
            std::size_t before = i;
            if (!mailbox() || i == before) {
                skip_to_separator();
                if (i == before) ++i;
            }
        }
    }
};

// Subject and display names as Dovecot writes them for people: white
// space runs made one space, CR and LF dropped, ends trimmed; a value that
// needed any of that, or holds '"', '\\', NUL or 8-bit bytes, goes out as a
// literal, anything else as a plain quoted string.
void append_for_humans(std::string* out, std::string_view s) {
    std::string clean;
    bool modified = false;
    bool last_space = true;  // drops leading white space
    for (char c : s) {
        unsigned char u = static_cast<unsigned char>(c);
        if (c == '\r' || c == '\n') {
            modified = true;
            continue;
        }
        if (c == ' ' || c == '\t') {
            if (c == '\t' || last_space) modified = true;
            if (!last_space) clean += ' ';
            last_space = true;
            continue;
        }
        if (c == '"' || c == '\\' || u == 0 || u >= 0x80) modified = true;
        clean += u == 0 ? static_cast<char>(0x80) : c;
        last_space = false;
    }
    if (!clean.empty() && clean.back() == ' ') {
        clean.pop_back();
        modified = true;
    }
    if (!modified || clean.empty()) {
        *out += '"';
        *out += clean;
        *out += '"';
        return;
    }
    *out += '{';
    *out += std::to_string(clean.size());
    *out += "}\r\n";
    *out += clean;
}

// A header value for ENVELOPE: line breaks removed, leading white space dropped.
std::optional<std::string> envelope_value(std::string_view header, std::string_view name) {
    for (const HeaderField& f : parse_header_fields(header)) {
        if (!util::iequals(f.name, name)) continue;
        std::string v;
        for (char c : f.value)
            if (c != '\r' && c != '\n') v += c;
        std::size_t start = v.find_first_not_of(" \t");
        return start == std::string::npos ? std::string() : v.substr(start);
    }
    return std::nullopt;
}

void append_address_list(std::string* out, std::string_view header, std::string_view name, bool* present) {
    std::optional<std::string> v = header_value(header, name);
    std::vector<Address> list;
    if (v) list = parse_address_list(*v);
    *present = !list.empty();
    if (list.empty()) {
        *out += "NIL";
        return;
    }
    *out += '(';
    for (const Address& a : list) {
        *out += '(';
        if (a.name) append_for_humans(out, *a.name);
        else *out += "NIL";
        *out += ' ';
        append_nstring(out, a.adl);
        *out += ' ';
        append_nstring(out, a.mailbox);
        *out += ' ';
        append_nstring(out, a.host);
        *out += ')';
    }
    *out += ')';
}

void append_params(std::string* out, const Params& params) {
    if (params.empty()) {
        *out += "NIL";
        return;
    }
    *out += '(';
    bool first = true;
    for (const auto& [k, v] : params) {
        if (!first) *out += ' ';
        first = false;
        append_quoted(out, k);
        *out += ' ';
        append_quoted(out, v);
    }
    *out += ')';
}

void append_opt(std::string* out, const std::optional<std::string>& s) {
    if (s) append_nstring(out, std::string_view(*s));
    else *out += "NIL";
}

void append_extension(std::string* out, const MessagePart& p) {
    *out += ' ';
    if (p.disposition) {
        *out += '(';
        append_quoted(out, *p.disposition);
        *out += ' ';
        append_params(out, p.disposition_params);
        *out += ')';
    } else {
        *out += "NIL";
    }
    *out += ' ';
    if (p.language.empty()) {
        *out += "NIL";
    } else {
        *out += '(';
        for (std::size_t k = 0; k < p.language.size(); ++k) {
            if (k) *out += ' ';
            append_quoted(out, p.language[k]);
        }
        *out += ')';
    }
    *out += ' ';
    append_opt(out, p.location);
}

void append_body(std::string* out, std::string_view msg, const MessagePart& p, bool extended) {
    *out += '(';
    if (p.is_multipart() && !p.children.empty()) {
        for (const auto& c : p.children) append_body(out, msg, *c, extended);
        *out += ' ';
        append_quoted(out, p.subtype_raw);
        if (extended) {
            *out += ' ';
            append_params(out, p.params);
            append_extension(out, p);
        }
        *out += ')';
        return;
    }
    append_quoted(out, p.type_raw);
    *out += ' ';
    append_quoted(out, p.subtype_raw);
    *out += ' ';
    if (p.type == "text" && !p.param("charset")) {
        // RFC 2045's default charset, spelled out as Dovecot does.
        Params with = p.params;
        with.push_back({"charset", "us-ascii"});
        append_params(out, with);
    } else {
        append_params(out, p.params);
    }
    *out += ' ';
    append_opt(out, p.id);
    *out += ' ';
    append_opt(out, p.description);
    *out += ' ';
    append_quoted(out, p.encoding_raw);
    *out += ' ';
    *out += std::to_string(p.body_size);
    if (p.is_message() && !p.children.empty()) {
        const MessagePart& inner = *p.children[0];
        *out += ' ';
        *out += imap_envelope_of_header(msg.substr(inner.header_begin, inner.body_begin - inner.header_begin));
        *out += ' ';
        append_body(out, msg, inner, extended);
        *out += ' ';
        *out += std::to_string(p.body_lines);
    } else if (p.type == "text") {
        *out += ' ';
        *out += std::to_string(p.body_lines);
    }
    if (extended) {
        *out += ' ';
        append_opt(out, p.md5);
        append_extension(out, p);
    }
    *out += ')';
}

}  // namespace

std::vector<Address> parse_address_list(std::string_view value) {
    AddrParser p;
    p.t = tokenize(value);
    p.parse();
    return std::move(p.out);
}

std::string imap_envelope_of_header(std::string_view header) {
    std::string out = "(";
    auto field = [&](std::string_view name) {
        std::optional<std::string> v = envelope_value(header, name);
        if (v) append_quoted(&out, *v);
        else out += "NIL";
    };
    field("Date");
    out += ' ';
    std::optional<std::string> subject = envelope_value(header, "Subject");
    if (subject) append_for_humans(&out, *subject);
    else out += "NIL";
    out += ' ';
    bool has_from = false;
    bool present = false;
    std::string from;
    append_address_list(&from, header, "From", &has_from);
    out += from;
    out += ' ';
    for (const char* name : {"Sender", "Reply-To"}) {
        std::string list;
        append_address_list(&list, header, name, &present);
        out += present ? list : from;
        out += ' ';
    }
    for (const char* name : {"To", "Cc", "Bcc"}) {
        append_address_list(&out, header, name, &present);
        out += ' ';
    }
    field("In-Reply-To");
    out += ' ';
    field("Message-ID");
    out += ')';
    return out;
}

std::string imap_envelope(std::string_view message) {
    ParsedMessage m = parse_message(message);
    return imap_envelope_of_header(message.substr(0, m.root->body_begin));
}

std::string imap_bodystructure_of(const ParsedMessage& msg, bool extended) {
    std::string out;
    append_body(&out, msg.bytes, *msg.root, extended);
    return out;
}

std::string imap_bodystructure(std::string_view message, bool extended) {
    return imap_bodystructure_of(parse_message(message), extended);
}

}  // namespace mailroom::imap
