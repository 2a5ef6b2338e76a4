// agent_outcome.cc - see agent_outcome.h.
#include "lib/agent/agent_outcome.h"

#include <cctype>
#include <cerrno>

namespace mailroom::agent {

const char* outcome_word(OutcomeKind kind) {
    switch (kind) {
        case OutcomeKind::kSent: return "sent";
        case OutcomeKind::kDeferred: return "deferred";
        case OutcomeKind::kBounced: return "bounced";
    }
    return "deferred";
}

Outcome outcome_from_error(const Error& error, std::string_view temp_dsn, std::string_view perm_dsn) {
    if (error.temporary()) return deferred(error.message, std::string(temp_dsn));
    return bounced(error.message, std::string(perm_dsn));
}

std::string mailbox_dsn(int err, std::string_view default_dsn) {
    switch (err) {
        case EAGAIN:
#if EWOULDBLOCK != EAGAIN
        case EWOULDBLOCK:
#endif
        case ESTALE: return "4.2.0";
        case ENOSPC: return "4.3.0";
        case EDQUOT:
        case EFBIG: return "5.2.2";
        default: return std::string(default_dsn);
    }
}

Outcome mailbox_failure(std::string_view what, const Error& error, bool maildir) {
    std::string dsn = mailbox_dsn(error.sys_errno, error.temporary() || maildir ? "4.2.0" : "5.2.0");
    std::string text = std::string(what) + error.message;
    return dsn[0] == '4' ? deferred(std::move(text), std::move(dsn)) : bounced(std::move(text), std::move(dsn));
}

namespace {

// Postfix's table (global/sys_exits.c), restated.
constexpr ExitDetail kExitTable[] = {
    {64, "5.3.0", "command line usage error"},
    {65, "5.6.0", "data format error"},
    {66, "5.3.0", "cannot open input"},
    {67, "5.1.1", "user unknown"},
    {68, "5.1.2", "host name unknown"},
    {69, "5.3.0", "service unavailable"},
    {70, "5.3.0", "internal software error"},
    {71, "4.3.0", "system resource problem"},
    {72, "5.3.0", "critical OS file missing"},
    {73, "5.2.0", "can't create user output file"},
    {74, "5.3.0", "input/output error"},
    {75, "4.3.0", "temporary failure"},
    {76, "5.5.0", "remote error in protocol"},
    {77, "5.7.0", "permission denied"},
    {78, "5.3.5", "local configuration error"},
};

}  // namespace

std::optional<ExitDetail> sysexits_detail(int code) {
    for (const auto& row : kExitTable)
        if (row.code == code) return row;
    return std::nullopt;
}

bool leading_enhanced_status(std::string_view text, std::string* dsn) {
    // class "." subject (1-3 digits) "." detail (1-3 digits)
    if (text.size() < 5 || (text[0] != '4' && text[0] != '5') || text[1] != '.') return false;
    size_t i = 2;
    auto digits = [&](size_t max) {
        size_t n = 0;
        while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i])) && n < max) ++i, ++n;
        return n > 0;
    };
    if (!digits(3) || i >= text.size() || text[i] != '.') return false;
    ++i;
    if (!digits(3)) return false;
    if (i < text.size() && !std::isspace(static_cast<unsigned char>(text[i]))) return false;
    if (dsn) *dsn = std::string(text.substr(0, i));
    return true;
}

Outcome combine_outcomes(const std::vector<Outcome>& outcomes) {
    if (outcomes.empty()) return deferred("internal error: no delivery was attempted");
    for (const auto& o : outcomes)
        if (o.kind == OutcomeKind::kDeferred) return o;
    for (const auto& o : outcomes)
        if (o.kind == OutcomeKind::kBounced) return o;
    return outcomes.front();
}

Outcome combine_outcomes(const std::vector<Outcome>& outcomes, const std::vector<std::string>& to) {
    Outcome all = combine_outcomes(outcomes);
    all.parts.clear();
    for (size_t i = 0; i < outcomes.size() && i < to.size(); ++i)
        all.parts.push_back({to[i], outcomes[i].kind, outcomes[i].dsn, outcomes[i].text});
    return all;
}

}  // namespace mailroom::agent
