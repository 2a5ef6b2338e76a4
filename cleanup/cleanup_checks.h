// cleanup_checks.h - header_checks and body_checks actions, as cleanup
// names them: lib/table/check_action.h (shared with milter_header_checks).
#pragma once

#include "lib/table/check_action.h"

namespace mailroom::cleanup {

using table::CheckAction;
using table::CheckResult;
using table::check_action_word;
using table::is_mime_header;
using table::parse_check_action;

}  // namespace mailroom::cleanup
