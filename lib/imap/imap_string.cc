// imap_string.cc - see imap_string.h.
#include "lib/imap/imap_string.h"

namespace mailroom::imap {

bool is_atom_char(char c) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u <= ' ' || u >= 0x7f) return false;
    switch (c) {
        case '(': case ')': case '{': case '%': case '*': case '"': case '\\': case ']':
            return false;
        default:
            return true;
    }
}

void append_quoted(std::string* out, std::string_view s) {
    bool quotable = s.size() <= kMaxQuoted;
    for (std::size_t i = 0; quotable && i < s.size(); ++i) {
        unsigned char c = static_cast<unsigned char>(s[i]);
        if (c == 0 || c == '\r' || c == '\n' || c >= 0x80) quotable = false;
    }
    if (!quotable) {
        *out += '{';
        *out += std::to_string(s.size());
        *out += "}\r\n";
        out->append(s);
        return;
    }
    out->reserve(out->size() + s.size() + 2);
    *out += '"';
    for (char c : s) {
        if (c == '"' || c == '\\') *out += '\\';
        *out += c;
    }
    *out += '"';
}

std::string imap_quote(std::string_view s) {
    std::string out;
    append_quoted(&out, s);
    return out;
}

void append_nstring(std::string* out, const std::optional<std::string_view>& s) {
    if (!s) {
        *out += "NIL";
        return;
    }
    append_quoted(out, *s);
}

std::string imap_nstring(const std::optional<std::string_view>& s) {
    std::string out;
    append_nstring(&out, s);
    return out;
}

std::string imap_astring(std::string_view s) {
    bool atom = !s.empty() && !(s.size() == 3 && (s[0] | 0x20) == 'n' && (s[1] | 0x20) == 'i' &&
                                (s[2] | 0x20) == 'l');
    for (char c : s) atom = atom && is_atom_char(c);
    if (atom) return std::string(s);
    return imap_quote(s);
}

}  // namespace mailroom::imap
