// mime_reader.h - a small, strict MIME reader for the bounce tests.
//
// Summary
//   parse_mime() reads a message (lines joined by "\n") into a tree of
//   parts: each with its header fields (unfolded, in order), its body and,
//   for multipart/* types, its sub-parts split on the boundary parameter.
//   parse_fields() reads the field groups of a message/delivery-status
//   body. Malformed input (no blank line after a header, a multipart
//   without its boundary or closing delimiter, a header line that is not a
//   field) is reported in MimePart::error, so tests fail loudly on it.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "lib/util/strings.h"

namespace mailroom::testing {

struct MimePart {
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
    std::vector<MimePart> parts;
    std::string error;  // "" = well formed

    // The first field of this name (case-insensitive), or "".
    std::string header(std::string_view name) const {
        for (const auto& [n, v] : headers)
            if (util::iequals(n, name)) return v;
        return {};
    }
    int header_count(std::string_view name) const {
        int n = 0;
        for (const auto& h : headers) n += util::iequals(h.first, name) ? 1 : 0;
        return n;
    }
    // "multipart/report" (lower case, without parameters).
    std::string content_type() const {
        std::string v = header("Content-Type");
        auto semi = v.find(';');
        return util::lowercase(util::trim(v.substr(0, semi == std::string::npos ? v.size() : semi)));
    }
    // A Content-Type parameter, unquoted.
    std::string type_param(std::string_view name) const {
        std::string v = header("Content-Type");
        std::size_t i = v.find(';');
        while (i != std::string::npos && i < v.size()) {
            ++i;
            auto eq = v.find('=', i);
            if (eq == std::string::npos) break;
            std::string key = util::lowercase(util::trim(v.substr(i, eq - i)));
            std::size_t j = eq + 1;
            std::string value;
            if (j < v.size() && v[j] == '"') {
                auto close = v.find('"', j + 1);
                value = v.substr(j + 1, close == std::string::npos ? std::string::npos : close - j - 1);
                i = close == std::string::npos ? std::string::npos : v.find(';', close);
            } else {
                auto semi = v.find(';', j);
                value = std::string(util::trim(v.substr(j, semi == std::string::npos ? std::string::npos : semi - j)));
                i = semi;
            }
            if (key == util::lowercase(name)) return value;
        }
        return {};
    }
};

inline std::vector<std::string> split_lines(std::string_view text) {
    std::vector<std::string> out;
    std::size_t start = 0;
    while (start <= text.size()) {
        auto nl = text.find('\n', start);
        if (nl == std::string_view::npos) {
            if (start < text.size()) out.emplace_back(text.substr(start));
            break;
        }
        out.emplace_back(text.substr(start, nl - start));
        start = nl + 1;
    }
    return out;
}

inline MimePart parse_mime_lines(const std::vector<std::string>& lines, std::size_t begin, std::size_t end) {
    MimePart part;
    std::size_t i = begin;
    for (; i < end && !lines[i].empty(); ++i) {
        const std::string& l = lines[i];
        if (l[0] == ' ' || l[0] == '\t') {
            if (part.headers.empty()) {
                part.error = "continuation line before any field";
                return part;
            }
            part.headers.back().second += " " + std::string(util::trim(l));
            continue;
        }
        auto colon = l.find(':');
        if (colon == std::string::npos || colon == 0) {
            part.error = "not a header field: " + l;
            return part;
        }
        part.headers.emplace_back(l.substr(0, colon), std::string(util::trim(l.substr(colon + 1))));
    }
    if (i >= end && begin < end && !lines[end - 1].empty()) {
        // A header with no body is fine only when it ends the part.
    }
    std::size_t body_begin = i < end ? i + 1 : end;
    for (std::size_t k = body_begin; k < end; ++k) part.body += lines[k] + "\n";
    if (part.content_type().rfind("multipart/", 0) == 0) {
        std::string b = part.type_param("boundary");
        if (b.empty()) {
            part.error = "multipart without boundary";
            return part;
        }
        std::string delim = "--" + b, close = "--" + b + "--";
        std::size_t start = std::string::npos;
        bool closed = false;
        for (std::size_t k = body_begin; k < end; ++k) {
            if (lines[k] == delim || lines[k] == close) {
                if (start != std::string::npos) {
                    // The line break before a delimiter belongs to the delimiter.
                    std::size_t stop = k;
                    if (stop > start && lines[stop - 1].empty()) --stop;
                    part.parts.push_back(parse_mime_lines(lines, start, stop));
                    if (!part.parts.back().error.empty()) part.error = "part: " + part.parts.back().error;
                }
                if (lines[k] == close) {
                    closed = true;
                    break;
                }
                start = k + 1;
            }
        }
        if (!closed) part.error = "multipart without its closing delimiter";
    }
    return part;
}

inline MimePart parse_mime(std::string_view text) {
    auto lines = split_lines(text);
    return parse_mime_lines(lines, 0, lines.size());
}

// Field groups of a message/delivery-status body: per-message fields
// first, then one group per recipient. Field names are lower-cased.
using FieldGroup = std::map<std::string, std::string>;
inline std::vector<FieldGroup> parse_fields(std::string_view body) {
    std::vector<FieldGroup> out;
    FieldGroup cur;
    std::string last;
    for (const auto& l : split_lines(body)) {
        if (l.empty()) {
            if (!cur.empty()) out.push_back(std::move(cur));
            cur.clear();
            continue;
        }
        if ((l[0] == ' ' || l[0] == '\t') && !last.empty()) {
            cur[last] += " " + std::string(util::trim(l));
            continue;
        }
        auto colon = l.find(':');
        last = util::lowercase(l.substr(0, colon));
        cur[last] = colon == std::string::npos ? "" : std::string(util::trim(l.substr(colon + 1)));
    }
    if (!cur.empty()) out.push_back(std::move(cur));
    return out;
}

}  // namespace mailroom::testing
