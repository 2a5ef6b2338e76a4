// common_params.h - parameters that many programs read, read in one place.
//
// Summary
//   log_sinks() is where a program's log destination comes from
//   (syslog_name, syslog_facility, maillog_file); configure_logging()
//   applies it. ipc_timeout_ms() is the ipc_timeout parameter as the
//   millisecond bound every internal request uses (at most a day, so it
//   fits poll(2) and timers). message_size_limit_default() is the table's
//   default for structs that hold the limit before from_config() fills it.
//
// Diagnostics
//   A value that does not convert is the getter's error; log_sinks() keeps
//   the built-in sink field for a value that cannot be expanded.
#pragma once

#include "lib/config/config.h"
#include "lib/log/log.h"
#include "lib/util/result.h"

namespace mailroom::config {

log::Sinks log_sinks(const Config& cfg, bool to_stderr);
void configure_logging(const Config& cfg, bool to_stderr);

Result<int> ipc_timeout_ms(const Config& cfg);

long long message_size_limit_default();

}  // namespace mailroom::config
