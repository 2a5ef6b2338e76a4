// milter_header_checks.cc - see milter_header_checks.h.
#include "lib/milter/milter_header_checks.h"

#include "lib/log/log.h"
#include "lib/table/check_action.h"
#include "lib/util/strings.h"

namespace mailroom::milter {

using table::CheckAction;

namespace {

// The header as header_checks see it: "Name: value", continuation lines
// folded with their line breaks.
std::string header_text(const Reply& r) {
    std::string text = r.name + ":";
    if (!r.value.empty() && r.value.front() != ' ' && r.value.front() != '\t') text += " ";
    text += r.value;
    return text;
}

}  // namespace

HeaderCheckOutcome check_milter_header(const table::Maps& maps, const std::string& milter, Reply* edit,
                                       MilterMessage* msg) {
    HeaderCheckOutcome out;
    std::string text = header_text(*edit);
    auto hit = maps.lookup(text);
    if (!hit) {
        log::warn("milter %s: milter_header_checks lookup failure: %s", milter.c_str(), hit.error().message.c_str());
        out.kind = HeaderCheckOutcome::Kind::kTempfail;
        out.reply = "451 4.3.0 Error: milter_header_checks lookup failure";
        return out;
    }
    if (!*hit) return out;
    table::CheckResult act = table::parse_check_action(**hit);
    auto logged = [&](const char* word, const std::string& detail) {
        std::string shown = text.substr(0, 200);
        for (char& c : shown) {
            if (c == '\n' || c == '\r') c = ' ';
        }
        log::info("milter %s: %s: milter-header %s%s%s", milter.c_str(), word, log::log_printable(shown).c_str(),
                  detail.empty() ? "" : ": ", log::log_printable(detail).c_str());
    };
    switch (act.action) {
        case CheckAction::kNone:
            break;
        case CheckAction::kReject: {
            std::string reason = act.text.empty() ? std::string("message content rejected") : act.text;
            logged("reject", "5.7.1 " + reason);
            out.kind = HeaderCheckOutcome::Kind::kReject;
            out.reply = "550 5.7.1 " + reason;
            break;
        }
        case CheckAction::kDiscard:
            logged("discard", act.text);
            out.kind = HeaderCheckOutcome::Kind::kDiscard;
            break;
        case CheckAction::kHold:
            logged("hold", act.text);
            if (!msg->held()) msg->quarantine(act.text.empty() ? "milter_header_checks HOLD action" : act.text);
            break;
        case CheckAction::kWarn:
            logged("warning", act.text);
            break;
        case CheckAction::kIgnore:
            out.kind = HeaderCheckOutcome::Kind::kDrop;
            break;
        case CheckAction::kReplace:
        case CheckAction::kPrepend: {
            const bool replace = act.action == CheckAction::kReplace;
            auto colon = act.text.find(':');
            if (colon == std::string::npos || colon == 0) {
                log::warn("milter %s: bad milter_header_checks %s header \"%s\"", milter.c_str(),
                          replace ? "REPLACE" : "PREPEND", log::log_printable(act.text).c_str());
                break;
            }
            logged(replace ? "replace" : "prepend", act.text);
            std::string name(util::trim(std::string_view(act.text).substr(0, colon)));
            std::string value(util::trim(std::string_view(act.text).substr(colon + 1)));
            if (replace) {
                edit->name = std::move(name);
                edit->value = std::move(value);
            } else {
                out.prepend_name = std::move(name);
                out.prepend_value = std::move(value);
            }
            break;
        }
        case CheckAction::kRedirect:
            logged("redirect", act.text);
            if (!act.text.empty()) msg->set_redirect(act.text);
            break;
        case CheckAction::kFilter:
            logged("filter", act.text);
            if (act.text.find(':') != std::string::npos) msg->set_filter(act.text);
            break;
        case CheckAction::kUnknown:
            log::warn("milter %s: unknown milter_header_checks action \"%s\"", milter.c_str(),
                      log::log_printable(act.text).c_str());
            break;
    }
    return out;
}

}  // namespace mailroom::milter
