// check_action.h - the actions of header_checks, body_checks and
// milter_header_checks tables (pure).
//
// Summary
//   parse_check_action() reads the answer of a header_checks,
//   mime_header_checks, body_checks or milter_header_checks table:
//   REJECT [text], DISCARD [text], HOLD [text], WARN [text], IGNORE,
//   REPLACE text, PREPEND text, REDIRECT addr, FILTER transport:dest,
//   DUNNO, OK. Action names are case-insensitive; an unknown action is
//   reported (Postfix logs it and ignores the line). is_mime_header() tells
//   which primary headers mime_header_checks sees instead of header_checks.
//   cleanup runs the content checks (cleanup/cleanup_checks.h); lib/milter
//   runs milter_header_checks on the headers milters add or change.
#pragma once

#include <string>
#include <string_view>

namespace mailroom::table {

enum class CheckAction {
    kNone,  // no match, DUNNO or OK
    kReject,
    kDiscard,
    kHold,
    kWarn,
    kIgnore,
    kReplace,
    kPrepend,
    kRedirect,
    kFilter,
    kUnknown,
};

struct CheckResult {
    CheckAction action = CheckAction::kNone;
    std::string text;  // the argument (trimmed); may be empty
};

CheckResult parse_check_action(std::string_view value);

// "Content-*" and "MIME-Version" headers.
bool is_mime_header(std::string_view name);

// The log word of an action ("reject", "warning", "hold", ...).
const char* check_action_word(CheckAction action);

}  // namespace mailroom::table
