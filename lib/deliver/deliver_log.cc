// deliver_log.cc - see deliver_log.h.
#include "lib/deliver/deliver_log.h"

#include <sys/time.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "lib/log/log.h"

namespace mailroom::deliver {

std::string format_delay(double seconds) {
    if (!(seconds > 0)) return "0";
    // Two significant digits, but never more than two decimals.
    int int_digits = seconds >= 1 ? static_cast<int>(std::floor(std::log10(seconds))) + 1 : 0;
    int decimals = seconds < 1 ? 2 : std::clamp(2 - int_digits, 0, 2);
    char buf[64];
    std::snprintf(buf, sizeof(buf), "%.*f", decimals, seconds);
    std::string s = buf;
    if (s.find('.') != std::string::npos) {
        while (s.back() == '0') s.pop_back();
        if (s.back() == '.') s.pop_back();
    }
    return s;
}

std::string delivery_line(std::string_view recipient, std::string_view orig_recipient, std::string_view relay,
                          const DeliveryTimes& t, std::string_view dsn, std::string_view status,
                          std::string_view reason, unsigned conn_use) {
    std::string line = "to=<" + log::log_printable(recipient) + ">";
    if (!orig_recipient.empty() && orig_recipient != recipient)
        line += ", orig_to=<" + log::log_printable(orig_recipient) + ">";
    line += ", relay=" + log::log_printable(relay);
    if (conn_use > 1) line += ", conn_use=" + std::to_string(conn_use);  // Postfix's smtp: a reused connection
    line += ", delay=" + format_delay(t.total);
    line += ", delays=" + format_delay(t.before_qmgr) + "/" + format_delay(t.in_qmgr) + "/" +
            format_delay(t.setup) + "/" + format_delay(t.transmit);
    line += ", dsn=" + std::string(dsn) + ", status=" + std::string(status) + " (" + log::log_printable(reason) + ")";
    return line;
}

double now_seconds() {
    struct timeval tv {};
    ::gettimeofday(&tv, nullptr);
    return static_cast<double>(tv.tv_sec) + tv.tv_usec / 1e6;
}

DeliveryTimes request_times(const DeliveryRequest& r, double agent_started, double finished) {
    double arrival = r.arrival_time_us ? r.arrival_time_us / 1e6 : static_cast<double>(r.arrival_time);
    double active = r.active_time_us ? r.active_time_us / 1e6 : agent_started;
    double handoff = r.handoff_time_us ? r.handoff_time_us / 1e6 : agent_started;
    DeliveryTimes t;
    t.total = std::max(0.0, finished - arrival);
    t.before_qmgr = std::max(0.0, active - arrival);
    t.in_qmgr = std::max(0.0, handoff - active);
    t.setup = std::max(0.0, agent_started - handoff);
    t.transmit = std::max(0.0, finished - agent_started);
    return t;
}

void log_delivery(const DeliveryRequest& request, const DeliveryRecipient& recipient, const RecipientResult& result,
                  const DeliveryTimes& times) {
    log::info("%s: %s", request.queue_id.c_str(),
              delivery_line(recipient.address, recipient.orig_recipient, result.relay, times, result.dsn,
                            status_word(result.status), result.reason, result.conn_use)
                  .c_str());
}

}  // namespace mailroom::deliver
