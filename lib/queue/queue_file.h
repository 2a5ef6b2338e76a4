// queue_file.h - writing, reading and updating queue files.
//
// Summary
//   QueueWriter streams a new queue file into a queue (incoming/ by
//   default): records are appended as the message arrives, never holding the
//   whole message in memory. commit() makes it durable and visible:
//     write E, rewrite the size record in place, rename the temporary
//     name to the queue ID, fsync the file (which makes the new name
//     durable too on the journaling file systems docs/performance.md
//     names: one fsync per message, no directory fsync).
//   Only after commit() returns ok may the message be acknowledged.
//
//   QueueFile opens an existing queue file and reads it in one strict,
//   streaming pass (read()): every record is checked by SegmentChecker, the
//   size record is cross-checked against what was read, content pieces go
//   to an optional sink. It marks recipients done in place (one byte,
//   pwrite, no fsync: a mark lost in a crash repeats a delivery, it never
//   loses one) and locks the file against a second deliverer.
//
// Description
//   Temporary files are named "tmp.PID.N" inside the target queue; they are
//   never valid queue IDs, so list_queue() and qmgr never see a file that
//   was not committed. A writer destroyed without commit() removes its
//   temporary file; after a crash, stale temporary files are left for
//   remove_stale_temp_files() and purge_temp_files().
//
//   With WriterOptions::recycle the file is a used one taken from recycle/
//   when there is one (recycle.h): it is overwritten from offset 0 and, at
//   commit, truncated to the new content before it gets its final name; an
//   aborted writer puts it back.
//
//   The queue ID is chosen when the file is created (queue_id.h) and is
//   final unless, at commit, a file of that name already exists (only
//   possible for files copied in from elsewhere); then a fresh ID is chosen
//   and queue_id() returns it.
//
// Diagnostics
//   read() reports corruption as a permanent error with code
//   ErrorCode::kCorruptFile (is_corruption()) whose text starts with
//   "corrupt queue file" and names the problem and its byte offset; I/O
//   failures are temporary and carry their errno (Error::sys_errno).
//   save_corrupt_file() moves a corrupt file to corrupt/ and logs
//   "warning: QUEUEID: ...".
//
// Thread safety
//   A QueueWriter or QueueFile is used by one thread at a time; separate
//   objects (even for the same file) are independent.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "lib/queue/queue_dirs.h"
#include "lib/queue/record.h"
#include "lib/util/result.h"
#include "lib/util/unique_fd.h"

namespace mailroom::queue {

struct RecipientSpec {
    RecipientSpec(std::string address_in, std::string orig = {}, std::string orcpt = {}, std::string notify = {})
        : address(std::move(address_in)),
          orig_recipient(std::move(orig)),
          dsn_orcpt(std::move(orcpt)),
          dsn_notify(std::move(notify)) {}

    std::string address;
    std::string orig_recipient;  // "" = none
    std::string dsn_orcpt;       // "" = none, else "rfc822;addr"
    std::string dsn_notify;      // "" = none, else "NEVER" or e.g. "SUCCESS,FAILURE"
};

struct WriterOptions {
    std::string queue = std::string(kQueueIncoming);
    mode_t mode = 0600;
    std::size_t content_chunk = kDefaultContentChunk;  // 1..kMaxPayload
    // Take a used file from recycle/ when there is one (recycle.h; cleanup
    // does when queue_file_recycle_limit is not 0).
    bool recycle = false;
};

class QueueWriter {
public:
    // Creates the temporary file and chooses the queue ID.
    static Result<QueueWriter> create(const QueueLayout& layout, const WriterOptions& options = {});

    QueueWriter(QueueWriter&&) noexcept = default;
    QueueWriter& operator=(QueueWriter&&) noexcept = default;
    ~QueueWriter();

    const std::string& queue_id() const { return queue_id_; }
    const std::string& temp_path() const { return temp_path_; }

    // Envelope (before begin_content()); any order, T and S exactly once.
    Status set_arrival_time(std::int64_t seconds, std::int32_t microseconds);
    Status set_sender(std::string_view sender);
    Status add_attribute(std::string_view name, std::string_view value);
    Status set_dsn_ret(std::string_view ret);
    Status set_dsn_envid(std::string_view envid);
    // Also allowed in the extracted segment.
    Status add_recipient(const RecipientSpec& recipient);

    // Content. add_line() takes one whole line without its line ending;
    // add_piece() takes a piece of a line, `line_end` marking its last
    // piece, for callers that stream lines of unbounded length. Long input
    // is split into records of at most content_chunk bytes.
    Status begin_content();
    Status add_line(std::string_view line);
    Status add_piece(std::string_view piece, bool line_end);

    Status begin_extracted();

    // Appends a record received from the cleanup stream as is (cleanup
    // copying smtpd's records through), with the same checks as the typed
    // calls above. The size record and the end marker belong to the writer
    // and are refused; use commit() to end the file.
    Status add_stream_record(RecordType type, std::string_view payload);

    // Marks a recipient already written done (its status byte at
    // `status_offset`), for a file committed with recipients that are
    // finished before delivery (cleanup bouncing a rejected local
    // submission). commit() makes the change durable with the rest.
    Status mark_done(std::uint64_t status_offset);

    // The queue commit() renames the file into (cleanup's HOLD action
    // chooses hold); WriterOptions::queue until then.
    void set_final_queue(std::string queue) { options_.queue = std::move(queue); }
    // Finishes the file as described above; returns its final path.
    Result<std::string> commit();
    // commit() in two steps, so that the fsync can run on another thread
    // (several sessions' fsyncs then share the journal's commits):
    // commit_unsynced() does everything but the fsync and keeps the file
    // open; sync_committed() fsyncs it (removing the file when that fails).
    // Only after sync_committed() returns ok may the message be acknowledged.
    // sync_committed() touches only the writer's own file descriptor and
    // path: it may run on any thread while nothing else uses the writer.
    Result<std::string> commit_unsynced();
    Status sync_committed();
    // Removes the temporary file; the writer is unusable afterwards.
    void abort();

    // Bytes written so far (the next record's offset).
    std::uint64_t offset() const { return offset_ + buffer_.size(); }

private:
    QueueWriter() = default;
    Status add_record(RecordType type, std::string_view payload);
    Status flush();
    Status fail(Status st);

    QueueLayout layout_;
    WriterOptions options_;
    util::UniqueFd fd_;
    std::string queue_id_;
    std::string temp_path_;
    std::string final_path_;  // after commit_unsynced()
    std::string buffer_;
    std::uint64_t offset_ = 0;  // bytes already written to fd_
    SegmentChecker checker_{StreamKind::kQueueFile};
    SizeFields size_;
    bool line_open_ = false;  // add_piece() inside a line
    bool recycled_ = false;   // the file came from recycle/
    std::uint64_t recycled_size_ = 0;  // its length when taken
    bool failed_ = false;
    bool done_ = false;
};

struct QueueRecipient {
    std::string address;
    std::string orig_recipient;
    std::string dsn_orcpt;
    std::string dsn_notify;
    bool done = false;
    bool extracted = false;            // from the extracted segment
    std::uint64_t status_offset = 0;   // file offset of the status byte
};

struct QueueEnvelope {
    SizeFields size;
    std::int64_t arrival_seconds = 0;
    std::int32_t arrival_microseconds = 0;
    std::string sender;
    std::vector<std::pair<std::string, std::string>> attributes;  // envelope and extracted, in file order
    std::string dsn_ret;
    std::string dsn_envid;
    std::vector<QueueRecipient> recipients;  // all of them, in file order

    // The value of the first attribute with this name, or "".
    std::string_view attribute(std::string_view name) const;
    // Recipients still to be delivered (not marked done).
    std::vector<const QueueRecipient*> pending_recipients() const;
};

// Receives content in file order: a piece of a line and whether it ends
// the line. Returning an error stops the read with that error.
using ContentSink = std::function<Status(std::string_view piece, bool line_end)>;

class QueueFile {
public:
    // Opens a queue file; `writable` is needed for mark_done() and locking.
    static Result<QueueFile> open(const std::string& path, bool writable);

    // One strict pass over the whole file from the start.
    Result<QueueEnvelope> read(const ContentSink& sink = nullptr);
    // Like read(), but jumps over the content using the size record's
    // offsets (for qmgr, which needs the envelope and the extracted
    // recipients, not a large body). Everything outside the content is
    // checked as strictly, and the record found at extracted_offset must be
    // the X record; damage inside the content is found only by read().
    Result<QueueEnvelope> read_envelope();
    // read_envelope() for a reader that wants the content too (a delivery
    // agent): a file of at most `whole_limit` bytes (by the size open()
    // saw) is read with one call, no read at its end, and *image receives
    // all of its bytes, where the envelope's offsets point; a larger file
    // is read as read_envelope() does and *image is left empty.
    Result<QueueEnvelope> read_envelope(std::string* image, std::size_t whole_limit);

    // Marks a recipient done: checks the byte at status_offset is a status
    // byte, writes kRcptDone there (not fsynced). Idempotent.
    Status mark_done(const QueueRecipient& recipient);
    Status mark_done_at(std::uint64_t status_offset);

    Status lock(bool wait = false) { return lock_queue_file(fd_.get(), wait); }
    int fd() const { return fd_.get(); }
    // The file's length when it was opened (a regular file, checked then).
    std::uint64_t open_size() const { return size_; }
    const std::string& path() const { return path_; }
    // The file's device (as open() found it), and its descriptor for a
    // reader that keeps it after the QueueFile is gone.
    dev_t device() const { return device_; }
    util::UniqueFd take_fd() { return std::move(fd_); }

private:
    QueueFile() = default;
    Result<QueueEnvelope> read_impl(const ContentSink& sink, bool skip_content, std::string* image = nullptr,
                                    std::size_t whole_limit = 0);
    util::UniqueFd fd_;
    std::string path_;
    std::uint64_t size_ = 0;  // st_size at open()
    dev_t device_ = 0;
};

// True when an error from QueueFile::read() means the file is corrupt (as
// opposed to an I/O failure that may go away).
bool is_corruption(const Error& error);

// Moves QUEUE/ID to corrupt/ and logs "warning: ID: corrupt queue file in
// QUEUE: REASON; moved to corrupt/".
Status save_corrupt_file(const QueueLayout& layout, std::string_view queue, std::string_view id,
                         std::string_view reason);

// Removes temporary files ("tmp.*") older than max_age_seconds from a queue.
// Returns how many were removed.
Result<int> remove_stale_temp_files(const QueueLayout& layout, std::string_view queue, long max_age_seconds);

// postsuper -p and mailroom start: removes the temporary files of writers
// that are gone ("tmp.PID.N" whose PID no longer runs: a cleanup or
// postdrop killed mid-message) and any older than kMaxTempAgeSeconds, as
// Postfix's postsuper -p purges old temporary files. A live writer's file
// is never touched. Returns how many were removed.
inline constexpr long kMaxTempAgeSeconds = 24 * 3600;
Result<int> purge_temp_files(const QueueLayout& layout, std::string_view queue);

}  // namespace mailroom::queue
