// mbox.h - mbox delivery (locked append, all or nothing) and a reader.
//
// Summary
//   Each message in an mbox file is a "From " line, the message with body
//   lines quoted mboxrd-style, and one blank line:
//     From alice@example.com Tue Nov 24 05:00:00 2026
//     ...message, every line matching ^>*From  gets one more '>'...
//     <blank line>
//   MboxWriter appends one message under the configured locks and, on any
//   failure, truncates the file back to its old size, so a failed delivery
//   leaves the mailbox exactly as it was. index_mbox()/read_mbox_message()
//   read it back (for POP3) and undo the quoting.
//
// Description
//   Quoting (mboxrd): a line that starts with zero or more '>' followed by
//   "From " gets one extra '>' on delivery and loses one on reading, so the
//   round trip is exact. Plain mboxo (Postfix's choice) quotes only "From "
//   and cannot tell ">From " written by the sender from a quoted "From ";
//   mboxrd readers show mboxo mailboxes correctly except for that case.
//   The From line: the envelope sender ("MAILER-DAEMON" for the null sender,
//   white space replaced by '_' so the line stays three fields) and the
//   delivery time in asctime() form, local time, as traditional mbox readers
//   expect. A reader starts a new message at a "From " line at the start of
//   the file or after an empty line.
//   The message gets a final newline when it lacks one, then the blank line.
//   If the existing mailbox does not end in an empty line (another writer
//   left it short), the missing newlines are written first so the new From
//   line follows an empty line.
//   The writer refuses a mailbox that is a symlink, not a regular file, or
//   has more than one hard link (as Postfix does) with a permanent error.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <ctime>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "lib/mailbox/maildir.h"
#include "lib/mailbox/mbox_lock.h"
#include "lib/util/result.h"
#include "lib/util/unique_fd.h"

namespace mailroom::mailbox {

// "From <sender> <asctime date>\n" for the given broken-down time.
std::string format_from_line(std::string_view sender, const std::tm& when);
// The same in local time.
std::string format_from_line(std::string_view sender, time_t when);

// Streaming mboxrd quoting (kQuote) or unquoting (kUnquote). Input may be
// split anywhere, even inside "From "; state carries across feed() calls and
// only a count is kept, so memory use is bounded whatever the line length.
class FromFilter {
public:
    enum class Mode { kQuote, kUnquote };
    explicit FromFilter(Mode mode) : mode_(mode) {}

    // Appends the filtered form of `in` to `out`.
    void feed(std::string_view in, std::string* out);
    // Flushes a pending line start (input ended inside ">>Fro").
    void finish(std::string* out);

private:
    void flush_prefix(std::string* out);

    Mode mode_;
    bool at_line_start_ = true;
    size_t gt_ = 0;       // '>' seen at the start of this line
    size_t matched_ = 0;  // bytes of "From " matched after them
};

// Whole-string helpers over FromFilter.
std::string mbox_quote(std::string_view text);
std::string mbox_unquote(std::string_view text);

struct MboxOptions {
    LockOptions lock;
    CreateOptions create;  // file_mode and owner for a new mailbox file
    bool create_file = true;
};

class MboxWriter {
public:
    // Locks `path` (creating it when allowed), remembers its size and writes
    // the From line for `sender` at `when`.
    static Result<MboxWriter> open(const std::string& path, std::string_view sender, time_t when,
                                   const MboxOptions& options = {});

    MboxWriter(MboxWriter&& other) noexcept;
    MboxWriter& operator=(MboxWriter&& other) noexcept;
    MboxWriter(const MboxWriter&) = delete;
    MboxWriter& operator=(const MboxWriter&) = delete;
    ~MboxWriter();  // abort() unless committed

    // Appends message bytes (quoted on the way). On error the mailbox has
    // already been truncated back and the writer is finished.
    Status append(std::string_view data);

    // Writes the final newline and blank line, fsyncs and unlocks. On error
    // the mailbox is truncated back to its old size.
    Status commit();

    // Truncates the mailbox back to its old size and unlocks.
    void abort();

    uint64_t original_size() const { return original_size_; }

private:
    MboxWriter() = default;
    Status write_out(std::string_view data);
    Status flush();
    Error fail(Error e);

    std::string path_;
    util::UniqueFd fd_;
    DotLock dotlock_;
    LockOptions lock_options_;
    FromFilter quoter_{FromFilter::Mode::kQuote};
    std::string buf_;
    uint64_t original_size_ = 0;
    char last_ = '\n';
    bool active_ = false;
};

// One message found by index_mbox(). Offsets are byte offsets in the file;
// the content (still quoted) is [body_offset, end_offset).
struct MboxMessage {
    uint64_t from_offset = 0;
    uint64_t body_offset = 0;
    uint64_t end_offset = 0;
    std::string from_line;  // without the newline
    std::string sender;     // second field of the From line
};

// Indexes an mbox file with a bounded buffer. Bytes before the first From
// line (a damaged file) are ignored.
Result<std::vector<MboxMessage>> index_mbox(const std::string& path);

// Streams a message's unquoted content to `sink` in bounded chunks.
Status read_mbox_message(const std::string& path, const MboxMessage& message,
                         const std::function<Status(std::string_view)>& sink);
// The same, collected into a string.
Result<std::string> read_mbox_message(const std::string& path, const MboxMessage& message);

}  // namespace mailroom::mailbox
