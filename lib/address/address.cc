// address.cc - see address.h.
#include "lib/address/address.h"

#include <arpa/inet.h>

#include "lib/util/strings.h"

namespace mailroom::address {

Parts split(std::string_view address) {
    Parts p;
    size_t at = address.rfind('@');
    if (at == std::string_view::npos) {
        p.local = std::string(address);
        return p;
    }
    p.local = std::string(address.substr(0, at));
    p.domain = std::string(address.substr(at + 1));
    p.has_at = true;
    return p;
}

std::string local_part(std::string_view address) { return split(address).local; }

std::string domain_lower(std::string_view address) { return util::lowercase(split(address).domain); }

namespace {

bool is_atext(char c) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
    if (static_cast<unsigned char>(c) >= 0x80) return true;  // SMTPUTF8 (RFC 6531 atext)
    return std::string_view("!#$%&'*+-/=?^_`{|}~").find(c) != std::string_view::npos;
}

}  // namespace

bool is_dot_atom(std::string_view s) {
    if (s.empty() || s.front() == '.' || s.back() == '.') return false;
    for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '.') {
            if (s[i + 1] == '.') return false;
            continue;
        }
        if (!is_atext(s[i])) return false;
    }
    return true;
}

bool is_quoted_string(std::string_view s) {
    if (s.size() < 2 || s.front() != '"' || s.back() != '"') return false;
    for (size_t i = 1; i + 1 < s.size(); ++i) {
        if (s[i] == '\\') {
            if (i + 2 >= s.size()) return false;  // the escape would eat the closing quote
            ++i;
            continue;
        }
        if (s[i] == '"') return false;
    }
    return true;
}

std::string quote_local_part(std::string_view local) {
    if (is_dot_atom(local)) return std::string(local);
    std::string out = "\"";
    for (char c : local) {
        if (c == '"' || c == '\\') out.push_back('\\');
        out.push_back(c);
    }
    out.push_back('"');
    return out;
}

std::string unquote_local_part(std::string_view local) {
    if (!is_quoted_string(local)) return std::string(local);
    std::string out;
    for (size_t i = 1; i + 1 < local.size(); ++i) {
        if (local[i] == '\\') ++i;
        out.push_back(local[i]);
    }
    return out;
}

std::string join(std::string_view local, std::string_view domain) {
    return quote_local_part(local) + "@" + std::string(domain);
}

ExtensionSplit split_extension(std::string_view local, const ExtensionRules& rules) {
    ExtensionSplit out{std::string(local), "", 0};
    if (rules.delimiters.empty()) return out;
    // Names that are never split, whatever the delimiter.
    if (util::iequals(local, "postmaster") || util::iequals(local, "mailer-daemon") ||
        (!rules.double_bounce_sender.empty() && util::iequals(local, rules.double_bounce_sender)))
        return out;
    // Backwards compatibility: owner-foo and foo-request are names of their own.
    if (rules.owner_request_special && rules.delimiters.find('-') != std::string_view::npos) {
        if (util::starts_with_icase(local, "owner-")) return out;
        if (local.size() > 8 && util::iequals(local.substr(local.size() - 8), "-request")) return out;
    }
    size_t pos = local.find_first_of(rules.delimiters);
    if (pos == std::string_view::npos || pos == 0) return out;
    out.user = std::string(local.substr(0, pos));
    out.extension = std::string(local.substr(pos + 1));
    out.delimiter = local[pos];
    return out;
}

std::optional<Stripped> strip_extension(std::string_view address, const ExtensionRules& rules) {
    Parts p = split(address);
    bool quoted = is_quoted_string(p.local);
    std::string local = quoted ? unquote_local_part(p.local) : std::string(p.local);
    ExtensionSplit e = split_extension(local, rules);
    if (!e.split()) return std::nullopt;
    Stripped s;
    std::string user = quoted ? quote_local_part(e.user) : e.user;
    s.address = p.has_at ? user + "@" + std::string(p.domain) : user;
    s.extension = std::string(1, e.delimiter) + e.extension;
    return s;
}

std::string add_extension(std::string_view address, std::string_view extension) {
    Parts p = split(address);
    if (extension.empty()) return std::string(address);
    if (is_quoted_string(p.local)) {
        std::string local = quote_local_part(unquote_local_part(p.local) + std::string(extension));
        return p.has_at ? local + "@" + std::string(p.domain) : local;
    }
    std::string out = std::string(p.local) + std::string(extension);
    if (p.has_at) out += "@" + std::string(p.domain);
    return out;
}

std::string_view strip_trailing_dot(std::string_view domain) {
    if (domain.size() > 1 && domain.back() == '.' && domain[domain.size() - 2] != '.') domain.remove_suffix(1);
    return domain;
}

std::optional<std::string> address_literal(std::string_view domain) {
    if (domain.size() < 3 || domain.front() != '[' || domain.back() != ']') return std::nullopt;
    std::string inner(domain.substr(1, domain.size() - 2));
    unsigned char buf[sizeof(struct in6_addr)];
    if (util::starts_with_icase(inner, "IPv6:")) {
        inner = inner.substr(5);
        if (inet_pton(AF_INET6, inner.c_str(), buf) != 1) return std::nullopt;
        return inner;
    }
    if (inet_pton(AF_INET, inner.c_str(), buf) != 1) return std::nullopt;
    return inner;
}

}  // namespace mailroom::address
