// mail_folder.h - one IMAP session's view of one Maildir++ folder.
//
// Summary
//   MailStore::open_folder() (mail_store.h) returns a MailFolder: the
//   messages of one folder in UID order with their sequence numbers as this
//   session knows them, their flags, keywords, sizes, internal dates and
//   MODSEQs, UIDVALIDITY/UIDNEXT/HIGHESTMODSEQ, and the operations IMAP needs:
//   sync() (what changed on disk since this view was last brought up to
//   date), store() (flags, with CONDSTORE's UNCHANGEDSINCE), expunge()
//   (all \Deleted, or UID EXPUNGE's set), copy_to() (COPY, MOVE, with the
//   UIDs for COPYUID), open_message()/read_message() and a per-message cache
//   of opaque strings (ENVELOPE and BODYSTRUCTURE text that imapd computes
//   with lib/imap).
//
// Description
//   The Maildir is the source of truth; `mailroom.index` in the folder's
//   directory (folder_index.h) is a cache of it shared by every session, so
//   opening a large folder does not stat every file. UIDs come from the
//   folder's `dovecot-uidlist` (uidlist.h), the same list pop3d uses.
//   Standard flags live in the file names (":2," info letters S R F T D);
//   keywords are the letters a..z, mapped through `dovecot-keywords` as
//   Dovecot does, so at most 26 keywords per folder.
//
//   The view changes only in sync(), expunge() and copy_to(move=true), so
//   imapd controls when the client learns of changes (RFC 3501 section 7.4.1:
//   no EXPUNGE during FETCH, STORE or SEARCH). Between those calls sequence
//   numbers are stable; a message that another session expunged meanwhile
//   stays in the view, and reading it fails with ErrorCode::kExpunged.
//   Every change made by another session or a delivery is reported by
//   sync() exactly once per MailFolder; changes this handle made itself are
//   never reported back to it (store() returns them instead).
//
//   \Recent: a message is recent to the first read-write session that
//   syncs after it arrived (the index keeps a "first recent UID" watermark,
//   moved up under the folder lock). Read-only (EXAMINE) sessions see the
//   messages above the watermark as recent but do not move it.
//
//   Concurrency: every operation that changes the shared state takes the
//   folder lock (flock on `mailroom.index.lock`, released by the kernel if
//   the process dies) and, for UID assignment, the uidlist's lock file.
//   See docs/mail-store.md.
//
// Thread safety
//   A MailFolder is used by one thread. Processes coordinate through the
//   lock files.
#pragma once

#include <cstdint>
#include <ctime>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lib/util/result.h"
#include "lib/util/unique_fd.h"

namespace mailroom::access {

// System flags as bits (stored as Maildir info letters).
enum MessageFlag : std::uint8_t {
    kFlagSeen = 1,      // \Seen      'S'
    kFlagAnswered = 2,  // \Answered  'R'
    kFlagFlagged = 4,   // \Flagged   'F'
    kFlagDeleted = 8,   // \Deleted   'T'
    kFlagDraft = 16,    // \Draft     'D'
};
inline constexpr std::uint8_t kAllSystemFlags = 31;
inline constexpr std::size_t kMaxKeywords = 26;  // letters a..z

// Keys of the per-message cache. imapd may use any value 1..255; these are
// the ones it is expected to use.
enum class CacheField : std::uint8_t {
    kEnvelope = 1,       // ENVELOPE text
    kBodyStructure = 2,  // BODYSTRUCTURE text
    kBody = 3,           // BODY (non-extensible) text
    kSentDate = 4,       // the Date: header, for SORT/SEARCH SENT*
    kSortKeys = 5,       // anything else imapd wants to keep
};

struct Message {
    std::uint32_t uid = 0;
    std::string base;      // file name before ":2,"
    std::string filename;  // current name in cur/ (or new/) as last seen
    bool in_new = false;   // in new/ (read-only views leave them there)
    std::uint8_t flags = 0;          // MessageFlag bits
    std::uint32_t keywords = 0;      // bit i = letter 'a'+i = keyword i of the folder
    std::string other_flags;         // info letters this store does not interpret ("P"), kept on rename
    bool recent = false;             // \Recent to this session
    std::uint64_t size = 0;          // bytes on disk (",S=" or stat)
    std::uint64_t rfc822_size = 0;   // with CRLF line ends (",W=" or computed); 0 = not known yet
    std::int64_t internal_date = 0;  // file mtime, seconds since the epoch
    std::uint64_t modseq = 0;        // CONDSTORE MODSEQ of the last change
};

// A change for the client, in the order imapd should send it.
struct FolderChange {
    enum class Kind {
        kExpunge,      // "* <seq> EXPUNGE": seq as it is at that point in the list
        kExists,       // "* <seq> EXISTS": seq is the new message count
        kFlags,        // "* <seq> FETCH (UID <uid> FLAGS (...) [MODSEQ (...)])" of the new view
        kUidValidity,  // the folder was recreated: the session must drop the client
    };
    Kind kind = Kind::kExists;
    std::uint32_t seq = 0;
    std::uint32_t uid = 0;
};

enum class StoreMode { kSet, kAdd, kRemove };

struct StoreResult {
    std::vector<std::uint32_t> changed;  // UIDs whose flags changed (for FETCH responses)
    std::vector<std::uint32_t> failed;   // UNCHANGEDSINCE failed (the MODIFIED response code)
    std::vector<std::uint32_t> gone;     // expunged by another session: nothing stored
};

struct CopyResult {
    std::uint32_t dest_uid_validity = 0;
    std::vector<std::uint32_t> source_uids;  // in the order copied
    std::vector<std::uint32_t> dest_uids;    // same order
    std::vector<FolderChange> expunged;      // MOVE: the EXPUNGE events for the source view
};

struct StoreContext;  // shared by a MailStore and its folders (mail_store.cc)
class FolderState;    // the shared on-disk state of a folder (folder_sync.h)
class FolderLock;

class MailFolder {
public:
    ~MailFolder();
    MailFolder(const MailFolder&) = delete;
    MailFolder& operator=(const MailFolder&) = delete;

    const std::string& name() const { return name_; }  // as given to open_folder()
    bool read_only() const { return read_only_; }
    // The folder's Maildir directory (new/, cur/, dovecot-uidlist): what a
    // session watches for changes while it waits (IDLE).
    const std::string& dir() const;

    std::uint32_t uid_validity() const;
    std::uint32_t uid_next() const;
    std::uint64_t highest_modseq() const;

    // The view: index i is sequence number i+1.
    std::size_t count() const { return view_.size(); }
    const Message& message(std::size_t index) const { return view_[index]; }
    const std::vector<Message>& messages() const { return view_; }
    // The index of `uid` in the view.
    std::optional<std::size_t> find_uid(std::uint32_t uid) const;
    std::size_t recent_count() const;
    std::size_t unseen_count() const;
    std::optional<std::size_t> first_unseen() const;  // index of the first message without \Seen

    // The keywords defined in this folder (dovecot-keywords), letter order.
    std::vector<std::string> keywords() const;
    // The keyword names of `m`.
    std::vector<std::string> keywords_of(const Message& m) const;
    // False when `keyword` is not defined and no letter is free for it.
    bool can_add_keyword(std::string_view keyword) const;

    // Brings the view up to date with the disk: deliveries and other
    // sessions' appends (kExists), expunges (kExpunge) and flag changes
    // (kFlags). A read-write view moves messages from new/ to cur/.
    Result<std::vector<FolderChange>> sync();

    // STORE for `uids` (UIDs; imapd maps sequence sets). `flags` are
    // MessageFlag bits; `keywords` names (created in dovecot-keywords when
    // new; more than 26 in a folder is an error with ErrorCode::kLimit).
    // With `unchanged_since`, a message whose MODSEQ is higher is left alone
    // and listed in `failed`. Fails on a read-only view.
    Result<StoreResult> store(const std::vector<std::uint32_t>& uids, StoreMode mode, std::uint8_t flags,
                              const std::vector<std::string>& keywords,
                              std::optional<std::uint64_t> unchanged_since = std::nullopt);

    // EXPUNGE: removes the messages with \Deleted (only those in `uids`
    // when given: UID EXPUNGE) and returns the kExpunge events for them.
    // Fails on a read-only view.
    Result<std::vector<FolderChange>> expunge(const std::vector<std::uint32_t>* uids = nullptr);

    // COPY or MOVE of `uids` to the folder `dest` (a hard link when the
    // file system allows; a rename for MOVE). Flags and internal dates are
    // kept; \Recent is set for the destination's next session. Counts
    // toward the quota for COPY (ErrorCode::kOverQuota when it would be
    // exceeded; nothing is copied then).
    Result<CopyResult> copy_to(std::string_view dest, const std::vector<std::uint32_t>& uids, bool move);

    // The message file, open for reading, positioned at 0. kExpunged when
    // another session removed it.
    Result<util::UniqueFd> open_message(std::uint32_t uid);
    Result<std::string> read_message(std::uint32_t uid);

    // RFC822.SIZE: the size with CRLF line ends, computed once and kept in
    // the index when the name has no ",W=".
    Result<std::uint64_t> rfc822_size(std::uint32_t uid);

    // The per-message cache (mailroom.cache). Values survive sessions; a
    // value is dropped with its message.
    std::optional<std::string> cached(std::uint32_t uid, CacheField field);
    void set_cached(std::uint32_t uid, CacheField field, std::string_view value);

    // QRESYNC: UIDs expunged with a MODSEQ above `modseq`, ascending.
    // `*complete` is false when the index no longer remembers that far back
    // (the window is the last kVanishedKept expunges); the caller then
    // reports every UID of the client's set that is not in the view.
    std::vector<std::uint32_t> vanished_since(std::uint64_t modseq, bool* complete) const;

    // Writes pending index updates (computed sizes) now; also done by the
    // destructor. CLOSE's expunge is expunge() before destruction.
    Status flush();

private:
    friend class MailStore;
    MailFolder() = default;

    std::shared_ptr<const StoreContext> ctx_;
    std::string name_;
    bool read_only_ = false;
    std::unique_ptr<FolderState> state_;
    std::vector<Message> view_;
    std::uint32_t view_uid_validity_ = 0;
    std::vector<std::uint32_t> pending_recent_;  // claimed as \Recent, not in the view yet

    Result<FolderLock> lock_and_refresh();
    Message make_message(std::uint32_t uid) const;
    std::vector<FolderChange> remove_from_view(const std::vector<std::uint32_t>& uids);
};

// Flag letters <-> bits. Pure.
std::uint8_t flags_from_info(std::string_view info_flags, std::uint32_t* keywords, std::string* other);
std::string info_from_flags(std::uint8_t flags, std::uint32_t keywords, std::string_view other);

}  // namespace mailroom::access
