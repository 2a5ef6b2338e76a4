// table_text.cc - logical lines, map-format and alias-format sources.
//
// Description
//   See table_text.h. Everything here is pure: text in, entries and
//   warnings out.
#include "lib/table/table_text.h"

#include "lib/util/strings.h"

namespace mailroom::table {

using util::format;
using util::is_space;
using util::trim;

namespace {

std::string where(std::string_view filename, int line) {
    return std::string(filename) + ", line " + std::to_string(line) + ": ";
}

// Reads a double-quoted token starting at s[0] == '"'. On success returns
// the unquoted text and sets *consumed to the length including both quotes.
bool read_quoted(std::string_view s, std::string* out, size_t* consumed) {
    out->clear();
    for (size_t i = 1; i < s.size(); ++i) {
        char c = s[i];
        if (c == '\\' && i + 1 < s.size()) {
            out->push_back(s[++i]);
        } else if (c == '"') {
            *consumed = i + 1;
            return true;
        } else {
            out->push_back(c);
        }
    }
    return false;
}

}  // namespace

std::vector<TextLine> split_table_lines(std::string_view text, std::string_view filename,
                                        std::vector<std::string>* warnings) {
    std::vector<TextLine> out;
    bool have = false;
    bool too_long = false;
    TextLine cur;
    auto finish = [&]() {
        if (have) {
            if (too_long) {
                if (warnings) warnings->push_back(where(filename, cur.line) + "line too long; skipped");
            } else {
                cur.text = std::string(trim(cur.text));
                out.push_back(std::move(cur));
            }
        }
        cur = TextLine{};
        have = false;
        too_long = false;
    };
    int lineno = 0;
    size_t pos = 0;
    while (pos < text.size()) {
        size_t nl = text.find('\n', pos);
        std::string_view phys = text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
        pos = (nl == std::string_view::npos) ? text.size() : nl + 1;
        ++lineno;
        if (!phys.empty() && phys.back() == '\r') phys.remove_suffix(1);
        std::string_view t = trim(phys);
        if (t.empty() || t[0] == '#') continue;
        if (is_space(phys[0])) {
            if (!have) {
                if (warnings) warnings->push_back(where(filename, lineno) + "continuation line without a preceding entry; skipped");
                continue;
            }
            // As Postfix's readllines(): only the newline goes; the
            // continuation keeps its leading whitespace.
            if (cur.text.size() + phys.size() > kMaxLineLength) {
                too_long = true;
            } else {
                cur.text += phys;
            }
            continue;
        }
        finish();
        have = true;
        cur.line = lineno;
        if (phys.size() > kMaxLineLength) {
            too_long = true;
        } else {
            cur.text = std::string(phys);
        }
    }
    finish();
    return out;
}

TextEntry parse_map_line(std::string_view line, std::string* error) {
    TextEntry e;
    std::string_view s = trim(line);
    size_t key_end = 0;
    if (!s.empty() && s[0] == '"') {
        size_t consumed = 0;
        if (!read_quoted(s, &e.key, &consumed)) {
            *error = "missing closing '\"' in key";
            e.key.clear();
            return e;
        }
        key_end = consumed;
        if (key_end < s.size() && !is_space(s[key_end])) {
            *error = "missing white space after quoted key";
            e.key.clear();
            return e;
        }
    } else {
        while (key_end < s.size() && !is_space(s[key_end])) ++key_end;
        e.key = std::string(s.substr(0, key_end));
    }
    e.value = std::string(trim(s.substr(key_end)));
    if (e.value.empty()) {
        *error = "expected format: key whitespace value";
        e.key.clear();
        return e;
    }
    return e;
}

TextParse parse_map_source(std::string_view text, std::string_view filename) {
    TextParse p;
    for (TextLine& l : split_table_lines(text, filename, &p.warnings)) {
        std::string err;
        TextEntry e = parse_map_line(l.text, &err);
        if (e.key.empty()) {
            p.warnings.push_back(where(filename, l.line) + err);
            continue;
        }
        if (e.key.size() > 1 && e.key.back() == ':') {
            p.warnings.push_back(where(filename, l.line) + "record is in \"key: value\" format; is this an alias file?");
        }
        e.line = l.line;
        p.entries.push_back(std::move(e));
    }
    return p;
}

TextEntry parse_alias_line(std::string_view line, std::string* error) {
    TextEntry e;
    std::string_view s = trim(line);
    size_t colon = std::string_view::npos;
    if (!s.empty() && s[0] == '"') {
        size_t consumed = 0;
        if (!read_quoted(s, &e.key, &consumed)) {
            *error = "missing closing '\"' in alias name";
            e.key.clear();
            return e;
        }
        std::string_view rest = trim(s.substr(consumed));
        if (rest.empty() || rest[0] != ':') {
            *error = "need name:value pair";
            e.key.clear();
            return e;
        }
        e.value = std::string(trim(rest.substr(1)));
    } else {
        colon = s.find(':');
        if (colon == std::string_view::npos) {
            *error = "need name:value pair";
            return e;
        }
        e.key = std::string(trim(s.substr(0, colon)));
        e.value = std::string(trim(s.substr(colon + 1)));
    }
    if (e.key.empty()) {
        *error = "missing alias name";
        return e;
    }
    if (e.value.empty()) {
        *error = format("missing alias value for \"%s\"", e.key.c_str());
        e.key.clear();
        return e;
    }
    return e;
}

TextParse parse_alias_source(std::string_view text, std::string_view filename) {
    TextParse p;
    for (TextLine& l : split_table_lines(text, filename, &p.warnings)) {
        std::string err;
        TextEntry e = parse_alias_line(l.text, &err);
        if (e.key.empty()) {
            p.warnings.push_back(where(filename, l.line) + err);
            continue;
        }
        e.line = l.line;
        p.entries.push_back(std::move(e));
    }
    return p;
}

std::string strip_braces(std::string_view text) {
    std::string_view t = trim(text);
    if (t.size() >= 2 && t.front() == '{' && t.back() == '}') t = trim(t.substr(1, t.size() - 2));
    return std::string(t);
}

std::vector<std::string> split_brace_list(std::string_view text, std::string* error) {
    std::vector<std::string> out;
    std::string_view t = trim(text);
    if (!t.empty() && t.front() == '{') {
        if (t.back() != '}') {
            *error = "missing '}'";
            return {};
        }
        t = t.substr(1, t.size() - 2);
    }
    std::string cur;
    int depth = 0;
    auto flush = [&]() {
        std::string_view v = trim(cur);
        if (!v.empty()) out.push_back(strip_braces(v));
        cur.clear();
    };
    for (char c : t) {
        if (c == '{') {
            ++depth;
        } else if (c == '}') {
            if (--depth < 0) {
                *error = "unbalanced '}'";
                return {};
            }
        }
        if (depth == 0 && (c == ',' || is_space(c))) {
            flush();
            continue;
        }
        cur.push_back(c);
    }
    if (depth != 0) {
        *error = "missing '}'";
        return {};
    }
    flush();
    return out;
}

}  // namespace mailroom::table
