// agent_log.h - the delivery log line every agent writes.
//
// Summary
//   delivery_log_text() formats Postfix's per-recipient line (the text
//   after "QUEUEID: "):
//     to=<openstack@PXE1.localdomain>, orig_to=<openstack>, relay=local,
//     delay=50, delays=50/0.02/0/0.01, dsn=2.0.0, status=sent (delivered to mailbox)
//   orig_to= appears only when the original recipient differs. delays= is
//   time before the agent got the request / 0 / 0 / time the agent spent.
//   log_delivery() writes it through lib/log.
#pragma once

#include <string>

#include "lib/agent/agent_job.h"
#include "lib/agent/agent_outcome.h"

namespace mailroom::agent {

// Times in seconds since the epoch (fractions allowed).
std::string delivery_log_text(const JobRecipient& recipient, const std::string& relay, double arrival,
                              double started, double finished, const Outcome& outcome);

void log_delivery(const std::string& queue_id, const JobRecipient& recipient, const std::string& relay,
                  double arrival, double started, double finished, const Outcome& outcome);

// Seconds since the epoch, with microseconds.
double now_seconds();

}  // namespace mailroom::agent
