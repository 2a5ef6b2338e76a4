// deliver_log.h - the per-recipient delivery log line, defined once.
//
// Summary
//   delivery_line() builds the text after "QUEUEID: " that the delivery
//   agents (and qmgr, when it cannot reach an agent) log for every
//   recipient, exactly as Postfix does:
//     to=<rcpt>, orig_to=<orig>, relay=none, delay=0.12,
//     delays=0.05/0.01/0/0.06, dsn=2.0.0, status=sent (discarded)
//   orig_to appears only when it differs from to; conn_use=N follows
//   relay= for a connection the smtp agent reused (N > 1), as Postfix logs
//   it. format_delay() prints a
//   time span as Postfix does (two significant digits, at most two
//   decimals, no trailing zeros, "0" for nothing). request_times() derives
//   the four delays= parts from a request's time stamps:
//     before the active queue / in qmgr / handing over / delivering.
//   log_delivery() writes one line through lib/log.
#pragma once

#include <string>
#include <string_view>

#include "lib/deliver/deliver_proto.h"

namespace mailroom::deliver {

std::string format_delay(double seconds);

struct DeliveryTimes {
    double total = 0;        // arrival -> now
    double before_qmgr = 0;  // arrival -> entering the active queue
    double in_qmgr = 0;      // active queue -> start of the delivery attempt
    double setup = 0;        // attempt start -> the agent has the request
    double transmit = 0;     // the agent's own work
};

std::string delivery_line(std::string_view recipient, std::string_view orig_recipient, std::string_view relay,
                          const DeliveryTimes& times, std::string_view dsn, std::string_view status,
                          std::string_view reason, unsigned conn_use = 0);

// Seconds since the epoch, with microseconds.
double now_seconds();

// `agent_started` and `finished` are now_seconds() values taken by the agent.
DeliveryTimes request_times(const DeliveryRequest& request, double agent_started, double finished);

void log_delivery(const DeliveryRequest& request, const DeliveryRecipient& recipient, const RecipientResult& result,
                  const DeliveryTimes& times);

}  // namespace mailroom::deliver
