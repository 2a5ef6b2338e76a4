// postdrop_core.h - copy a record stream into a new maildrop/ file.
//
// Summary
//   drop_message() reads a cleanup stream (record_format.h, no C record)
//   from a descriptor, checks every record as it arrives, writes it into
//   a new queue file in maildrop/ and commits (fsync + rename) only after
//   the end marker. Input that stops early or breaks the segment rules
//   leaves nothing behind. Returns the maildrop file's queue ID.
//
// Security
//   postdrop may run set-gid setgid_group: the input is untrusted and
//   bounded per record (kMaxPayload); the file is created mode 0444 so the
//   unprivileged pickup can read it, in a directory only the group can
//   write.
#pragma once

#include <string>

#include "lib/queue/queue_dirs.h"
#include "lib/util/result.h"

namespace mailroom::postdrop {

Result<std::string> drop_message(const queue::QueueLayout& layout, int input_fd);

}  // namespace mailroom::postdrop
