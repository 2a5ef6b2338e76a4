// qmgr_backoff.h - how long a deferred message waits (pure).
//
// Summary
//   compute_backoff() returns the time until the next delivery attempt of
//   a message with some recipients deferred: its age in the queue,
//   clamped to [minimal_backoff_time, maximal_backoff_time]. Because the
//   age grows by the wait itself, the interval roughly doubles with every
//   attempt, as with Postfix's qmgr.
#pragma once

namespace mailroom::qmgr {

long long compute_backoff(long long age_seconds, long long minimal, long long maximal);

}  // namespace mailroom::qmgr
