// address_list.cc - see address_list.h.
#include "lib/submit/address_list.h"

#include "lib/address/address.h"
#include "lib/util/strings.h"

namespace mailroom::submit {

namespace {

bool is_ws(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// Fills the address range of a member [b, e).
void locate_address(std::string_view v, AddressMember* m) {
    // First pass: an angle-bracket address at the top level wins.
    int comment = 0;
    bool quoted = false;
    for (std::size_t i = m->begin; i < m->end; ++i) {
        char c = v[i];
        if (quoted) {
            if (c == '\\') ++i;
            else if (c == '"') quoted = false;
            continue;
        }
        if (comment > 0) {
            if (c == '\\') ++i;
            else if (c == '(') ++comment;
            else if (c == ')') --comment;
            continue;
        }
        if (c == '"') quoted = true;
        else if (c == '(') comment = 1;
        else if (c == '<') {
            std::size_t close = v.find('>', i + 1);
            if (close == std::string_view::npos || close > m->end) close = m->end;
            m->addr_begin = i + 1;
            m->addr_end = close;
            return;
        }
    }
    // Otherwise the first token outside comments.
    comment = 0;
    std::size_t i = m->begin;
    for (; i < m->end; ++i) {
        char c = v[i];
        if (comment > 0) {
            if (c == '\\') ++i;
            else if (c == '(') ++comment;
            else if (c == ')') --comment;
            continue;
        }
        if (c == '(') comment = 1;
        else if (!is_ws(c)) break;
    }
    std::size_t j = i;
    quoted = false;
    for (; j < m->end; ++j) {
        char c = v[j];
        if (quoted) {
            if (c == '\\') ++j;
            else if (c == '"') quoted = false;
            continue;
        }
        if (c == '"') quoted = true;
        else if (is_ws(c) || c == '(') break;
    }
    m->addr_begin = i < m->end ? i : m->end;
    m->addr_end = j < m->end ? j : m->end;
}

}  // namespace

std::vector<AddressMember> split_address_list(std::string_view v) {
    std::vector<AddressMember> out;
    int comment = 0;
    bool quoted = false;
    bool angle = false;
    std::size_t start = 0;
    auto close_member = [&](std::size_t end) {
        AddressMember m;
        m.begin = start;
        m.end = end;
        locate_address(v, &m);
        if (m.addr_end > m.addr_begin || v.substr(m.begin, m.end - m.begin).find("<>") != std::string_view::npos)
            out.push_back(m);
        start = end + 1;
    };
    for (std::size_t i = 0; i < v.size(); ++i) {
        char c = v[i];
        if (quoted) {
            if (c == '\\') ++i;
            else if (c == '"') quoted = false;
            continue;
        }
        if (comment > 0) {
            if (c == '\\') ++i;
            else if (c == '(') ++comment;
            else if (c == ')') --comment;
            continue;
        }
        if (angle) {
            if (c == '>') angle = false;
            continue;
        }
        switch (c) {
            case '"': quoted = true; break;
            case '(': comment = 1; break;
            case '<': angle = true; break;
            case ':': start = i + 1; break;  // "group:" - the display name is not an address
            case ',':
            case ';': close_member(i); break;
            default: break;
        }
    }
    if (start <= v.size()) close_member(v.size());
    return out;
}

std::vector<std::string> addresses_in(std::string_view value) {
    std::vector<std::string> out;
    for (const auto& m : split_address_list(value)) {
        std::string a(util::trim(value.substr(m.addr_begin, m.addr_end - m.addr_begin)));
        if (!a.empty()) out.push_back(std::move(a));
    }
    return out;
}

std::string qualify_address(std::string_view address, std::string_view domain) {
    if (address.empty() || domain.empty() || address::split(address).has_at) return std::string(address);
    return std::string(address) + "@" + std::string(domain);
}

std::string qualify_header_value(std::string_view value, std::string_view domain) {
    std::string out;
    std::size_t copied = 0;
    for (const auto& m : split_address_list(value)) {
        std::string_view addr = value.substr(m.addr_begin, m.addr_end - m.addr_begin);
        std::string q = qualify_address(addr, domain);
        if (q == addr) continue;
        out.append(value.substr(copied, m.addr_begin - copied));
        out.append(q);
        copied = m.addr_end;
    }
    out.append(value.substr(copied));
    return out;
}

}  // namespace mailroom::submit
