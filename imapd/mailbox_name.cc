// mailbox_name.cc - see mailbox_name.h.
#include "imapd/mailbox_name.h"

#include <cstdint>
#include <vector>

#include "lib/util/base64.h"

namespace mailroom::imapd {
namespace {

constexpr char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

// Modified base64: ',' where base64 has '/'.
int b64_value(char c) {
    if (c == ',') return 63;
    return c == '/' ? -1 : util::base64_value(c);
}

bool direct(unsigned char c) { return c >= 0x20 && c <= 0x7e; }

// Next code point of valid UTF-8 (no overlongs, surrogates or > U+10FFFF).
bool next_utf8(std::string_view s, std::size_t* at, std::uint32_t* cp) {
    const auto c = static_cast<unsigned char>(s[*at]);
    int n;
    std::uint32_t v;
    if (c < 0x80) n = 0, v = c;
    else if ((c & 0xe0) == 0xc0) n = 1, v = c & 0x1f;
    else if ((c & 0xf0) == 0xe0) n = 2, v = c & 0x0f;
    else if ((c & 0xf8) == 0xf0) n = 3, v = c & 0x07;
    else return false;
    if (n > 0 && *at + n >= s.size()) return false;
    for (int i = 1; i <= n; ++i) {
        const auto d = static_cast<unsigned char>(s[*at + i]);
        if ((d & 0xc0) != 0x80) return false;
        v = (v << 6) | (d & 0x3f);
    }
    static constexpr std::uint32_t kMin[] = {0, 0x80, 0x800, 0x10000};
    if (v < kMin[n] || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff)) return false;
    *at += n + 1;
    *cp = v;
    return true;
}

void put_utf8(std::uint32_t v, std::string* out) {
    if (v < 0x80) {
        out->push_back(static_cast<char>(v));
    } else if (v < 0x800) {
        out->push_back(static_cast<char>(0xc0 | (v >> 6)));
        out->push_back(static_cast<char>(0x80 | (v & 0x3f)));
    } else if (v < 0x10000) {
        out->push_back(static_cast<char>(0xe0 | (v >> 12)));
        out->push_back(static_cast<char>(0x80 | ((v >> 6) & 0x3f)));
        out->push_back(static_cast<char>(0x80 | (v & 0x3f)));
    } else {
        out->push_back(static_cast<char>(0xf0 | (v >> 18)));
        out->push_back(static_cast<char>(0x80 | ((v >> 12) & 0x3f)));
        out->push_back(static_cast<char>(0x80 | ((v >> 6) & 0x3f)));
        out->push_back(static_cast<char>(0x80 | (v & 0x3f)));
    }
}

void flush_shift(std::vector<std::uint16_t>* units, std::string* out) {
    if (units->empty()) return;
    out->push_back('&');
    std::uint32_t bits = 0;
    int nbits = 0;
    for (auto u : *units) {
        bits = (bits << 16) | u;
        nbits += 16;
        while (nbits >= 6) {
            nbits -= 6;
            out->push_back(kB64[(bits >> nbits) & 0x3f]);
        }
        bits &= (1u << nbits) - 1;
    }
    if (nbits > 0) out->push_back(kB64[(bits << (6 - nbits)) & 0x3f]);
    out->push_back('-');
    units->clear();
}

}  // namespace

std::optional<std::string> utf8_to_mutf7(std::string_view s) {
    std::string out;
    std::vector<std::uint16_t> units;
    for (std::size_t i = 0; i < s.size();) {
        std::uint32_t cp;
        if (!next_utf8(s, &i, &cp)) return std::nullopt;
        if (cp < 0x80 && direct(static_cast<unsigned char>(cp))) {
            flush_shift(&units, &out);
            out += cp == '&' ? std::string("&-") : std::string(1, static_cast<char>(cp));
        } else if (cp >= 0x10000) {
            cp -= 0x10000;
            units.push_back(static_cast<std::uint16_t>(0xd800 | (cp >> 10)));
            units.push_back(static_cast<std::uint16_t>(0xdc00 | (cp & 0x3ff)));
        } else {
            units.push_back(static_cast<std::uint16_t>(cp));
        }
    }
    flush_shift(&units, &out);
    return out;
}

std::optional<std::string> mutf7_to_utf8(std::string_view s) {
    std::string out;
    for (std::size_t i = 0; i < s.size();) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (!direct(c)) return std::nullopt;
        if (c != '&') {
            out.push_back(static_cast<char>(c));
            ++i;
            continue;
        }
        const std::size_t end = s.find('-', i + 1);
        if (end == std::string_view::npos) return std::nullopt;
        if (end == i + 1) {
            out.push_back('&');
            i = end + 1;
            continue;
        }
        std::uint32_t bits = 0;
        int nbits = 0;
        std::uint32_t high = 0;  // a pending high surrogate
        for (std::size_t k = i + 1; k < end; ++k) {
            const int v = b64_value(s[k]);
            if (v < 0) return std::nullopt;
            bits = (bits << 6) | static_cast<std::uint32_t>(v);
            nbits += 6;
            if (nbits < 16) continue;
            nbits -= 16;
            const std::uint32_t u = (bits >> nbits) & 0xffff;
            bits &= (1u << nbits) - 1;
            if (high) {
                if (u < 0xdc00 || u > 0xdfff) return std::nullopt;
                put_utf8(0x10000 + ((high - 0xd800) << 10) + (u - 0xdc00), &out);
                high = 0;
            } else if (u >= 0xd800 && u <= 0xdbff) {
                high = u;
            } else if ((u >= 0xdc00 && u <= 0xdfff) || (u < 0x80 && direct(static_cast<unsigned char>(u)))) {
                return std::nullopt;  // a lone low surrogate, or a character that is written directly
            } else {
                put_utf8(u, &out);
            }
        }
        // Leftover bits are padding: fewer than 6 and all zero.
        if (high || nbits >= 6 || bits != 0) return std::nullopt;
        i = end + 1;
    }
    return out;
}

}  // namespace mailroom::imapd
