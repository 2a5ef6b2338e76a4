// regexp_table.cc - regexp: and pcre: rule tables (see regexp_table.h).
//
// Description
//   One rule parser serves both types; only compiling and matching differ.
//   Compiled patterns are owned by small move-only wrappers (regfree /
//   pcre2_code_free in their destructors).
#define PCRE2_CODE_UNIT_WIDTH 8
#include "lib/table/regexp_table.h"

#include <pcre2.h>
#include <regex.h>

#include <memory>

#include "lib/log/log.h"
#include "lib/table/backends.h"
#include "lib/table/rule_list.h"
#include "lib/table/table_text.h"
#include "lib/util/fs.h"
#include "lib/util/strings.h"

namespace mailroom::table {

using util::format;

namespace {

// ---- POSIX <regex.h> ----

// Owns one compiled regex_t; regfree() once it was compiled.
struct PosixRegex {
    regex_t re{};
    bool compiled = false;
    PosixRegex() = default;
    PosixRegex(const PosixRegex&) = delete;
    PosixRegex& operator=(const PosixRegex&) = delete;
    ~PosixRegex() {
        if (compiled) regfree(&re);
    }
};

struct PosixMatcher {
    std::shared_ptr<PosixRegex> re;

    bool match(std::string_view key, detail::Captures* caps) const {
        std::string k(key);
        std::vector<regmatch_t> m(re->re.re_nsub + 1);
        if (regexec(&re->re, k.c_str(), m.size(), m.data(), 0) != 0) return false;
        for (const regmatch_t& x : m) caps->emplace_back(x.rm_so, x.rm_eo);
        return true;
    }
};

// ---- PCRE2 ----

struct PcreCodeFree {
    void operator()(pcre2_code* c) const { pcre2_code_free(c); }
};
struct PcreDataFree {
    void operator()(pcre2_match_data* d) const { pcre2_match_data_free(d); }
};

struct PcreMatcher {
    std::shared_ptr<pcre2_code> code;

    bool match(std::string_view key, detail::Captures* caps) const {
        std::unique_ptr<pcre2_match_data, PcreDataFree> md(pcre2_match_data_create_from_pattern(code.get(), nullptr));
        if (!md) return false;
        int rc = pcre2_match(code.get(), reinterpret_cast<PCRE2_SPTR>(key.data()), key.size(), 0, 0, md.get(), nullptr);
        if (rc < 0) {
            if (rc != PCRE2_ERROR_NOMATCH) log::warn("pcre map: matching error %d", rc);
            return false;
        }
        uint32_t n = pcre2_get_ovector_count(md.get());
        PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md.get());
        for (uint32_t i = 0; i < n; ++i) {
            if (ov[2 * i] == PCRE2_UNSET) {
                caps->emplace_back(-1, -1);
            } else {
                caps->emplace_back(static_cast<long>(ov[2 * i]), static_cast<long>(ov[2 * i + 1]));
            }
        }
        return true;
    }
};

// Checks a result template; returns the highest $n it uses, or -1 on a
// syntax error (with *error set).
int scan_template(std::string_view t, std::string* error) {
    int highest = 0;
    for (size_t i = 0; i < t.size(); ++i) {
        if (t[i] != '$') continue;
        if (i + 1 >= t.size()) return highest;  // trailing '$' is literal
        char c = t[i + 1];
        if (c == '$') {
            ++i;
            continue;
        }
        size_t start = i + 1;
        size_t end = start;
        char close = 0;
        if (c == '{' || c == '(') {
            close = c == '{' ? '}' : ')';
            ++start;
            end = t.find(close, start);
            if (end == std::string_view::npos) {
                *error = format("missing '%c' in \"%.*s\"", close, int(t.size()), t.data());
                return -1;
            }
        } else {
            while (end < t.size() && end - start < 2 && t[end] >= '0' && t[end] <= '9') ++end;
            if (end == start) continue;  // "$x" stays literal
        }
        std::string_view num = t.substr(start, end - start);
        if (num.empty() || num.size() > 2 || num.find_first_not_of("0123456789") != std::string_view::npos) {
            *error = format("bad replacement index \"%.*s\"", int(num.size()), num.data());
            return -1;
        }
        highest = std::max(highest, std::atoi(std::string(num).c_str()));
        i = close ? end : end - 1;
    }
    return highest;
}

std::string expand_template(std::string_view t, std::string_view key, const detail::Captures& caps) {
    std::string out;
    for (size_t i = 0; i < t.size(); ++i) {
        if (t[i] != '$' || i + 1 >= t.size()) {
            out.push_back(t[i]);
            continue;
        }
        char c = t[i + 1];
        if (c == '$') {
            out.push_back('$');
            ++i;
            continue;
        }
        size_t start = i + 1;
        size_t end = start;
        bool braced = (c == '{' || c == '(');
        if (braced) {
            ++start;
            end = t.find(c == '{' ? '}' : ')', start);
            if (end == std::string_view::npos) {  // rejected at load time; be safe
                out.append(t.substr(i));
                break;
            }
        } else {
            while (end < t.size() && end - start < 2 && t[end] >= '0' && t[end] <= '9') ++end;
            if (end == start) {
                out.push_back('$');
                continue;
            }
        }
        size_t n = std::atoi(std::string(t.substr(start, end - start)).c_str());
        if (n < caps.size() && caps[n].first >= 0) {
            out.append(key.substr(caps[n].first, caps[n].second - caps[n].first));
        }
        i = braced ? end : end - 1;
    }
    return out;
}

template <class M>
class RegexpTable : public Table {
public:
    RegexpTable(std::string type, std::string name, detail::RuleList<M> rules, std::string stamp_path)
        : Table(std::move(type), std::move(name)), rules_(std::move(rules)), stamp_(std::move(stamp_path)) {}

    LookupResult lookup(std::string_view key) override {
        detail::Captures caps;
        const auto* r = rules_.first(key, &caps);
        if (r == nullptr) return std::optional<std::string>();
        return std::optional<std::string>(expand_template(r->result, key, caps));
    }
    bool changed() const override { return stamp_.changed(); }
    bool is_pattern() const override { return true; }

private:
    detail::RuleList<M> rules_;
    FileStamp stamp_;
};

// Splits "/pattern/flags rest": returns false with *error on bad syntax.
bool split_pattern(std::string_view s, std::string* pattern, std::string* flags, std::string_view* rest,
                   std::string* error) {
    if (s.empty()) {
        *error = "missing pattern";
        return false;
    }
    char delim = s[0];
    if (util::is_space(delim) || delim == '\\' || std::isalnum(static_cast<unsigned char>(delim))) {
        *error = format("bad regexp delimiter '%c'", delim);
        return false;
    }
    pattern->clear();
    size_t i = 1;
    for (; i < s.size(); ++i) {
        if (s[i] == '\\' && i + 1 < s.size()) {
            // An escaped delimiter stands for itself; other escapes stay.
            if (s[i + 1] != delim) pattern->push_back('\\');
            pattern->push_back(s[++i]);
            continue;
        }
        if (s[i] == delim) break;
        pattern->push_back(s[i]);
    }
    if (i >= s.size()) {
        *error = format("unmatched delimiter '%c'", delim);
        return false;
    }
    size_t f = i + 1;
    size_t fe = f;
    while (fe < s.size() && !util::is_space(s[fe])) ++fe;
    *flags = std::string(s.substr(f, fe - f));
    *rest = util::trim(s.substr(fe));
    return true;
}

struct Compiled {
    PosixMatcher posix;
    PcreMatcher pcre;
    int groups = 0;
};

bool compile(std::string_view type, const std::string& pattern, const std::string& flags, Compiled* out,
             std::string* error) {
    if (type == "regexp") {
        int cflags = REG_EXTENDED | REG_ICASE;
        for (char f : flags) {
            switch (f) {
                case 'i': cflags ^= REG_ICASE; break;
                case 'x': cflags ^= REG_EXTENDED; break;
                case 'm': cflags ^= REG_NEWLINE; break;
                default: *error = format("unknown regexp option \"%c\"", f); return false;
            }
        }
        auto re = std::make_shared<PosixRegex>();
        int rc = regcomp(&re->re, pattern.c_str(), cflags);
        if (rc != 0) {
            char buf[256];
            regerror(rc, &re->re, buf, sizeof(buf));
            *error = format("regcomp error in \"%s\": %s", pattern.c_str(), buf);
            return false;
        }
        re->compiled = true;
        out->groups = static_cast<int>(re->re.re_nsub);
        out->posix.re = std::move(re);
        return true;
    }
    uint32_t options = PCRE2_CASELESS;
    for (char f : flags) {
        switch (f) {
            case 'i': options ^= PCRE2_CASELESS; break;
            case 'm': options ^= PCRE2_MULTILINE; break;
            case 's': options ^= PCRE2_DOTALL; break;
            case 'x': options ^= PCRE2_EXTENDED; break;
            case 'A': options ^= PCRE2_ANCHORED; break;
            case 'E': options ^= PCRE2_DOLLAR_ENDONLY; break;
            case 'U': options ^= PCRE2_UNGREEDY; break;
            case 'X': break;
            default: *error = format("unknown PCRE option \"%c\"", f); return false;
        }
    }
    int errcode = 0;
    PCRE2_SIZE erroff = 0;
    pcre2_code* raw = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(), options, &errcode,
                                    &erroff, nullptr);
    if (raw == nullptr) {
        PCRE2_UCHAR buf[256];
        pcre2_get_error_message(errcode, buf, sizeof(buf));
        *error = format("error in regex at offset %zu: %s", static_cast<size_t>(erroff), reinterpret_cast<char*>(buf));
        return false;
    }
    out->pcre.code = std::shared_ptr<pcre2_code>(raw, PcreCodeFree());
    uint32_t count = 0;
    pcre2_pattern_info(raw, PCRE2_INFO_CAPTURECOUNT, &count);
    out->groups = static_cast<int>(count);
    return true;
}

template <class M>
Result<TablePtr> build(std::string_view type, std::string_view text, const std::string& filename,
                       std::vector<std::string>* warnings, std::string stamp_path, M Compiled::*which) {
    std::vector<std::string> local;
    if (warnings == nullptr) warnings = &local;
    auto warn = [&](int line, const std::string& msg) {
        warnings->push_back(format("%s, line %d: %s", filename.c_str(), line, msg.c_str()));
    };
    detail::RuleList<M> rules;
    for (const TextLine& l : split_table_lines(text, filename, warnings)) {
        std::string_view rest;
        detail::RuleKeyword kw = detail::rule_keyword(l.text, &rest);
        if (kw == detail::RuleKeyword::kEndif) {
            if (!rest.empty()) warn(l.line, "ignoring extra text after ENDIF");
            if (!rules.add_endif(l.line)) warn(l.line, "ignoring ENDIF without matching IF");
            continue;
        }
        bool negate = false;
        if (!rest.empty() && rest[0] == '!') {
            negate = true;
            rest = util::trim(rest.substr(1));
        }
        std::string pattern, flags, err;
        std::string_view result;
        if (!split_pattern(rest, &pattern, &flags, &result, &err)) {
            warn(l.line, err);
            continue;
        }
        Compiled c;
        if (!compile(type, pattern, flags, &c, &err)) {
            warn(l.line, err);
            continue;
        }
        if (kw == detail::RuleKeyword::kIf) {
            if (!result.empty()) warn(l.line, "ignoring extra text after IF statement");
            rules.add_if(std::move(c.*which), negate, l.line);
            continue;
        }
        if (result.empty()) {
            warn(l.line, "no replacement text: skipping this rule");
            continue;
        }
        int highest = scan_template(result, &err);
        if (highest < 0) {
            warn(l.line, err);
            continue;
        }
        if (negate && highest > 0) {
            warn(l.line, "$number found in negative match replacement text: skipping this rule");
            continue;
        }
        if (highest > c.groups) {
            warn(l.line, format("out of range replacement index \"%d\": skipping this rule", highest));
            continue;
        }
        rules.add_match(std::move(c.*which), negate, std::string(result), l.line);
    }
    for (int line : rules.close()) warn(line, "IF has no matching ENDIF");
    return TablePtr(std::make_unique<RegexpTable<M>>(std::string(type), filename, std::move(rules),
                                                     std::move(stamp_path)));
}

Result<TablePtr> build_any(std::string_view type, std::string_view text, const std::string& filename,
                           std::vector<std::string>* warnings, std::string stamp_path) {
    if (type == "regexp") return build(type, text, filename, warnings, std::move(stamp_path), &Compiled::posix);
    if (type == "pcre") return build(type, text, filename, warnings, std::move(stamp_path), &Compiled::pcre);
    return make_error(format("unsupported pattern table type: %.*s", int(type.size()), type.data()));
}

Result<TablePtr> open_file(const char* type, const std::string& name) {
    if (name.empty()) return make_error(format("%s: missing file name", type));
    Result<std::string> text = util::read_file(name);
    if (!text) return text.error();
    std::vector<std::string> warnings;
    Result<TablePtr> t = build_any(type, *text, name, &warnings, name);
    for (const std::string& w : warnings) log::warn("%s map %s", type, w.c_str());
    return t;
}

}  // namespace

Result<TablePtr> open_regexp_text(std::string_view type, std::string_view text, const std::string& filename,
                                  std::vector<std::string>* warnings) {
    return build_any(type, text, filename, warnings, "");
}

namespace detail {

Result<TablePtr> open_regexp(const std::string& name, const OpenOptions&) { return open_file("regexp", name); }
Result<TablePtr> open_pcre(const std::string& name, const OpenOptions&) { return open_file("pcre", name); }

}  // namespace detail
}  // namespace mailroom::table
