// master_cf.cc - see master_cf.h.
#include "lib/config/master_cf.h"

#include <set>

#include "lib/config/main_cf.h"
#include "lib/util/strings.h"

namespace mailroom::config {
namespace {

using util::format;

const char* const kTypes[] = {"inet", "unix", "unix-dgram", "fifo", "pass"};

// Parses y/n/- columns.
bool parse_yn(const std::string& f, std::optional<bool>& out) {
    if (f == "-") {
        out.reset();
        return true;
    }
    if (f == "y") {
        out = true;
        return true;
    }
    if (f == "n") {
        out = false;
        return true;
    }
    return false;
}

bool parse_count(const std::string& f, std::optional<int>& out) {
    if (f == "-") {
        out.reset();
        return true;
    }
    if (f.empty() || f.size() > 9) return false;
    int v = 0;
    for (char c : f) {
        if (c < '0' || c > '9') return false;
        v = v * 10 + (c - '0');
    }
    out = v;
    return true;
}

// Strips the braces and outer white space of a "{ ... }" field.
std::string unbrace(const std::string& f) {
    if (f.size() >= 2 && f.front() == '{' && f.back() == '}') {
        return std::string(util::trim(std::string_view(f).substr(1, f.size() - 2)));
    }
    return f;
}

}  // namespace

Result<std::vector<std::string>> split_master_fields(std::string_view line) {
    std::vector<std::string> fields;
    size_t i = 0;
    while (i < line.size()) {
        while (i < line.size() && util::is_space(line[i])) ++i;
        if (i >= line.size()) break;
        if (line[i] == '{') {
            int depth = 0;
            size_t start = i;
            for (; i < line.size(); ++i) {
                if (line[i] == '{') ++depth;
                if (line[i] == '}' && --depth == 0) break;
            }
            if (i >= line.size()) return make_error("missing '}'");
            ++i;
            if (i < line.size() && !util::is_space(line[i])) return make_error("garbage after '}'");
            fields.emplace_back(line.substr(start, i - start));
            continue;
        }
        size_t start = i;
        while (i < line.size() && !util::is_space(line[i])) ++i;
        fields.emplace_back(line.substr(start, i - start));
    }
    return fields;
}

Result<std::vector<MasterService>> parse_master_cf(std::string_view text, std::string_view filename) {
    std::vector<MasterService> out;
    std::set<std::string> keys;
    std::vector<int> orphans;
    std::string fname(filename);
    std::vector<LogicalLine> lines = split_logical_lines(text, &orphans);
    if (!orphans.empty()) {
        return make_error(format("%s, line %d: continuation line without a preceding service", fname.c_str(),
                                 orphans.front()));
    }
    for (const LogicalLine& l : lines) {
        auto where = [&](const std::string& what) {
            return make_error(format("%s, line %d: %s", fname.c_str(), l.first_line, what.c_str()));
        };
        Result<std::vector<std::string>> fr = split_master_fields(l.text);
        if (!fr) return where(fr.error().message + ": \"" + l.text + "\"");
        const std::vector<std::string>& f = *fr;
        if (f.size() < 8) return where("missing command name: \"" + l.text + "\"");
        MasterService s;
        s.line = l.first_line;
        s.last_line = l.last_line;
        s.raw_fields = f;
        s.name = f[0];
        s.type = f[1];
        bool type_ok = false;
        for (const char* t : kTypes) type_ok = type_ok || s.type == t;
        if (!type_ok) return where("bad transport type: " + s.type);
        if (!parse_yn(f[2], s.private_)) return where("bad private field value: " + f[2]);
        if (!parse_yn(f[3], s.unpriv)) return where("bad unprivileged field value: " + f[3]);
        if (!parse_yn(f[4], s.chroot)) return where("bad chroot field value: " + f[4]);
        std::string wake = f[5];
        if (!wake.empty() && wake.back() == '?') {
            s.wakeup_conditional = true;
            wake.pop_back();
        }
        if (!parse_count(wake, s.wakeup)) return where("bad wakeup time field value: " + f[5]);
        if (!parse_count(f[6], s.maxproc)) return where("bad max process count: " + f[6]);
        if (s.type == "inet" && s.private_.value_or(false)) {
            return where("inet service cannot be private: " + s.name);
        }
        if (s.type == "inet" && s.name.empty()) return where("missing service name");
        s.command = f[7];
        for (size_t k = 8; k < f.size(); ++k) {
            if (f[k] == "-o") {
                if (k + 1 >= f.size()) return where("missing value after -o");
                std::string nv = unbrace(f[++k]);
                size_t eq = nv.find('=');
                if (eq == std::string::npos) return where("missing '=' in -o argument: \"" + nv + "\"");
                std::string name(util::trim(std::string_view(nv).substr(0, eq)));
                std::string value(util::trim(std::string_view(nv).substr(eq + 1)));
                if (!valid_param_name(name)) return where("bad parameter name in -o argument: \"" + nv + "\"");
                s.overrides.emplace_back(std::move(name), std::move(value));
            } else if (f[k].size() > 2 && f[k].compare(0, 2, "-o") == 0 && f[k].find('=') != std::string::npos) {
                std::string nv = f[k].substr(2);
                size_t eq = nv.find('=');
                s.overrides.emplace_back(nv.substr(0, eq), nv.substr(eq + 1));
            } else {
                s.args.push_back(unbrace(f[k]));
            }
        }
        if (!keys.insert(s.key()).second) return where("duplicate service name and type: " + s.key());
        out.push_back(std::move(s));
    }
    return out;
}

std::string format_master_entry(const MasterService& svc) {
    const std::vector<std::string>& f = svc.raw_fields;
    std::string out = format("%-10s %-5s %-7s %-7s %-7s %-7s %-7s %s", f[0].c_str(), f[1].c_str(), f[2].c_str(),
                             f[3].c_str(), f[4].c_str(), f[5].c_str(), f[6].c_str(), f[7].c_str());
    for (size_t k = 8; k < f.size(); ++k) out += " " + f[k];
    return out;
}

}  // namespace mailroom::config
