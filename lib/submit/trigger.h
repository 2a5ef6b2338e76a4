// trigger.h - wake a trigger service (qmgr, pickup) with a few bytes.
//
// Summary
//   trigger_service() connects to queue_directory/{public,private}/NAME,
//   writes the request bytes and closes. It never waits long: a service
//   that is not running or whose backlog is full is a temporary error,
//   and callers carry on (the service's wakeup timer finds the work).
//
// Description
//   qmgr requests (Postfix's letters): kQmgrScanIncoming "I", kQmgrScanDeferred
//   "D", kQmgrFlush "F" (deferred mail is due now), kQmgrScanAll "A"; the
//   master wakeup byte "W" scans incoming. pickup takes any byte.
#pragma once

#include <string>
#include <string_view>

#include "lib/ipc/ipc_socket.h"
#include "lib/util/result.h"

namespace mailroom::submit {

inline constexpr char kQmgrScanIncoming = 'I';
inline constexpr char kQmgrScanDeferred = 'D';
inline constexpr char kQmgrFlush = 'F';
inline constexpr char kQmgrScanAll = 'A';

Status trigger_service(const std::string& queue_directory, ipc::ServiceClass cls, std::string_view name,
                       std::string_view request, int timeout_ms = 1000);

}  // namespace mailroom::submit
