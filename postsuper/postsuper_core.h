// postsuper_core.h - the administrator's queue operations.
//
// Summary
//   Each operation takes queue IDs (or "ALL") and the queues to look in,
//   and returns how many messages it acted on:
//     delete_messages   -d: remove the files ("QUEUEID: removed")
//     hold_messages     -h: move to hold/ ("QUEUEID: placed on hold")
//     release_messages  -H: hold/ -> deferred/, due now
//                           ("QUEUEID: released from hold")
//     requeue_messages  -r: copy into maildrop/ for pickup and cleanup to
//                           process again, then remove ("QUEUEID: requeued")
//     check_structure   -s: remove stale temporary files, move unreadable
//                           queue files to corrupt/
//     purge_temp_files  -p: remove the temporary files of crashed or killed
//                           writers and those older than a day, in every
//                           queue, and empty recycle/, the pool of used
//                           queue files (mailroom start runs it too)
//   A file that a delivery agent holds locked is skipped with a warning.
#pragma once

#include <string>
#include <vector>

#include "lib/queue/queue_dirs.h"
#include "lib/util/result.h"

namespace mailroom::postsuper {

// The queues each operation looks in when none is named.
std::vector<std::string> default_queues(char operation);

int delete_messages(const queue::QueueLayout& layout, const std::vector<std::string>& ids,
                    const std::vector<std::string>& queues);
int hold_messages(const queue::QueueLayout& layout, const std::vector<std::string>& ids,
                  const std::vector<std::string>& queues);
int release_messages(const queue::QueueLayout& layout, const std::vector<std::string>& ids);
int requeue_messages(const queue::QueueLayout& layout, const std::vector<std::string>& ids,
                     const std::vector<std::string>& queues);
int check_structure(const queue::QueueLayout& layout);
int purge_temp_files(const queue::QueueLayout& layout);

}  // namespace mailroom::postsuper
