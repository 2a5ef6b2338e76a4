// maildir_name.h - the Maildir file name format, as pure functions.
//
// Summary
//   A delivered message is named
//     <seconds>.M<usec>P<pid>Q<n>.<host>,S=<size>[,W=<vsize>]
//   and, once a reader has seen it and moved it into cur/, gets the info
//   suffix ":2,<flags>" with the flags in ASCII order. This header builds and
//   takes apart those names; docs/mailbox-formats.md is the prose spec.
//
// Description
//   Nothing here touches the file system, so POP3/IMAP code and delivery code
//   agree on one definition and the tests drive it directly.
//   - The host part escapes '/' as "\057" and ':' as "\072" (the Maildir
//     spec), so a name never contains a path separator and the first ':'
//     always starts the info suffix.
//   - Q<n> is a per-process delivery counter: two deliveries by one process in
//     the same microsecond still get different names.
//   - ",S=" is the file's size in bytes (Maildir++/Dovecot), ",W=" the size
//     with every bare LF counted as CRLF (Dovecot's virtual size), so readers
//     can answer LIST/RFC822.SIZE without stat() or reading the file.
//   - Flags are single ASCII letters. The standard ones are D (draft),
//     F (flagged), P (passed), R (replied), S (seen), T (trashed); lower-case
//     letters are IMAP keywords in Dovecot's scheme and are kept as given.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mailroom::mailbox {

inline constexpr char kFlagDraft = 'D';
inline constexpr char kFlagFlagged = 'F';
inline constexpr char kFlagPassed = 'P';
inline constexpr char kFlagReplied = 'R';
inline constexpr char kFlagSeen = 'S';
inline constexpr char kFlagTrashed = 'T';

// The fields that make a delivery's name unique.
struct UniqueNameParts {
    int64_t seconds = 0;   // time(2) at delivery
    long usec = 0;         // microseconds within that second
    long pid = 0;          // delivering process
    uint64_t counter = 0;  // deliveries made by this process so far
    std::string host;      // unescaped host name
};

// Escapes '/' and ':' in a host name as the Maildir spec requires.
std::string escape_maildir_host(std::string_view host);

// "<seconds>.M<usec>P<pid>Q<counter>.<escaped host>" (no size fields).
std::string make_maildir_base(const UniqueNameParts& parts);

// Appends ",S=<size>" and, when given, ",W=<vsize>" to a base name.
std::string add_maildir_sizes(std::string_view base, uint64_t size, std::optional<uint64_t> vsize);

// A file name taken apart. `base` is everything before the first ':';
// `info` everything after it (empty when there is no ':'). `flags` holds the
// flags of a ":2," info, normalised; for other infos it is empty.
struct MaildirName {
    std::string base;
    bool has_info = false;
    std::string info;
    std::string flags;
};

MaildirName parse_maildir_name(std::string_view filename);

// Sorts the flag letters in ASCII order and drops duplicates and anything
// that is not an ASCII letter.
std::string normalize_maildir_flags(std::string_view flags);

// "<base>:2,<normalised flags>".
std::string format_maildir_name(std::string_view base, std::string_view flags);

// True when `flags` (normalised or not) contains `flag`.
bool maildir_has_flag(std::string_view flags, char flag);

// The value of ",S=" (or ",W=") in the base part of a name, when present and
// a valid decimal number.
std::optional<uint64_t> maildir_name_size(std::string_view filename);
std::optional<uint64_t> maildir_name_vsize(std::string_view filename);

}  // namespace mailroom::mailbox
