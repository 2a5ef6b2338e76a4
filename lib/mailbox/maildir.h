// maildir.h - Maildir delivery and the reading helpers POP3/IMAP share.
//
// Summary
//   ensure_maildir() creates a Maildir (cur, new, tmp) with a given mode and
//   owner. MaildirWriter delivers one message: open() creates a uniquely
//   named file in tmp/, append() streams the message in, commit() fsyncs it,
//   moves it into new/ under its final name (with ",S=<size>") with one
//   renameat2(RENAME_NOREPLACE), which never replaces a name (link() and
//   unlink() where the file system lacks the flag), without an fsync of
//   new/ (the journal's ordering makes the new name durable before
//   anything done after it, such as the queue file's removal); abort() or
//   destruction without commit() removes the tmp file. The
//   scan/move/flag helpers read and update a Maildir the way POP3 and IMAP
//   servers do.
//
// Description
//   Crash safety: a file appears in new/ only after its data is on disk, so a
//   crash or kill at any moment leaves at worst a stray file in tmp/ (which
//   clean_maildir_tmp() removes after 36 hours, as the Maildir spec asks of
//   readers), never a partial message in new/.
//   Names follow maildir_name.h. Messages are stored as given (the delivery
//   agent decides on LF line ends); the writer never holds the message, only
//   a bounded output buffer.
//   Errors name the path and errno; ENOSPC, EDQUOT and the like are
//   temporary (sys_error.h), ENOTDIR, EACCES and the like permanent.
//
// Thread safety
//   A MaildirWriter is used by one thread. The delivery counter is atomic.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lib/mailbox/maildir_name.h"
#include "lib/util/result.h"
#include "lib/util/unique_fd.h"

namespace mailroom::mailbox {

// How this library creates directories and files.
struct CreateOptions {
    mode_t dir_mode = 0700;
    mode_t file_mode = 0600;
    // When set, every directory and file this library creates is chown()ed
    // to this owner (a root delivery agent creating a user's Maildir).
    std::optional<uid_t> uid;
    std::optional<gid_t> gid;
    // Called with the path of every directory or file this library creates,
    // after the chown above; an error aborts the operation and is returned.
    std::function<Status(const std::string& path)> on_create;
};

// Creates `maildir` (and missing parents) plus its cur/, new/ and tmp/.
// Existing directories are left as they are; a non-directory in the way is a
// permanent error.
Status ensure_maildir(const std::string& maildir, const CreateOptions& options = {});

struct DeliveryOptions {
    CreateOptions create;
    bool create_dirs = true;     // run ensure_maildir() first
    std::string host;            // "" = gethostname()
    bool include_vsize = false;  // also add ",W=<size with CRLF>"
    // The file system of the queue file this delivery comes from. When the
    // Maildir is on the same one, commit() does not fsync new/: the journal
    // makes the link durable before the queue file's later removal. On
    // another file system, or when unknown, it does.
    std::optional<dev_t> queue_device;
};

class MaildirWriter {
public:
    // Creates tmp/<unique name> under `maildir`. The writer owns the file
    // until commit() or abort().
    static Result<MaildirWriter> open(const std::string& maildir, const DeliveryOptions& options = {});

    MaildirWriter(MaildirWriter&& other) noexcept;
    MaildirWriter& operator=(MaildirWriter&& other) noexcept;
    MaildirWriter(const MaildirWriter&) = delete;
    MaildirWriter& operator=(const MaildirWriter&) = delete;
    ~MaildirWriter();  // abort() unless committed

    // Appends bytes of the message. After an error the writer is aborted.
    Status append(std::string_view data);

    // Makes the message visible in new/ and returns its full path. After an
    // error the tmp file is removed and nothing is in new/.
    Result<std::string> commit();

    // Removes the tmp file; harmless when already committed or aborted.
    void abort();

    uint64_t size() const { return size_; }
    const std::string& tmp_path() const { return tmp_path_; }

private:
    MaildirWriter() = default;
    Status flush();

    std::string maildir_;
    std::string base_;
    std::string host_;  // unescaped
    std::string tmp_path_;
    util::UniqueFd fd_;
    std::vector<char> buf_;
    size_t buf_used_ = 0;
    uint64_t size_ = 0;
    uint64_t vsize_ = 0;
    char last_ = 0;
    bool include_vsize_ = false;
    std::optional<dev_t> queue_device_;
    bool open_ = false;  // tmp file exists and belongs to us
};

// The next value of the per-process delivery counter (Q<n> in names).
uint64_t next_delivery_counter();

// ---- reading helpers ----

struct MaildirEntry {
    std::string subdir;    // "new" or "cur"
    std::string filename;  // name within subdir
    MaildirName name;      // parsed filename
};

// Lists new/ then cur/, each sorted by file name; dot files are skipped.
Result<std::vector<MaildirEntry>> scan_maildir(const std::string& maildir);

// Moves new/<filename> to cur/<base>:2,<flags> and returns the new name.
Result<std::string> move_to_cur(const std::string& maildir, const std::string& filename,
                                std::string_view flags = "");

// Renames cur/<filename> so its info is ":2,<flags>" and returns the new
// name (the old one when nothing changes). ENOENT means another process
// renamed or expunged it: rescan.
Result<std::string> set_maildir_flags(const std::string& maildir, const std::string& filename,
                                      std::string_view flags);

// The message size: ",S=" from the name when present, else stat().
Result<uint64_t> maildir_message_size(const std::string& maildir, const MaildirEntry& entry);

// Removes files in tmp/ not modified for `max_age_seconds` (36 hours in the
// Maildir spec). Returns how many were removed.
Result<size_t> clean_maildir_tmp(const std::string& maildir, long max_age_seconds = 36L * 3600);

// "<maildir>/<subdir>/<filename>".
std::string maildir_path(const std::string& maildir, std::string_view subdir, std::string_view filename);

}  // namespace mailroom::mailbox
