// bounce_log.h - per-message recipient status logfiles.
//
// Summary
//   A logfile (queue_directory/{bounce,defer,trace}/QUEUEID) holds one
//   attribute record (lib/ipc attr.h, docs/ipc-format.md) per recipient
//   status, in the order they were appended; the attribute names are
//   BounceRecipient's (lib/bounce/bounce_proto.h). append_log() adds one
//   record with a single O_APPEND write followed by fsync, so concurrent
//   appenders never interleave and an acknowledged append survives a crash.
//   read_log() decodes the whole file; remove_log() deletes it.
//
// Description
//   decode_log() is the pure part of read_log(). A crash in the middle of
//   an append can leave a truncated last record: it is dropped (the
//   recipient was not acknowledged, so qmgr tries it again) and counted in
//   LogContents::truncated. A malformed record anywhere else is an error.
//   A missing logfile reads as empty.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "lib/bounce/bounce_proto.h"
#include "lib/queue/queue_dirs.h"
#include "lib/util/result.h"

namespace mailroom::bounce {

struct LogContents {
    std::vector<BounceRecipient> recipients;
    bool truncated = false;  // an incomplete last record was dropped
};

// The bytes of one logfile record.
Result<std::string> encode_log_record(const BounceRecipient& rcpt);
Result<LogContents> decode_log(std::string_view bytes);

// The logfile of `id` in `queue` (bounce, defer, trace).
std::string log_path(const queue::QueueLayout& layout, std::string_view queue, std::string_view id);

Status append_log(const queue::QueueLayout& layout, std::string_view queue, std::string_view id,
                  const BounceRecipient& rcpt);
Result<LogContents> read_log(const queue::QueueLayout& layout, std::string_view queue, std::string_view id);
// Removes the logfile; a missing one is not an error.
Status remove_log(const queue::QueueLayout& layout, std::string_view queue, std::string_view id);

}  // namespace mailroom::bounce
