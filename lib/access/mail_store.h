// mail_store.h - a user's IMAP mail store: Maildir++ folders on one Maildir.
//
// Summary
//   MailStore is what imapd works on after login: the user's Maildir (from
//   mail_location.h) with its Maildir++ folders laid out as Dovecot and
//   Courier lay them out (INBOX is the Maildir itself, "Sent" is
//   <maildir>/.Sent, "a/b" of the client is "a.b" here and <maildir>/.a.b on
//   disk, each folder with an empty `maildirfolder` file), the
//   `subscriptions` file (Dovecot's; Courier's `courierimapsubscribed` is
//   read too), LIST with CHILDREN and SPECIAL-USE attributes, CREATE,
//   DELETE, RENAME, STATUS, APPEND, and the Maildir++ quota from
//   `maildirsize`. open_folder() gives a MailFolder (mail_folder.h).
//
// Description
//   Folder names are IMAP names with "." as the hierarchy separator, in
//   modified UTF-7 as IMAP4rev1 has them on the wire (imapd converts the
//   UTF-8 names of IMAP4rev2 sessions to them), and the
//   directory names are those names (Dovecot's default), so a user moving
//   between Dovecot and mailroom keeps every folder. Names are checked by
//   lib/mailbox/maildir_folder.h ("a..b", "/", control characters refused);
//   "INBOX" in any case is the root.
//
//   SPECIAL-USE comes from the name: Drafts \Drafts, Sent \Sent,
//   Trash \Trash, Junk \Junk (also "Sent Messages", "Deleted Messages",
//   "Spam" as Apple Mail and others name them). ensure_special_folders()
//   creates and subscribes the four standard ones when missing.
//
//   Errors carry an ErrorCode imapd turns into a response code:
//   kNonExistent [NONEXISTENT], kAlreadyExists [ALREADYEXISTS],
//   kOverQuota [OVERQUOTA], kLimit [LIMIT], kCannot [CANNOT]; others are
//   [SERVERBUG] or, when temporary, [UNAVAILABLE].
//
// Thread safety
//   A MailStore is used by one thread; it and its folders share state.
#pragma once

#include <cstdint>
#include <ctime>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lib/access/mail_folder.h"
#include "lib/mailbox/maildir.h"
#include "lib/mailbox/maildir_quota.h"
#include "lib/util/result.h"

namespace mailroom::access {

inline constexpr const char* kSubscriptionsFile = "subscriptions";
inline constexpr const char* kCourierSubscriptionsFile = "courierimapsubscribed";

// LIST attributes.
enum MailboxAttr : std::uint32_t {
    kAttrNoselect = 1u << 0,       // \Noselect: a parent name without a folder of its own
    kAttrHasChildren = 1u << 1,    // \HasChildren
    kAttrHasNoChildren = 1u << 2,  // \HasNoChildren
    kAttrSubscribed = 1u << 3,     // \Subscribed (LIST-EXTENDED)
    kAttrNonExistent = 1u << 4,    // \NonExistent: subscribed but not there
    kAttrDrafts = 1u << 5,         // \Drafts
    kAttrSent = 1u << 6,           // \Sent
    kAttrTrash = 1u << 7,          // \Trash
    kAttrJunk = 1u << 8,           // \Junk
    kAttrArchive = 1u << 9,        // \Archive
};
inline constexpr std::uint32_t kSpecialUseAttrs = kAttrDrafts | kAttrSent | kAttrTrash | kAttrJunk | kAttrArchive;

struct MailboxInfo {
    std::string name;  // "INBOX", "Sent", "Work.Projects"
    std::uint32_t attrs = 0;
};

struct StoreOptions {
    std::string maildir;                          // the user's Maildir (INBOX)
    mailbox::CreateOptions create;                // modes/owner of what the store creates
    std::optional<mailbox::QuotaLimits> quota;    // from the user database; else maildirsize's header
    bool quota_exclude_trash = false;             // Courier's rule: .Trash not counted
    std::uint32_t now = 0;                        // UIDVALIDITY of new lists (0 = time(NULL))
    int lock_timeout_ms = 10000;                  // uidlist lock wait
};

struct MailboxStatus {
    std::uint32_t messages = 0;
    std::uint32_t recent = 0;
    std::uint32_t uid_next = 0;
    std::uint32_t uid_validity = 0;
    std::uint32_t unseen = 0;
    std::uint64_t highest_modseq = 0;
    std::uint64_t size = 0;  // STATUS=SIZE: sum of RFC822.SIZE
    std::uint32_t deleted = 0;  // IMAP4rev2 STATUS DELETED: messages with \Deleted
};

struct AppendResult {
    std::uint32_t uid_validity = 0;
    std::uint32_t uid = 0;  // APPENDUID
};

struct QuotaInfo {
    bool limited = false;               // any limit at all
    mailbox::QuotaLimits limits;        // 0 = no limit of that kind
    mailbox::QuotaUsage usage;
};

class MailStore {
public:
    // Opens the store on options.maildir, creating the Maildir when missing.
    static Result<std::unique_ptr<MailStore>> open(StoreOptions options);
    ~MailStore();
    MailStore(const MailStore&) = delete;
    MailStore& operator=(const MailStore&) = delete;

    const std::string& maildir() const;

    // Creates Drafts, Sent, Trash and Junk when there is no folder with
    // that special use yet, and subscribes them. For the first login.
    Status ensure_special_folders();

    // Every folder, INBOX first, then by name; parents that have no folder
    // of their own are listed with \Noselect. Subscribed names that do not
    // exist are listed with \NonExistent only when `with_subscribed_missing`.
    Result<std::vector<MailboxInfo>> list(bool with_subscribed_missing = false);
    bool exists(std::string_view name) const;
    // SPECIAL-USE attributes of a folder name (kAttrDrafts...).
    static std::uint32_t special_use_of(std::string_view name);

    // Subscriptions (names in file order). Subscribing a name that does not
    // exist is allowed (RFC 3501).
    Result<std::vector<std::string>> subscriptions() const;
    Status subscribe(std::string_view name);
    Status unsubscribe(std::string_view name);

    // CREATE. A trailing "." is dropped (RFC 3501: the name is the parent).
    // kAlreadyExists when there; INBOX always exists.
    Status create(std::string_view name);
    // DELETE: the folder's messages and directory go; its children stay
    // (the name then shows as \Noselect). INBOX cannot be deleted (kCannot);
    // a \Noselect parent with children neither (kCannot, RFC 3501 6.3.4).
    Status remove(std::string_view name);
    // RENAME with its children ("a" -> "b" also moves "a.x" to "b.x").
    // Renaming INBOX moves its messages into the new folder and leaves an
    // empty INBOX (children of INBOX are not moved).
    Status rename(std::string_view from, std::string_view to);

    // STATUS without opening a view (uses the folder's index).
    Result<MailboxStatus> status(std::string_view name);

    // SELECT (read_only false) or EXAMINE (true).
    Result<std::unique_ptr<MailFolder>> open_folder(std::string_view name, bool read_only);

    // APPEND: writes the message to tmp/, sets its mtime to
    // `internal_date` (0 = now), renames it into cur/ with `flags` and
    // `keywords`, assigns its UID. kOverQuota when the quota would be
    // exceeded; the maildirsize delta is added after the message is in.
    Result<AppendResult> append(std::string_view folder, std::string_view message, std::uint8_t flags,
                                const std::vector<std::string>& keywords, std::time_t internal_date);

    // QUOTA / GETQUOTAROOT: usage and limits of the Maildir++ quota
    // ("" is the one quota root, covering every folder).
    Result<QuotaInfo> quota();

private:
    MailStore() = default;
    std::shared_ptr<StoreContext> ctx_;
};

}  // namespace mailroom::access
