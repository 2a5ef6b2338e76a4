// pickup_core.h - feed maildrop/ files to cleanup.
//
// Summary
//   pickup_file() sends one maildrop file to cleanup (lib/submit
//   CleanupClient) and removes it only after cleanup answered that the new
//   queue file is committed. pickup_scan() does that for every file in
//   maildrop/, oldest name first, and stops at the first temporary
//   failure (cleanup not running): the files wait for the next wakeup.
//
// Diagnostics
//   "QUEUEID: uid=N from=<sender>" for each message handed over (the ID is
//   the new one cleanup assigned). The filter, redirect and hold
//   attributes of a maildrop file are dropped (a local user may not choose
//   them); content_filter becomes the message's filter. A corrupt maildrop file is moved to
//   corrupt/. Messages go to cleanup with kCleanupFlagBounce, as Postfix's
//   pickup does: one that header/body checks REJECT or that exceeds
//   message_size_limit is queued with its recipients bounced, so the
//   sender gets a non-delivery notice with the reason. A message cleanup
//   still refuses (no recipients, malformed) is removed with a warning.
#pragma once

#include <string>

#include "lib/queue/queue_dirs.h"
#include "lib/util/result.h"

namespace mailroom::pickup {

struct PickupConfig {
    queue::QueueLayout layout;
    std::string cleanup_service = "cleanup";
    std::string content_filter;  // transport:nexthop for every message picked up
    std::int64_t cleanup_flags = 0;  // receive_override_options for cleanup
    int timeout_ms = 3600 * 1000;
};

enum class PickupOutcome { kDone, kRemoved, kRetry };

PickupOutcome pickup_file(const PickupConfig& config, const std::string& id);
// Returns how many files were handed over.
int pickup_scan(const PickupConfig& config);

}  // namespace mailroom::pickup
