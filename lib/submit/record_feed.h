// record_feed.h - replay cleanup-stream records into a QueueWriter.
//
// Summary
//   RecordFeeder turns the records of a cleanup stream (record_format.h)
//   into QueueWriter calls: T, S, A, r, e, recipients with their O/o/n
//   records, M, N/L content pieces, X. The end marker E is not fed: the
//   caller decides when to commit(). postdrop uses it as is; cleanup feeds
//   the records it has rewritten.
#pragma once

#include <string>
#include <string_view>

#include "lib/queue/queue_file.h"
#include "lib/util/result.h"

namespace mailroom::submit {

// Parses "SECONDS.MICROSECONDS".
Status parse_arrival_time(std::string_view payload, std::int64_t* seconds, std::int32_t* microseconds);

class RecordFeeder {
public:
    explicit RecordFeeder(queue::QueueWriter* writer) : writer_(writer) {}
    // Records after E, or E itself, are errors.
    Status feed(queue::RecordType type, std::string_view payload);

private:
    queue::QueueWriter* writer_;
    std::string orig_, orcpt_, notify_;
};

}  // namespace mailroom::submit
