// agent_log.cc - see agent_log.h.
#include "lib/agent/agent_log.h"

#include <sys/time.h>

#include "lib/log/log.h"
#include "lib/util/strings.h"

namespace mailroom::agent {

namespace {

// Postfix's style: whole seconds from 10 up, else up to two decimals.
std::string format_delay(double d) {
    if (d < 0) d = 0;
    if (d >= 10) return std::to_string(static_cast<long long>(d));
    std::string s = util::format("%.2f", d);
    while (!s.empty() && s.back() == '0') s.pop_back();
    if (!s.empty() && s.back() == '.') s.pop_back();
    return s.empty() ? "0" : s;
}

}  // namespace

std::string delivery_log_text(const JobRecipient& recipient, const std::string& relay, double arrival,
                              double started, double finished, const Outcome& outcome) {
    std::string out = "to=<" + log::log_printable(recipient.address) + ">";
    if (!recipient.orig_recipient.empty() && recipient.orig_recipient != recipient.address)
        out += ", orig_to=<" + log::log_printable(recipient.orig_recipient) + ">";
    out += ", relay=" + relay;
    out += ", delay=" + format_delay(finished - arrival);
    out += ", delays=" + format_delay(started - arrival) + "/0/0/" + format_delay(finished - started);
    out += ", dsn=" + outcome.dsn + ", status=" + outcome_word(outcome.kind);
    out += " (" + log::log_printable(outcome.text) + ")";
    return out;
}

void log_delivery(const std::string& queue_id, const JobRecipient& recipient, const std::string& relay,
                  double arrival, double started, double finished, const Outcome& outcome) {
    log::info("%s: %s", queue_id.c_str(),
              delivery_log_text(recipient, relay, arrival, started, finished, outcome).c_str());
}

double now_seconds() {
    struct timeval tv;
    ::gettimeofday(&tv, nullptr);
    return static_cast<double>(tv.tv_sec) + tv.tv_usec / 1e6;
}

}  // namespace mailroom::agent
