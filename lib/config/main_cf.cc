// main_cf.cc - see main_cf.h.
#include "lib/config/main_cf.h"

#include <map>

#include "lib/util/strings.h"

namespace mailroom::config {

using util::format;

bool valid_param_name(std::string_view name) {
    if (name.empty()) return false;
    for (char c : name) {
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                  c == '.' || c == '-';
        if (!ok) return false;
    }
    return true;
}

std::vector<LogicalLine> split_logical_lines(std::string_view text, std::vector<int>* orphans) {
    std::vector<LogicalLine> out;
    int lineno = 0;
    size_t pos = 0;
    bool have_current = false;
    while (pos < text.size()) {
        size_t nl = text.find('\n', pos);
        std::string_view raw = nl == std::string_view::npos ? text.substr(pos) : text.substr(pos, nl - pos);
        pos = nl == std::string_view::npos ? text.size() : nl + 1;
        ++lineno;
        std::string_view body = util::trim(raw);
        if (body.empty() || body.front() == '#') continue;
        if (util::is_space(raw.front())) {
            if (!have_current) {
                if (orphans) orphans->push_back(lineno);
                continue;
            }
            LogicalLine& cur = out.back();
            cur.text.push_back(' ');
            cur.text.append(body);
            cur.last_line = lineno;
            continue;
        }
        out.push_back(LogicalLine{std::string(util::trim_right(raw)), lineno, lineno});
        have_current = true;
    }
    return out;
}

Result<MainCfFile> parse_main_cf(std::string_view text, std::string_view filename) {
    MainCfFile file;
    std::vector<int> orphans;
    std::vector<LogicalLine> lines = split_logical_lines(text, &orphans);
    std::string fname(filename);
    for (int ln : orphans) {
        file.warnings.push_back(format("%s, line %d: ignoring continuation line without a preceding parameter",
                                       fname.c_str(), ln));
    }
    std::map<std::string, int> seen;
    for (const LogicalLine& l : lines) {
        size_t eq = l.text.find('=');
        if (eq == std::string::npos) {
            return make_error(format("%s, line %d: missing '=' after attribute name: \"%s\"", fname.c_str(),
                                     l.first_line, l.text.c_str()));
        }
        std::string name(util::trim(std::string_view(l.text).substr(0, eq)));
        std::string value(util::trim(std::string_view(l.text).substr(eq + 1)));
        if (name.empty()) {
            return make_error(format("%s, line %d: missing attribute name: \"%s\"", fname.c_str(), l.first_line,
                                     l.text.c_str()));
        }
        if (!valid_param_name(name)) {
            return make_error(format("%s, line %d: bad parameter name: \"%s\"", fname.c_str(), l.first_line,
                                     name.c_str()));
        }
        auto it = seen.find(name);
        if (it != seen.end()) {
            file.warnings.push_back(format("%s, line %d: overriding earlier entry (line %d): %s=%s",
                                           fname.c_str(), l.first_line, it->second, name.c_str(), value.c_str()));
        }
        seen[name] = l.first_line;
        file.entries.push_back(MainCfEntry{std::move(name), std::move(value), l.first_line});
    }
    return file;
}

}  // namespace mailroom::config
