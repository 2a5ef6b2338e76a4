// expand.cc - see expand.h.
#include "lib/config/expand.h"

#include <vector>

#include "lib/util/strings.h"

namespace mailroom::config {
namespace {

using util::format;

constexpr int kMaxDepth = 100;

bool name_char(char c, bool braced) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           (braced && (c == '.' || c == '-'));
}

class Expander {
public:
    explicit Expander(const RawLookup& lookup) : lookup_(lookup) {}

    Result<std::string> param(std::string_view name) {
        for (const std::string& s : stack_) {
            if (s == name) {
                std::string chain;
                for (const std::string& t : stack_) chain += t + " -> ";
                chain += std::string(name);
                return make_error(format("recursive parameter expansion: %s", chain.c_str()));
            }
        }
        if (stack_.size() >= kMaxDepth) {
            return make_error(format("unreasonable parameter nesting: \"%.*s\"", static_cast<int>(name.size()),
                                     name.data()));
        }
        std::optional<std::string> raw = lookup_(name);
        if (!raw) return std::string();
        stack_.emplace_back(name);
        Result<std::string> r = text(*raw);
        stack_.pop_back();
        return r;
    }

    Result<std::string> text(std::string_view v) {
        std::string out;
        size_t i = 0;
        while (i < v.size()) {
            char c = v[i];
            if (c != '$') {
                out.push_back(c);
                ++i;
                continue;
            }
            if (i + 1 >= v.size()) {
                out.push_back('$');
                ++i;
                continue;
            }
            char n = v[i + 1];
            if (n == '$') {
                out.push_back('$');
                i += 2;
                continue;
            }
            if (n == '{' || n == '(') {
                char close = n == '{' ? '}' : ')';
                size_t end = matching(v, i + 1, n, close);
                if (end == std::string_view::npos) {
                    return make_error(format("unbalanced '%c' in value: \"%.*s\"", n, static_cast<int>(v.size()),
                                             v.data()));
                }
                Result<std::string> r = braced(v.substr(i + 2, end - (i + 2)), v);
                if (!r) return r;
                out += *r;
                i = end + 1;
                continue;
            }
            if (name_char(n, false)) {
                size_t j = i + 1;
                while (j < v.size() && name_char(v[j], false)) ++j;
                Result<std::string> r = param(v.substr(i + 1, j - (i + 1)));
                if (!r) return r;
                out += *r;
                i = j;
                continue;
            }
            // A lone '$' followed by something that is not a name stays as is.
            out.push_back('$');
            ++i;
        }
        return out;
    }

private:
    // Index of the bracket that closes the one at `open_pos`, or npos.
    static size_t matching(std::string_view v, size_t open_pos, char open, char close) {
        int depth = 0;
        for (size_t k = open_pos; k < v.size(); ++k) {
            if (v[k] == open) ++depth;
            if (v[k] == close && --depth == 0) return k;
        }
        return std::string_view::npos;
    }

    // Reads "{text}" (returns text) or plain text to the end of `s`.
    static bool take_brace_group(std::string_view s, size_t& pos, std::string_view& out) {
        while (pos < s.size() && util::is_space(s[pos])) ++pos;
        if (pos >= s.size() || s[pos] != '{') return false;
        size_t end = matching(s, pos, '{', '}');
        if (end == std::string_view::npos) return false;
        out = s.substr(pos + 1, end - pos - 1);
        pos = end + 1;
        while (pos < s.size() && util::is_space(s[pos])) ++pos;
        return true;
    }

    Result<std::string> braced(std::string_view inner, std::string_view whole) {
        size_t j = 0;
        while (j < inner.size() && name_char(inner[j], true)) ++j;
        std::string_view name = inner.substr(0, j);
        if (name.empty()) {
            return make_error(format("bad parameter reference in value: \"%.*s\"", static_cast<int>(whole.size()),
                                     whole.data()));
        }
        if (j == inner.size()) return param(name);
        char op = inner[j];
        std::string_view rest = inner.substr(j + 1);
        if (op != '?' && op != ':') {
            return make_error(format("bad parameter reference in value: \"%.*s\"", static_cast<int>(whole.size()),
                                     whole.data()));
        }
        Result<std::string> current = param(name);
        if (!current) return current;
        bool nonempty = !current->empty();
        std::string_view if_set, if_unset;
        bool have_set = false, have_unset = false;
        size_t pos = 0;
        std::string_view group;
        if (take_brace_group(rest, pos, group)) {
            if (op == '?') {
                if_set = group;
                have_set = true;
                if (pos < rest.size() && rest[pos] == ':') {
                    ++pos;
                    std::string_view g2;
                    if (!take_brace_group(rest, pos, g2) || pos != rest.size()) {
                        return make_error(format("bad conditional expression in value: \"%.*s\"",
                                                 static_cast<int>(whole.size()), whole.data()));
                    }
                    if_unset = g2;
                    have_unset = true;
                }
            } else {
                if_unset = group;
                have_unset = true;
            }
            if (pos != rest.size()) {
                return make_error(format("bad conditional expression in value: \"%.*s\"",
                                         static_cast<int>(whole.size()), whole.data()));
            }
        } else if (op == '?') {
            if_set = rest;
            have_set = true;
        } else {
            if_unset = rest;
            have_unset = true;
        }
        if (nonempty && have_set) return text(if_set);
        if (!nonempty && have_unset) return text(if_unset);
        return std::string();
    }

    const RawLookup& lookup_;
    std::vector<std::string> stack_;
};

}  // namespace

Result<std::string> expand_value(std::string_view value, const RawLookup& lookup) {
    Expander e(lookup);
    return e.text(value);
}

Result<std::string> expand_param(std::string_view name, const RawLookup& lookup) {
    Expander e(lookup);
    return e.param(name);
}

}  // namespace mailroom::config
