// postdrop_core.h - copy a record stream into a new maildrop/ file.
//
// Summary
//   drop_message() reads a cleanup stream (record_format.h, no C record)
//   from a descriptor, checks every record as it arrives, writes it into
//   a new queue file in maildrop/ and commits (fsync + rename) only after
//   the end marker. Input that stops early or breaks the segment rules
//   leaves nothing behind. Returns the maildrop file's queue ID.
//   `on_created`, when given, learns the queue ID as soon as the file
//   exists, before any input is read (postdrop tells sendmail, which
//   writes it into the Received: header, as Postfix's postdrop does).
//
// Security
//   postdrop may run set-gid setgid_group: the input is untrusted and
//   bounded per record (kMaxPayload); the file is created mode 0444 so the
//   unprivileged pickup can read it, in a directory only the group can
//   write.
#pragma once

#include <functional>
#include <string>

#include "lib/queue/queue_dirs.h"
#include "lib/util/result.h"

namespace mailroom::postdrop {

Result<std::string> drop_message(const queue::QueueLayout& layout, int input_fd,
                                 const std::function<void(const std::string& queue_id)>& on_created = nullptr);

}  // namespace mailroom::postdrop
