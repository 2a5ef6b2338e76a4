// instance_lock.h - the lock and pid file that make one master per instance.
//
// Summary
//   master holds an exclusive fcntl() write lock on master.pid in the
//   process_id_directory (relative to queue_directory unless absolute;
//   default "pid", as in Postfix) for its whole life and writes its pid
//   into the file. Commands find out whether an instance runs by asking who
//   holds that lock (the pid in the file may be stale; the lock never is).
//
// Description
//   acquire_instance_lock() creates the pid directory when missing, opens
//   and locks the file, and writes the pid (right-aligned in 10 columns
//   plus a newline, like Postfix's pid files). It fails with a temporary
//   error carrying the holder's pid when another process holds the lock.
//   probe_instance_lock() returns the holder's pid (always > 0), or 0 when
//   nobody holds it (or the file does not exist). When the kernel cannot
//   name the holder (another pid namespace), the pid written in the file is
//   returned.
#pragma once

#include <sys/types.h>

#include <string>

#include "lib/config/config.h"
#include "lib/util/result.h"
#include "lib/util/unique_fd.h"

namespace mailroom::server {

// $queue_directory/$process_id_directory (or process_id_directory alone
// when it is absolute).
Result<std::string> pid_directory(const config::Config& cfg);
std::string instance_pid_file(const std::string& pid_directory);

struct InstanceLock {
    util::UniqueFd fd;
    std::string path;
    pid_t holder = 0;  // set when acquisition failed because of a holder
};

// On failure because of another holder, the error is temporary and names the pid.
Result<InstanceLock> acquire_instance_lock(const std::string& pid_directory);
// Rewrites the pid (after master forks into the background).
Status write_instance_pid(const InstanceLock& lock);
pid_t probe_instance_lock(const std::string& pid_directory);

}  // namespace mailroom::server
