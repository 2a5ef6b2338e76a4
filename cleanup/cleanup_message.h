// cleanup_message.h - one message on its way through cleanup.
//
// Summary
//   CleanupMessage receives the records of one cleanup stream, in order,
//   and writes the queue file as they arrive (never the whole message in
//   memory): unqualified envelope addresses get "@$myorigin", the headers
//   From/To/Cc are qualified the same way, and Message-ID, Date and From
//   are added at the end of the header when missing. Addresses then go
//   through canonical maps and masquerading, envelope recipients through
//   virtual_alias_maps (cleanup_addr.h); header_checks and body_checks act
//   on each logical header and body line (cleanup_checks.h). finish()
//   commits the file into incoming/ (hold/ after HOLD, nowhere after
//   DISCARD; fsync + rename) and returns the status to report.
//
// Description
//   Errors latch: after the first one (bad record, message too big, write
//   failure) further records are only counted, so the client can be read
//   to its end and then told why. Memory is bounded by one header
//   (header_size_limit; the excess of a longer header is discarded, as
//   Postfix does) plus one record.
#pragma once

#include <ctime>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "cleanup/cleanup_addr.h"
#include "cleanup/cleanup_checks.h"
#include "cleanup/cleanup_header.h"
#include "lib/queue/queue_file.h"
#include "lib/submit/cleanup_proto.h"
#include "lib/submit/record_feed.h"

namespace mailroom::cleanup {

struct CleanupParams {
    queue::QueueLayout layout;
    std::string myhostname;
    std::string myorigin;
    long long message_size_limit = 10240000;  // 0 = no limit
    long long header_size_limit = 102400;
    RewriteConfig rewrite;  // canonical, masquerade, virtual alias
    std::shared_ptr<const table::Maps> header_checks;
    std::shared_ptr<const table::Maps> mime_header_checks;
    std::shared_ptr<const table::Maps> body_checks;
};

class CleanupMessage {
public:
    // Creates the queue file (in incoming/, under a temporary name).
    static Result<std::unique_ptr<CleanupMessage>> start(const CleanupParams& params);
    // Use start(); public for std::make_unique.
    CleanupMessage(const CleanupParams& params, queue::QueueWriter writer)
        : params_(params), writer_(std::move(writer)), feeder_(&*writer_) {}
    CleanupMessage(const CleanupMessage&) = delete;
    CleanupMessage& operator=(const CleanupMessage&) = delete;

    const std::string& queue_id() const { return writer_->queue_id(); }

    // One record of the stream (the C record is not allowed; E completes).
    void feed(queue::RecordType type, std::string_view payload);
    bool complete() const { return complete_; }
    bool failed() const { return status_ != submit::CleanupStatus::kOk; }
    // Marks the message failed (protocol error, timeout, client gone).
    void fail(submit::CleanupStatus status, std::string why);

    // Commits when everything went well; otherwise removes the file.
    submit::CleanupStatus finish();
    const std::string& reason() const { return reason_; }
    const std::string& message_id() const { return message_id_; }
    const std::string& sender() const { return sender_; }
    std::uint64_t message_size() const { return size_; }

private:
    void write(queue::RecordType type, std::string_view payload);
    void content_piece(std::string_view piece, bool line_end);
    void header_line_done(std::string line);
    void flush_header();
    void end_of_header();
    void count(std::size_t bytes);
    void recipient(std::string_view addr);
    // Looks `text` up in `maps` and acts; false when the text is to be dropped.
    bool content_check(const std::shared_ptr<const table::Maps>& maps, const char* what, std::string* text,
                       std::vector<std::string>* prepend);
    void log_action(const char* word, const char* what, std::string_view text, std::string_view detail);

    CleanupParams params_;
    std::optional<queue::QueueWriter> writer_;
    submit::RecordFeeder feeder_;
    queue::SegmentChecker checker_{queue::StreamKind::kCleanupStream};
    std::uint64_t offset_ = 0;
    submit::CleanupStatus status_ = submit::CleanupStatus::kOk;
    std::string reason_;
    bool complete_ = false;
    std::string sender_;
    std::time_t arrival_ = 0;
    std::uint64_t recipients_ = 0;
    std::string pending_orig_;
    bool have_orig_ = false;
    std::set<std::string> written_rcpts_;  // "orig\0rcpt", lower case
    std::string first_rcpt_;   // for the content-check log lines
    std::string client_name_;
    std::string client_addr_;
    bool hold_ = false;
    bool discard_ = false;
    std::string redirect_;
    std::string filter_;
    bool body_line_start_ = true;

    // Content state.
    bool in_header_ = true;
    std::string line_;          // the current line (header part only)
    bool line_truncated_ = false;
    std::string header_;        // the current header, continuation lines joined by "\n"
    HeaderFlags flags_;
    std::string message_id_;
    std::uint64_t size_ = 0;
};

}  // namespace mailroom::cleanup
