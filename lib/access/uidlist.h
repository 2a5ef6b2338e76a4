// uidlist.h - the per-folder UID list POP3 UIDLs and IMAP UIDs come from.
//
// Summary
//   A Maildir's "dovecot-uidlist" in Dovecot's version 3 format:
//       3 V1715000000 N5
//       1 :1715000001.M1P2Q3.host,S=454
//       2 :1715000002.M4P5Q6.host,S=806
//   (the header gives UIDVALIDITY and the next UID; each line a UID and the
//   base name of one message file, its part before ":2,"). UIDs only grow
//   and are never reused, so a message keeps its UID across sessions and
//   servers, and a Maildir that Dovecot served keeps its UIDLs.
//   parse_uidlist() and format_uidlist() are pure; sync_uidlist() brings the
//   file up to date with the messages a scan found, under Dovecot's lock
//   file "dovecot-uidlist.lock" (created with O_EXCL, written, renamed over
//   the list), and returns each message's UID.
//
// Description
//   Unknown extension fields on a line (Dovecot's "W<vsize>", "G<guid>")
//   are kept. A list that cannot be parsed is started afresh with a new
//   UIDVALIDITY, as Dovecot does, and a warning is logged. A lock file older
//   than two minutes is stale and removed; a fresh one is waited for up to
//   `lock_timeout_ms`, then the sync fails temporarily.
//
// Thread safety
//   Reentrant; processes coordinate through the lock file.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "lib/util/result.h"
#include "lib/util/unique_fd.h"

namespace mailroom::access {

inline constexpr const char* kUidListName = "dovecot-uidlist";

struct UidListEntry {
    std::uint32_t uid = 0;
    std::string extra;  // extension fields between the UID and the ":" (kept as they were)
    std::string base;   // file name up to ":2,"
};

struct UidList {
    std::uint32_t uid_validity = 0;
    std::uint32_t next_uid = 1;
    std::string header_extra;  // other header fields ("G<guid>")
    std::vector<UidListEntry> entries;  // ascending UIDs
};

Result<UidList> parse_uidlist(std::string_view text);
std::string format_uidlist(const UidList& list);

// The base name of a Maildir file name: everything before ":2," (or ":").
std::string_view maildir_base_name(std::string_view filename);

// Adds UIDs for `bases` not in `list` (in the order given) and drops
// entries whose base is not in `bases`. True when something changed.
bool merge_uidlist(UidList* list, const std::vector<std::string>& bases);

struct SyncedUids {
    std::uint32_t uid_validity = 0;
    std::unordered_map<std::string, std::uint32_t> uid_of;  // base name -> UID
};

// Reads <maildir>/dovecot-uidlist, merges `bases` and writes it back when
// it changed. `now` is the UIDVALIDITY of a new list. `bases` come from a
// scan made before the lock was taken, so an entry they lack is dropped
// only when its file is not in new/ or cur/ now (a file delivered after
// that scan may have been numbered by another reader meanwhile).
Result<SyncedUids> sync_uidlist(const std::string& maildir, const std::vector<std::string>& bases,
                                std::uint32_t now, int lock_timeout_ms = 10000);

// Holds <maildir>/dovecot-uidlist.lock (Dovecot's lock file) so a caller
// can scan the Maildir, read the list, merge and write it back as one step:
// the IMAP store does its directory scan under this lock, so no file can be
// added between the scan and the merge by another reader of the list.
class UidListLock {
public:
    // Waits up to `timeout_ms` for the lock (a lock older than two minutes
    // is stale and removed).
    static Result<UidListLock> acquire(const std::string& maildir, int timeout_ms = 10000);
    UidListLock(UidListLock&& other) noexcept;
    UidListLock& operator=(UidListLock&&) = delete;
    UidListLock(const UidListLock&) = delete;
    ~UidListLock();  // releases the lock when commit() was not called

    // The current list; a missing or unparsable one is started afresh with
    // UIDVALIDITY `now` (warning logged for the unparsable one) and
    // `*fresh` set.
    UidList read(std::uint32_t now, bool* fresh) const;
    // Writes `list` through the lock file and renames it over the list,
    // which releases the lock.
    Status commit(const UidList& list);
    // Releases the lock without writing.
    void release();
    // Gives `bases` (names not in the list: files this process has just
    // made) the next UIDs by appending lines to the list, as Dovecot does,
    // instead of writing it anew; fsyncs and releases the lock. The list's
    // header keeps its older next UID (readers take the highest UID + 1).
    // nullopt when the list cannot be appended to (missing, its head or
    // tail unreadable, or of another UIDVALIDITY than `uid_validity`):
    // nothing is written then, and the caller reads and commits it whole.
    struct Appended {
        std::uint32_t uid_validity = 0;
        std::uint32_t first_uid = 0;
    };
    Result<std::optional<Appended>> append_new(const std::vector<std::string>& bases, std::uint32_t uid_validity);

private:
    UidListLock() = default;
    std::string path_;
    std::string lock_path_;
    util::UniqueFd fd_;
};

// Sorts base names into the order Dovecot gives new messages their UIDs:
// by delivery time (the leading seconds), then by name.
void sort_by_delivery_time(std::vector<std::string>* bases);

// Dovecot's pop3_uidl_format: %u UID, %v UIDVALIDITY, %f the file's base
// name, %% a percent sign; each with an optional printf-style width and
// flags and X for hex, in lower case as Dovecot writes it ("%08Xu%08Xv"
// gives "000000016b15e1fe").
std::string format_uidl(std::string_view format, std::uint32_t uid, std::uint32_t uid_validity,
                        std::string_view base);

}  // namespace mailroom::access
