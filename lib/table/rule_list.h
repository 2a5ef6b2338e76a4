// rule_list.h - the ordered rule lists of cidr, regexp and pcre tables
// (private to lib/table).
//
// Summary
//   A rule is "pattern result", "!pattern result", "if pattern",
//   "if !pattern" or "endif". RuleList<M> keeps the rules in file order with
//   each "if" pointing past its "endif"; first() finds the first matching
//   rule, skipping an if/endif block whose condition fails.
//
// Description
//   The matcher type M supplies `bool match(std::string_view key,
//   Captures* caps) const`, and optionally `bool applies(std::string_view
//   key) const`: a rule that does not apply is skipped even when negated. Captures are the offsets of the matched
//   sub-expressions; a negated rule has none. close() reports an "if"
//   without "endif" and drops it (so its rules apply unconditionally, as
//   Postfix does after warning).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "lib/util/strings.h"

namespace mailroom::table::detail {

// [begin, end) byte offsets of each sub-expression; -1 when it did not
// take part in the match. captures[0] is the whole match.
using Captures = std::vector<std::pair<long, long>>;

template <class M>
struct Rule {
    enum class Kind { kMatch, kIf, kEndif };
    Kind kind = Kind::kMatch;
    bool negate = false;
    M matcher;
    std::string result;
    size_t skip_to = 0;  // kIf: index after the matching endif
    int line = 0;
};

template <class M>
class RuleList {
public:
    void add_match(M m, bool negate, std::string result, int line) {
        rules_.push_back(Rule<M>{Rule<M>::Kind::kMatch, negate, std::move(m), std::move(result), 0, line});
    }
    void add_if(M m, bool negate, int line) {
        open_.push_back(rules_.size());
        rules_.push_back(Rule<M>{Rule<M>::Kind::kIf, negate, std::move(m), {}, 0, line});
    }
    // False (and nothing added) when there is no open "if".
    bool add_endif(int line) {
        if (open_.empty()) return false;
        size_t i = open_.back();
        open_.pop_back();
        rules_.push_back(Rule<M>{Rule<M>::Kind::kEndif, false, M{}, {}, 0, line});
        rules_[i].skip_to = rules_.size();
        return true;
    }
    // Returns the lines of "if"s left open; they become no-ops.
    std::vector<int> close() {
        std::vector<int> lines;
        for (size_t i : open_) {
            lines.push_back(rules_[i].line);
            rules_[i].skip_to = i + 1;
            rules_[i].kind = Rule<M>::Kind::kEndif;  // harmless marker
        }
        open_.clear();
        return lines;
    }

    // The first matching rule, or nullptr. `caps` gets its captures.
    const Rule<M>* first(std::string_view key, Captures* caps) const {
        size_t i = 0;
        while (i < rules_.size()) {
            const Rule<M>& r = rules_[i];
            if (r.kind == Rule<M>::Kind::kEndif) {
                ++i;
                continue;
            }
            caps->clear();
            if constexpr (requires { r.matcher.applies(key); }) {
                // A rule that cannot judge this key (another address
                // family) neither matches nor, negated, matches.
                if (!r.matcher.applies(key)) {
                    i = r.kind == Rule<M>::Kind::kIf ? r.skip_to : i + 1;
                    continue;
                }
            }
            bool hit = r.matcher.match(key, caps) != r.negate;
            if (r.kind == Rule<M>::Kind::kIf) {
                i = hit ? i + 1 : r.skip_to;
                continue;
            }
            if (hit) {
                if (r.negate) caps->clear();
                return &r;
            }
            ++i;
        }
        return nullptr;
    }

    size_t size() const { return rules_.size(); }

private:
    std::vector<Rule<M>> rules_;
    std::vector<size_t> open_;
};

// Splits a rule line into the "if"/"endif" keyword (if any) and the rest.
enum class RuleKeyword { kNone, kIf, kEndif };
inline RuleKeyword rule_keyword(std::string_view line, std::string_view* rest) {
    auto word_is = [&](std::string_view w) {
        return line.size() >= w.size() && util::iequals(line.substr(0, w.size()), w) &&
               (line.size() == w.size() || util::is_space(line[w.size()]));
    };
    if (word_is("endif")) {
        *rest = util::trim(line.substr(5));
        return RuleKeyword::kEndif;
    }
    if (word_is("if")) {
        *rest = util::trim(line.substr(2));
        return RuleKeyword::kIf;
    }
    *rest = line;
    return RuleKeyword::kNone;
}

}  // namespace mailroom::table::detail
