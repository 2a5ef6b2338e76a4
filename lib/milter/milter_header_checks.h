// milter_header_checks.h - milter_header_checks: header_checks actions
// for the headers milters add or change.
//
// Summary
//   check_milter_header() looks a header a milter's SMFIR_ADDHEADER,
//   SMFIR_INSHEADER or SMFIR_CHGHEADER produces ("Name: value", the
//   continuation lines joined as the milter sent them) up in the
//   milter_header_checks tables, as Postfix's cleanup does, and says what
//   becomes of the edit: REJECT and DISCARD end the message (the caller
//   answers the client), IGNORE drops the edit, REPLACE rewrites it with
//   the table's header, HOLD puts the message on hold, REDIRECT and FILTER
//   set the message's redirect and filter attributes, PREPEND puts the
//   table's header right before the milter's (HeaderCheckOutcome::prepend),
//   WARN only logs. A table that fails tempfails the message.
//
//   Each action is logged as cleanup logs a header_checks hit:
//     milter NAME: reject: milter-header X-Spam: yes: 5.7.1 text
#pragma once

#include <string>

#include "lib/milter/milter_codec.h"
#include "lib/milter/milter_edit.h"
#include "lib/table/maps.h"

namespace mailroom::milter {

struct HeaderCheckOutcome {
    enum class Kind { kApply, kDrop, kReject, kTempfail, kDiscard };
    Kind kind = Kind::kApply;
    std::string reply;  // kReject / kTempfail: "550 5.7.1 text", "451 4.3.0 ..."
    // PREPEND: a header to put right before the edit's (empty name: none).
    std::string prepend_name, prepend_value;
};

// `edit` is the milter's header edit (its name and value may be replaced);
// `msg` takes HOLD, REDIRECT and FILTER.
HeaderCheckOutcome check_milter_header(const table::Maps& maps, const std::string& milter, Reply* edit,
                                       MilterMessage* msg);

}  // namespace mailroom::milter
