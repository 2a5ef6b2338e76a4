// cleanup_message.h - one message on its way through cleanup.
//
// Summary
//   CleanupMessage receives the records of one cleanup stream, in order,
//   and writes the queue file as they arrive (never the whole message in
//   memory): unqualified envelope addresses get "@$myorigin", the headers
//   From/To/Cc are qualified the same way, and Message-ID, Date and From
//   are added at the end of the header when missing. Addresses then go
//   through canonical maps and masquerading, envelope recipients through
//   virtual_alias_maps (cleanup_addr.h). The content goes through lib/mime,
//   so that, as in Postfix, header_checks see the primary header,
//   mime_header_checks the MIME headers (Content-*, MIME-Version) and every
//   header of a multipart body part, nested_header_checks the header of an
//   attached message/rfc822, body_checks every other line
//   (cleanup_checks.h); only the primary header is rewritten. A MIME
//   nesting deeper than mime_nesting_limit is rejected (5.6.0). finish()
//   commits the file into incoming/ (hold/ after HOLD, nowhere after
//   DISCARD; rename + fsync) and returns the status to report. With
//   finish(kDeferSync) the fsync is left for finish_sync(), which a
//   session runs on a worker thread so that the loop keeps serving the
//   others meanwhile; sync_pending() says whether one is due.
//
// Description
//   Errors latch: after the first one (bad record, message too big, write
//   failure) further records are only counted, so the client can be read
//   to its end and then told why. With kCleanupFlagBounce (pickup) a
//   permanent reject (content checks, message_size_limit) is not an error:
//   the rest of the content is kept (up to message_size_limit), every
//   recipient is appended to the bounce service's logfile with the reject
//   reason and marked done, and the file is committed; qmgr then has
//   bounce send the sender the notice and removes the file, as Postfix's
//   cleanup does for local submissions. Memory is bounded by one header
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
#include "lib/config/common_params.h"
#include "lib/queue/queue_file.h"
#include "lib/submit/cleanup_proto.h"
#include "lib/submit/record_feed.h"

namespace mailroom::cleanup {

struct CleanupParams {
    queue::QueueLayout layout;
    std::string myhostname;
    std::string myorigin;
    long long message_size_limit = config::message_size_limit_default();  // 0 = no limit
    long long header_size_limit = 102400;
    RewriteConfig rewrite;  // canonical, masquerade, virtual alias
    std::shared_ptr<const table::Maps> header_checks;
    std::shared_ptr<const table::Maps> mime_header_checks;
    std::shared_ptr<const table::Maps> nested_header_checks;
    std::shared_ptr<const table::Maps> body_checks;
    int mime_nesting_limit = 100;
    std::size_t mime_boundary_length_limit = 2048;
    bool disable_mime_input_processing = false;
    bool recycle_queue_files = false;  // take used files from recycle/ (queue_file_recycle_limit > 0)
};

class CleanupMessage {
public:
    // Creates the queue file (in incoming/, under a temporary name).
    // `flags` are the request flags (submit::kCleanupFlag*).
    static Result<std::unique_ptr<CleanupMessage>> start(const CleanupParams& params,
                                                         std::int64_t flags = submit::kCleanupFlagNone);
    // Use start(); public for std::make_unique.
    CleanupMessage(const CleanupParams& params, queue::QueueWriter writer, std::int64_t flags);
    CleanupMessage(const CleanupMessage&) = delete;
    CleanupMessage& operator=(const CleanupMessage&) = delete;

    const std::string& queue_id() const { return writer_->queue_id(); }

    // One record of the stream (the C record is not allowed; E completes).
    void feed(queue::RecordType type, std::string_view payload);
    bool complete() const { return complete_; }
    bool failed() const { return status_ != submit::CleanupStatus::kOk; }
    // Marks the message failed (protocol error, timeout, client gone).
    void fail(submit::CleanupStatus status, std::string why);
    // Keeps nothing, as after a DISCARD action (a milter's).
    void discard() { discard_ = true; }

    // Commits when everything went well; otherwise removes the file.
    enum class Sync { kNow, kDeferSync };
    submit::CleanupStatus finish(Sync sync = Sync::kNow);
    // After finish(kDeferSync): true when the committed file still needs
    // finish_sync() before the message may be acknowledged.
    bool sync_pending() const { return sync_pending_; }
    // Makes the committed file durable; thread-safe with respect to every
    // other CleanupMessage (it touches only this one's queue file).
    submit::CleanupStatus finish_sync();
    const std::string& reason() const { return reason_; }
    // The RFC 3463 code when it is not the status's usual one ("" = usual).
    const std::string& dsn() const { return dsn_; }
    const std::string& message_id() const { return message_id_; }
    const std::string& sender() const { return sender_; }
    std::uint64_t message_size() const { return size_; }

private:
    void write(queue::RecordType type, std::string_view payload);
    void content_piece(std::string_view piece, bool line_end);
    // lib/mime's callbacks: a whole header of its class, the end of the
    // primary header, a body line (or piece).
    void mime_header(mime::HeaderClass cls, std::string header);
    void primary_header(std::string header);
    void end_of_header();
    void body_piece(std::string_view piece, bool line_end);
    void count(std::size_t bytes);
    void recipient(std::string_view addr);
    // Looks `text` up in `maps` and acts; false when the text is to be dropped.
    bool content_check(const std::shared_ptr<const table::Maps>& maps, const char* what, std::string* text,
                       std::vector<std::string>* prepend);
    void log_action(const char* word, const char* what, std::string_view text, std::string_view detail);
    // Bounces every recipient (kCleanupFlagBounce); false after a failure.
    bool bounce_recipients();

    CleanupParams params_;
    std::optional<queue::QueueWriter> writer_;
    submit::RecordFeeder feeder_;
    queue::SegmentChecker checker_{queue::StreamKind::kCleanupStream};
    std::uint64_t offset_ = 0;
    submit::CleanupStatus status_ = submit::CleanupStatus::kOk;
    std::string reason_;
    std::string dsn_;
    bool complete_ = false;
    bool sync_pending_ = false;
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
    bool envelope_8bit_ = false;  // the client said BODY=8BITMIME (encoding=8bit)
    bool found_8bit_ = false;     // a Content-Transfer-Encoding: 8bit or binary header
    bool discard_ = false;
    std::string redirect_;
    std::string filter_;
    bool body_line_start_ = true;

    // kCleanupFlagBounce: a permanent reject bounces instead of failing.
    struct WrittenRecipient {
        std::string address, orig, orcpt, notify;
        std::uint64_t status_offset = 0;
    };
    bool bounce_flag_ = false;
    bool internal_ = false;  // kCleanupFlagNoHeaderBodyChecks: no content checks at all
    bool bouncing_ = false;
    submit::CleanupStatus bounce_status_ = submit::CleanupStatus::kOk;
    std::string bounce_reason_;
    bool content_stopped_ = false;  // message_size_limit: the rest is not kept
    bool line_open_ = false;        // the last content record was L
    bool in_extracted_ = false;
    std::string pending_orcpt_, pending_notify_;
    std::vector<WrittenRecipient> written_;  // only with bounce_flag_

    // Content state: the MIME structure says what each line is.
    std::unique_ptr<mime::MimeParser> mime_;
    bool in_header_ = true;     // the primary header is not over yet
    HeaderFlags flags_;
    std::string message_id_;
    std::uint64_t size_ = 0;
};

}  // namespace mailroom::cleanup
