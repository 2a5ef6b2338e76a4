// decode.cc - see decode.h.
#include "lib/imap/decode.h"

#include <iconv.h>
#include <locale.h>
#include <wctype.h>

#include <cerrno>
#include <cstdint>

#include "lib/util/base64.h"
#include "lib/util/strings.h"

namespace mailroom::imap {

namespace {

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

void append_utf8(std::string* out, std::uint32_t cp) {
    if (cp < 0x80) {
        *out += static_cast<char>(cp);
    } else if (cp < 0x800) {
        *out += static_cast<char>(0xc0 | (cp >> 6));
        *out += static_cast<char>(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
        *out += static_cast<char>(0xe0 | (cp >> 12));
        *out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
        *out += static_cast<char>(0x80 | (cp & 0x3f));
    } else {
        *out += static_cast<char>(0xf0 | (cp >> 18));
        *out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
        *out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
        *out += static_cast<char>(0x80 | (cp & 0x3f));
    }
}

constexpr std::uint32_t kInvalid = 0xffffffffu;

// Decodes one UTF-8 sequence at s[*i] (advancing *i); kInvalid for a bad
// byte (then *i moves past that one byte).
std::uint32_t next_code_point(std::string_view s, std::size_t* i) {
    unsigned char c = static_cast<unsigned char>(s[*i]);
    if (c < 0x80) {
        ++*i;
        return c;
    }
    int len = c >= 0xf0 && c <= 0xf4 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 && c < 0xe0 ? 2 : 0;
    if (len == 0 || *i + len > s.size()) {
        ++*i;
        return kInvalid;
    }
    std::uint32_t cp = c & (0x7f >> len);
    for (int k = 1; k < len; ++k) {
        unsigned char d = static_cast<unsigned char>(s[*i + k]);
        if ((d & 0xc0) != 0x80) {
            ++*i;
            return kInvalid;
        }
        cp = (cp << 6) | (d & 0x3f);
    }
    bool overlong = (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000);
    if (overlong || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
        ++*i;
        return kInvalid;
    }
    *i += len;
    return cp;
}

}  // namespace

std::string repair_utf8(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    std::size_t i = 0;
    while (i < s.size()) {
        std::size_t start = i;
        std::uint32_t cp = next_code_point(s, &i);
        if (cp == kInvalid) append_utf8(&out, 0xfffd);
        else out.append(s.substr(start, i - start));
    }
    return out;
}

namespace {

bool sane_charset(std::string_view cs) {
    if (cs.empty() || cs.size() > 64) return false;
    for (char c : cs)
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' || c == ':'))
            return false;
    return true;
}

// One RFC 2047 encoded word at s[pos] ("=?cs?e?text?="): its charset and
// decoded bytes, and where it ends. False when it is not a valid word.
bool encoded_word(std::string_view s, std::size_t pos, std::string* charset, std::string* bytes,
                  std::size_t* end) {
    if (s.substr(pos, 2) != "=?") return false;
    std::size_t q1 = s.find('?', pos + 2);
    if (q1 == std::string_view::npos || q1 + 2 >= s.size() || s[q1 + 2] != '?') return false;
    char enc = static_cast<char>(s[q1 + 1] | 0x20);
    std::size_t text_begin = q1 + 3;
    std::size_t close = s.find("?=", text_begin);
    if (close == std::string_view::npos) return false;
    std::string_view text = s.substr(text_begin, close - text_begin);
    for (char c : text)
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n') return false;
    std::string_view cs = s.substr(pos + 2, q1 - pos - 2);
    std::size_t lang = cs.find('*');  // RFC 2231 language suffix
    if (lang != std::string_view::npos) cs = cs.substr(0, lang);
    if (!sane_charset(cs)) return false;
    bytes->clear();
    if (enc == 'b') {
        for (char c : text)
            if (c != '=' && util::base64_value(c) < 0) return false;
        *bytes = decode_base64(text);
    } else if (enc == 'q') {
        for (std::size_t i = 0; i < text.size(); ++i) {
            if (text[i] == '_') {
                *bytes += ' ';
            } else if (text[i] == '=' && i + 2 < text.size() && hex_value(text[i + 1]) >= 0 &&
                       hex_value(text[i + 2]) >= 0) {
                *bytes += static_cast<char>(hex_value(text[i + 1]) * 16 + hex_value(text[i + 2]));
                i += 2;
            } else if (text[i] == '=') {
                return false;
            } else {
                *bytes += text[i];
            }
        }
    } else {
        return false;
    }
    *charset = util::lowercase(cs);
    *end = close + 2;
    return true;
}

locale_t utf8_locale() {
    static locale_t loc = [] {
        locale_t l = newlocale(LC_CTYPE_MASK, "C.UTF-8", static_cast<locale_t>(nullptr));
        return l;
    }();
    return loc;
}

}  // namespace

bool is_valid_utf8(std::string_view s) {
    std::size_t i = 0;
    while (i < s.size())
        if (next_code_point(s, &i) == kInvalid) return false;
    return true;
}

std::string utf8_or_latin1(std::string_view text) {
    if (is_valid_utf8(text)) return std::string(text);
    std::string out;
    out.reserve(text.size() * 2);
    for (char c : text) append_utf8(&out, static_cast<unsigned char>(c));
    return out;
}

std::optional<std::string> to_utf8(std::string_view text, std::string_view charset_in) {
    std::string charset = util::lowercase(util::trim(charset_in));
    if (charset.empty() || charset == "us-ascii" || charset == "ascii") return utf8_or_latin1(text);
    if (charset == "utf-8" || charset == "utf8") return repair_utf8(text);
    if (!sane_charset(charset)) return std::nullopt;
    iconv_t cd = iconv_open("UTF-8", charset.c_str());
    if (cd == reinterpret_cast<iconv_t>(-1)) return std::nullopt;
    std::string out;
    out.reserve(text.size() * 2);
    char buf[4096];
    char* in = const_cast<char*>(text.data());
    std::size_t in_left = text.size();
    while (in_left > 0) {
        char* o = buf;
        std::size_t o_left = sizeof buf;
        std::size_t r = iconv(cd, &in, &in_left, &o, &o_left);
        out.append(buf, static_cast<std::size_t>(o - buf));
        if (r != static_cast<std::size_t>(-1)) continue;
        if (errno == E2BIG) continue;
        // An invalid or truncated sequence: one replacement, then go on.
        append_utf8(&out, 0xfffd);
        if (errno == EINVAL) break;
        ++in;
        --in_left;
    }
    char* o = buf;
    std::size_t o_left = sizeof buf;
    iconv(cd, nullptr, nullptr, &o, &o_left);
    out.append(buf, static_cast<std::size_t>(o - buf));
    iconv_close(cd);
    return out;
}

std::string decode_header_value(std::string_view raw) {
    // Unfold: a line break and the white space after it become that white space.
    std::string v;
    v.reserve(raw.size());
    for (char c : raw)
        if (c != '\r' && c != '\n') v += c;
    std::string out;
    std::string pending;          // bytes of adjacent encoded words in one charset
    std::string pending_charset;  // their charset
    std::string gap;              // white space after an encoded word
    bool after_word = false;
    auto flush = [&] {
        if (pending_charset.empty()) return;
        auto u = to_utf8(pending, pending_charset);
        out += u ? *u : repair_utf8(pending);
        pending.clear();
        pending_charset.clear();
    };
    std::size_t i = 0;
    std::size_t plain_begin = 0;
    auto emit_plain = [&](std::size_t stop) {
        if (stop > plain_begin) {
            flush();
            out += repair_utf8(std::string_view(v).substr(plain_begin, stop - plain_begin));
        }
    };
    while (i < v.size()) {
        std::string cs;
        std::string bytes;
        std::size_t end = 0;
        if (v[i] == '=' && i + 1 < v.size() && v[i + 1] == '?' && encoded_word(v, i, &cs, &bytes, &end)) {
            std::string_view between = std::string_view(v).substr(plain_begin, i - plain_begin);
            bool only_space = after_word && between.find_first_not_of(" \t") == std::string_view::npos;
            bool known = to_utf8("", cs).has_value();
            if (!only_space || !known) emit_plain(i);
            if (!known) {
                // Unknown charset: the word stays as written.
                flush();
                out.append(v, i, end - i);
            } else {
                if (cs != pending_charset) flush();
                pending_charset = cs;
                pending += bytes;
            }
            after_word = known;
            i = end;
            plain_begin = i;
            continue;
        }
        ++i;
    }
    emit_plain(v.size());
    flush();
    return out;
}

std::string decode_base64(std::string_view text) { return util::base64_decode_lenient(text); }

std::string decode_qp(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    std::size_t pos = 0;
    while (pos < text.size()) {
        std::size_t lf = text.find('\n', pos);
        bool has_break = lf != std::string_view::npos;
        std::string_view line = text.substr(pos, has_break ? lf - pos : std::string_view::npos);
        pos = has_break ? lf + 1 : text.size();
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        // Trailing white space was added in transport (RFC 2045 6.7 rule 3).
        while (!line.empty() && (line.back() == ' ' || line.back() == '\t')) line.remove_suffix(1);
        bool soft = !line.empty() && line.back() == '=';
        if (soft) line.remove_suffix(1);
        for (std::size_t i = 0; i < line.size(); ++i) {
            if (line[i] == '=' && i + 2 < line.size() && hex_value(line[i + 1]) >= 0 &&
                hex_value(line[i + 2]) >= 0) {
                out += static_cast<char>(hex_value(line[i + 1]) * 16 + hex_value(line[i + 2]));
                i += 2;
            } else {
                out += line[i];
            }
        }
        if (has_break && !soft) out += "\r\n";
    }
    return out;
}

std::string decode_body(std::string_view body, std::string_view encoding, bool* known) {
    std::string enc = util::lowercase(util::trim(encoding));
    if (known) *known = true;
    if (enc == "base64") return decode_base64(body);
    if (enc == "quoted-printable") return decode_qp(body);
    if (known && !(enc.empty() || enc == "7bit" || enc == "8bit" || enc == "binary")) *known = false;
    return std::string(body);
}

std::string fold_case(std::string_view utf8) {
    std::string out;
    out.reserve(utf8.size());
    locale_t loc = utf8_locale();
    std::size_t i = 0;
    while (i < utf8.size()) {
        unsigned char c = static_cast<unsigned char>(utf8[i]);
        if (c < 0x80) {
            out += static_cast<char>(c >= 'a' && c <= 'z' ? c - 32 : c);
            ++i;
            continue;
        }
        std::size_t start = i;
        std::uint32_t cp = next_code_point(utf8, &i);
        if (cp == kInvalid) {
            append_utf8(&out, 0xfffd);
            continue;
        }
        if (loc != static_cast<locale_t>(nullptr)) {
            append_utf8(&out, static_cast<std::uint32_t>(towupper_l(static_cast<wint_t>(cp), loc)));
        } else {
            out.append(utf8.substr(start, i - start));
        }
    }
    return out;
}

bool contains_folded(std::string_view haystack_folded, std::string_view needle_folded) {
    return haystack_folded.find(needle_folded) != std::string_view::npos;
}

}  // namespace mailroom::imap
