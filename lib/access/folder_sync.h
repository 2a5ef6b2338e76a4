// folder_sync.h - a folder's shared on-disk state, brought up to date under its lock.
//
// Summary
//   FolderState owns one folder's index (folder_index.h) as this process
//   last read or wrote it, and refresh() brings it up to date with the
//   Maildir: it re-reads the index when another process replaced it, scans
//   new/ and cur/ when their mtimes moved (or the last scan was too close
//   to a change to trust them), assigns UIDs to new files through the
//   dovecot-uidlist (uidlist.h), drops records whose files are gone
//   (remembering them for QRESYNC), gives changed flags a new MODSEQ, and
//   writes the index back when anything changed: as entries appended to
//   its change log when it can, else whole. MailFolder (the session
//   view) and MailStore (STATUS, APPEND) are built on it.
//
// Description
//   Callers hold a FolderLock (flock on mailroom.index.lock) around
//   refresh() and any change; the lock orders sessions of mailroom against
//   each other, and the uidlist's lock file orders UID assignment against
//   pop3d, Dovecot and other readers. Lock order: folder lock, then uidlist
//   lock.
//
// Thread safety
//   One thread per FolderState.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "lib/access/folder_index.h"
#include "lib/access/mail_folder.h"
#include "lib/access/uidlist.h"
#include "lib/mailbox/maildir.h"
#include "lib/mailbox/maildir_quota.h"
#include "lib/util/result.h"
#include "lib/util/unique_fd.h"

namespace mailroom::access {

struct StoreContext {
    std::string maildir;  // root (INBOX)
    mailbox::CreateOptions create;
    std::optional<mailbox::QuotaLimits> quota;
    bool quota_exclude_trash = false;
    std::uint32_t now = 0;
    int lock_timeout_ms = 10000;
    std::string host;  // for new file names
};

class FolderState;

// Holds the folder lock for its lifetime.
class FolderLock {
public:
    explicit FolderLock(FolderState* state) : state_(state) {}
    FolderLock(FolderLock&& o) noexcept : state_(o.state_) { o.state_ = nullptr; }
    FolderLock(const FolderLock&) = delete;
    FolderLock& operator=(const FolderLock&) = delete;
    ~FolderLock();

private:
    FolderState* state_;
};

struct RefreshOptions {
    bool move_new = false;     // read-write: new/ -> cur/
    bool take_recent = false;  // read-write: claim \Recent, move the watermark up
    bool force_scan = false;   // ignore the directory stamps
    // Bases to number first, in this order (APPEND, COPY).
    const std::vector<std::string>* first_bases = nullptr;
};

class FolderState {
public:
    // `dir` is the folder's Maildir; it must exist (kNonExistent otherwise).
    static Result<std::unique_ptr<FolderState>> open(std::shared_ptr<const StoreContext> ctx, std::string dir);
    // The state of `dir` that the process's selected views share: one copy
    // of a folder's records however many sessions of its user have it
    // selected (each view keeps only its own numbers). A new one when none
    // is open or the folder was replaced meanwhile.
    static Result<std::shared_ptr<FolderState>> open_shared(std::shared_ptr<const StoreContext> ctx, std::string dir);
    ~FolderState();

    Result<FolderLock> lock();
    // Under the lock. Returns the UIDs claimed as \Recent by this call.
    Result<std::vector<std::uint32_t>> refresh(const RefreshOptions& options);
    // Under the lock, after refresh(): numbers files this process has just
    // put into cur/ (`filenames`, in this order) without a rescan. Returns
    // their UIDs (0 for a file that is gone again).
    Result<std::vector<std::uint32_t>> add_files(const std::vector<std::string>& filenames);
    // Under the lock: writes the index when dirty() (after taking in what
    // another process wrote meanwhile, so nothing of theirs is lost).
    Status save();
    // Something changed that the change log cannot say: save() writes the
    // whole index.
    void mark_dirty() {
        dirty_ = rewrite_ = true;
        ++generation_;
    }
    // The record of `uid` changed (or was added): save() appends it.
    void mark_changed(std::uint32_t uid) {
        dirty_ = true;
        ++generation_;
        touched_.push_back(uid);
    }
    // Changes whenever the records or the MODSEQ may have changed, so a
    // view that saw this generation has nothing to compare.
    std::uint64_t generation() const { return generation_; }
    // Around a change this process makes to cur/ under the folder lock:
    // the mtime of cur/ before, and after the change, so that the next
    // refresh need not scan for what it did itself (folder_index.h,
    // kOwnChangeTrust).
    DirStamp cur_stamp_now() const;
    void own_cur_change(const DirStamp& before);
    bool dirty() const { return dirty_; }

    const std::string& dir() const { return dir_; }
    // Whether the folder this state was opened on is still at dir() (not
    // deleted or renamed away: its lock file is the one held open).
    bool still_there() const;
    const StoreContext& ctx() const { return *ctx_; }
    FolderIndex& index() { return index_; }
    const FolderIndex& index() const { return index_; }
    IndexRecord* find(std::uint32_t uid);
    std::string path_of(const IndexRecord& r) const;

    // Keywords (dovecot-keywords), re-read in refresh().
    const std::vector<std::string>& keywords() const { return keywords_; }
    // Under the lock: the bits for `names`, adding missing ones to
    // dovecot-keywords. kLimit past 26.
    Result<std::uint32_t> keyword_bits(const std::vector<std::string>& names);
    std::vector<std::string> keyword_names(std::uint32_t bits) const;

    // Next MODSEQ for a change made now (one per operation).
    std::uint64_t next_modseq();
    // Removes the records of `uids` and remembers them as vanished at `modseq`.
    void drop(const std::vector<std::uint32_t>& uids, std::uint64_t modseq);

    // Cache (mailroom.cache), loaded on first use; read again (and written
    // anew when mostly dead) on the first use after reload_cache_later().
    void reload_cache_later() { cache_loaded_ = false; }
    std::optional<std::string> cached(std::uint32_t uid, std::uint8_t field);
    void set_cached(std::uint32_t uid, std::uint8_t field, std::string_view value);

    // Computed RFC822 sizes kept across index reloads until saved.
    void remember_rfc822_size(std::uint32_t uid, std::uint64_t size);

private:
    friend class FolderLock;
    FolderState() = default;
    Status load_index();
    Status scan(std::vector<std::pair<std::string, bool>>* files, DirStamp* new_stamp, DirStamp* cur_stamp);
    Status reconcile(std::vector<std::pair<std::string, bool>>& files, const RefreshOptions& options,
                     UidListLock* lock);
    Status load_keywords();
    void load_cache();

    std::shared_ptr<const StoreContext> ctx_;
    std::string dir_;
    util::UniqueFd lock_fd_;
    int lock_depth_ = 0;
    FolderIndex index_;
    bool loaded_ = false;
    bool dirty_ = false;
    struct FileId {
        ino_t ino = 0;
        off_t size = 0;
        std::int64_t mtime_ns = 0;
        bool operator==(const FileId&) const = default;
    };
    FileId index_id_;
    util::UniqueFd index_fd_;        // the index file read or written last (keeps its inode)
    bool index_fd_writable_ = false;
    std::size_t index_valid_end_ = 0;  // bytes of it that are whole (base and change log)
    std::size_t index_log_bytes_ = 0;  // of which the change log
    bool rewrite_ = false;
    std::uint64_t generation_ = 1;
    std::vector<std::uint32_t> touched_;                             // records to log
    std::vector<std::pair<std::uint32_t, std::uint64_t>> gone_;      // expunges to log
    FileId keywords_id_;
    std::uint64_t modseq_this_op_ = 0;
    std::vector<std::string> keywords_;
    std::unordered_map<std::uint32_t, std::uint64_t> pending_sizes_;
    bool cache_loaded_ = false;
    CacheMap cache_;
    std::size_t cache_valid_end_ = 0;
    ino_t cache_ino_ = 0;
};

}  // namespace mailroom::access
