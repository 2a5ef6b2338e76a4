// check_action.cc - see check_action.h.
#include "lib/table/check_action.h"

#include "lib/util/strings.h"

namespace mailroom::table {

CheckResult parse_check_action(std::string_view value) {
    std::string_view v = util::trim(value);
    std::size_t end = v.find_first_of(" \t");
    std::string_view word = v.substr(0, end);
    std::string text(end == std::string_view::npos ? std::string_view() : util::trim(v.substr(end)));
    struct Row {
        const char* name;
        CheckAction action;
    };
    static const Row kRows[] = {
        {"REJECT", CheckAction::kReject},   {"DISCARD", CheckAction::kDiscard}, {"HOLD", CheckAction::kHold},
        {"WARN", CheckAction::kWarn},       {"IGNORE", CheckAction::kIgnore},   {"REPLACE", CheckAction::kReplace},
        {"PREPEND", CheckAction::kPrepend}, {"REDIRECT", CheckAction::kRedirect},
        {"FILTER", CheckAction::kFilter},   {"DUNNO", CheckAction::kNone},      {"OK", CheckAction::kNone},
    };
    for (const auto& row : kRows) {
        if (util::iequals(word, row.name)) return CheckResult{row.action, std::move(text)};
    }
    return CheckResult{CheckAction::kUnknown, std::string(v)};
}

bool is_mime_header(std::string_view name) {
    return util::starts_with_icase(name, "Content-") || util::iequals(name, "MIME-Version");
}

const char* check_action_word(CheckAction action) {
    switch (action) {
        case CheckAction::kReject: return "reject";
        case CheckAction::kDiscard: return "discard";
        case CheckAction::kHold: return "hold";
        case CheckAction::kWarn: return "warning";
        case CheckAction::kRedirect: return "redirect";
        case CheckAction::kFilter: return "filter";
        case CheckAction::kReplace: return "replace";
        case CheckAction::kPrepend: return "prepend";
        case CheckAction::kIgnore: return "ignore";
        default: return "";
    }
}

}  // namespace mailroom::table
