// folder_index.h - the per-folder index and cache files of the IMAP store.
//
// Summary
//   `mailroom.index` caches what a folder's Maildir says (UID -> file name,
//   sizes, internal date, MODSEQ) plus what the Maildir cannot say
//   (HIGHESTMODSEQ, the \Recent watermark, recently expunged UIDs for
//   QRESYNC), so opening a folder of 100,000 messages reads one file instead
//   of stat()ing every message. It is text:
//       MRIDX 1 V<uidvalidity> N<uidnext> M<highestmodseq> R<first recent uid>
//             F<vanished floor modseq> D<new/ mtime s.ns> C<cur/ mtime s.ns> K<scan clean 0|1>
//             O<own change window start, 0 = none>
//       <uid> <modseq> <size> <rfc822 size or 0> <internal date> <n|c> <file name>
//       X <uid> <modseq>                  (an expunged UID, oldest first)
//       E <64-bit FNV-1a of all bytes before this line, hex>
//   (the header is one line). The E line proves this base is whole, so a
//   base cut at any byte, or damaged, is refused and rebuilt from the
//   Maildir. It is replaced by writing a temp file and renaming it, so a
//   kill -9 at any moment leaves the old or the new file. After the E line
//   a change log of checked "L" lines (apply_index_log) lets a change be
//   appended in place; a reader stops at the first entry that is cut short
//   or damaged.
//
//   `mailroom.cache` holds imapd's per-message strings (ENVELOPE,
//   BODYSTRUCTURE): a header line "MRCACHE 1 V<uidvalidity>\n", then records
//   appended with one O_APPEND write each: 'C', UID (4 bytes, little
//   endian), field (1 byte), length (4 bytes LE), the value, and a 4-byte
//   FNV-1a check of the preceding record bytes. A reader stops at the first
//   record that does not check; the next writer cuts the file there. A file
//   mostly of dead values is rewritten (folder_sync.cc).
//
// Description
//   Pure functions; the file handling is in folder_sync.cc.
//
// Thread safety
//   Reentrant.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "lib/util/result.h"

namespace mailroom::access {

inline constexpr const char* kIndexFile = "mailroom.index";
inline constexpr const char* kIndexLockFile = "mailroom.index.lock";
inline constexpr const char* kCacheFile = "mailroom.cache";
inline constexpr const char* kKeywordsFile = "dovecot-keywords";
// How many expunged UIDs the index remembers for QRESYNC.
inline constexpr std::size_t kVanishedKept = 10000;
// Seconds an own change's cur/ mtime is trusted before a scan confirms it.
inline constexpr std::int64_t kOwnChangeTrust = 2;

struct DirStamp {
    std::int64_t sec = 0;
    std::int64_t nsec = 0;
    bool operator==(const DirStamp&) const = default;
};

struct IndexRecord {
    std::uint32_t uid = 0;
    std::uint64_t modseq = 0;
    std::uint64_t size = 0;
    std::uint64_t rfc822_size = 0;  // 0 = not known
    std::int64_t internal_date = 0;
    bool in_new = false;
    std::string filename;  // current name in new/ or cur/
};

struct FolderIndex {
    std::uint32_t uid_validity = 0;
    std::uint32_t uid_next = 1;
    std::uint64_t highest_modseq = 0;
    std::uint32_t first_recent_uid = 1;
    std::uint64_t vanished_floor = 0;  // expunges with MODSEQ <= this are forgotten
    DirStamp new_stamp;
    DirStamp cur_stamp;
    bool scan_clean = false;  // the stamps may be trusted to skip a scan
    // When not 0: new_stamp is trusted, cur_stamp is recent (a change this
    // store made itself, or a scan right after one) and is trusted until
    // own_since + kOwnChangeTrust, when a scan confirms it.
    std::int64_t own_since = 0;
    std::vector<IndexRecord> records;  // ascending UIDs
    std::vector<std::pair<std::uint32_t, std::uint64_t>> vanished;  // (uid, modseq), ascending modseq
};

// Whether unchanged stamps let a refresh skip the scan at `now`.
inline bool stamps_trusted(const FolderIndex& x, std::int64_t now) {
    return x.scan_clean || (x.own_since != 0 && now < x.own_since + kOwnChangeTrust);
}

std::uint64_t fnv1a64(std::string_view data, std::uint64_t h = 0xcbf29ce484222325ULL);

std::string format_folder_index(const FolderIndex& index);
// Refuses a base not written whole by format_folder_index(); the log
// entries after it are applied up to the first one that is torn or does
// not check. `valid_end` gets the length of what was used (base and log).
Result<FolderIndex> parse_folder_index(std::string_view text, std::size_t* valid_end = nullptr);

// The change log after the base: "L <FNV-1a 64 of the payload, 16 hex>
// <payload>" lines, payloads "H <header fields>", "S <record>" (a record
// added or replaced) and "X <uid> <modseq>" (expunged). Applies `log` to
// `index` up to the first bad line; returns the bytes used.
std::size_t apply_index_log(std::string_view log, FolderIndex* index);
std::string format_index_log_header(const FolderIndex& index);
std::string format_index_log_record(const IndexRecord& record);
std::string format_index_log_expunge(std::uint32_t uid, std::uint64_t modseq);

// Appends an expunged UID, dropping the oldest beyond kVanishedKept.
void remember_vanished(FolderIndex* index, std::uint32_t uid, std::uint64_t modseq);

// ---- mailroom.cache ----
using CacheMap = std::map<std::pair<std::uint32_t, std::uint8_t>, std::string>;

std::string format_cache_header(std::uint32_t uid_validity);
std::string format_cache_record(std::uint32_t uid, std::uint8_t field, std::string_view value);
// Reads records into `out`; returns the length of the valid prefix of
// `text` (header included), or 0 when the header is wrong or of another
// UIDVALIDITY.
std::size_t parse_cache(std::string_view text, std::uint32_t uid_validity, CacheMap* out);
// Records only (no header); returns the length of the valid prefix.
std::size_t parse_cache_records(std::string_view text, CacheMap* out);

// ---- dovecot-keywords: "<index> <name>" lines; index i is letter 'a'+i ----
std::vector<std::string> parse_keywords(std::string_view text);
std::string format_keywords(const std::vector<std::string>& names);

}  // namespace mailroom::access
