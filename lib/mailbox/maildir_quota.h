// maildir_quota.h - Maildir++ quotas: the maildirsize file.
//
// Summary
//   <maildir>/maildirsize caches a Maildir's usage. Its first line is the
//   quota ("104857600S,1000C": bytes and/or messages), every further line a
//   delta "<bytes> <messages>" (negative for removals). Usage is the sum of
//   the deltas. Deliveries append one line with one O_APPEND write; when the
//   file is missing, unreadable, larger than 5120 bytes, carries other limits
//   than the configured ones, or shows the Maildir over quota while being
//   older than 15 minutes, it is rebuilt by scanning the Maildir and all its
//   folders and replaced atomically (docs/mailbox-formats.md).
//
// Description
//   Quota strings as Extmail/courier-authlib store them are accepted:
//   "104857600S", a plain byte count "20971520", "100S,10C", "10C". A limit
//   of 0 means no limit. The "15 minutes" rule follows Courier's
//   README.maildirquota and Dovecot: an old file is recounted only when it
//   says the Maildir is over quota (messages may have been removed by a
//   client that does not update maildirsize), not on every delivery.
//   By default every folder is counted, Trash included; `exclude_trash`
//   matches Courier's behaviour of leaving ".Trash" out.
//   Message sizes come from ",S=" in file names, else from stat().
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "lib/mailbox/maildir.h"
#include "lib/util/result.h"

namespace mailroom::mailbox {

inline constexpr const char* kMaildirSizeFile = "maildirsize";
inline constexpr uint64_t kMaildirSizeMaxBytes = 5120;
inline constexpr long kMaildirSizeStaleSeconds = 15 * 60;

struct QuotaLimits {
    uint64_t bytes = 0;  // 0 = no limit
    uint64_t count = 0;  // 0 = no limit
    bool unlimited() const { return bytes == 0 && count == 0; }
    bool operator==(const QuotaLimits&) const = default;
};

struct QuotaUsage {
    int64_t bytes = 0;
    int64_t count = 0;
    bool operator==(const QuotaUsage&) const = default;
};

// "104857600S", "20971520", "100S,10C", "10C", "" (no limits). Permanent
// error on anything else.
Result<QuotaLimits> parse_quota_spec(std::string_view spec);
// The maildirsize header form: "100S,10C", "100S", "10C", or "" when unlimited.
std::string format_quota_spec(const QuotaLimits& limits);

struct MaildirSizeContent {
    QuotaLimits limits;
    QuotaUsage usage;
    size_t delta_lines = 0;
};

// Parses a whole maildirsize file. A malformed line or a last line without
// its newline (a torn write) is an error; callers then recalculate.
Result<MaildirSizeContent> parse_maildirsize(std::string_view content);
// A fresh file: header line plus one usage line.
std::string format_maildirsize(const QuotaLimits& limits, const QuotaUsage& usage);
// One delta line, "<bytes> <count>\n".
std::string format_quota_delta(int64_t bytes, int64_t count);

// The recalculation rule (see the file comment).
bool maildirsize_needs_recalc(bool exists, uint64_t file_size, long age_seconds, bool over_quota);

// Would storing `message_bytes` more bytes and `message_count` more messages
// exceed a limit?
bool quota_would_exceed(const QuotaLimits& limits, const QuotaUsage& usage, uint64_t message_bytes,
                        uint64_t message_count = 1);
bool quota_exceeded(const QuotaLimits& limits, const QuotaUsage& usage);

struct QuotaOptions {
    bool exclude_trash = false;  // Courier leaves ".Trash" out
    CreateOptions create;        // mode/owner of a rebuilt maildirsize
    // calculate_maildir_usage(): count again (up to 3 rounds) while a
    // directory changed during the count; false = one round, for a caller
    // that recounts settled only when the first answer is close to a limit.
    bool settle = true;
};

// `maildir` in the calls below is always the main Maildir (the one holding
// maildirsize), also for deliveries into one of its folders.

// Appends one delta line with a single O_APPEND write. A missing maildirsize
// is not an error (the next read rebuilds it) and nothing is written.
Status append_quota_delta(const std::string& maildir, int64_t bytes, int64_t count);

// Counts the messages in new/ and cur/ of the Maildir and every folder.
Result<QuotaUsage> calculate_maildir_usage(const std::string& maildir, const QuotaOptions& options = {});

// Recounts and atomically replaces maildirsize (temp file in tmp/, fsync,
// rename; no directory fsync, the file is a cache). Returns the new usage.
Result<QuotaUsage> recalculate_maildirsize(const std::string& maildir, const QuotaLimits& limits,
                                           const QuotaOptions& options = {});

struct QuotaState {
    QuotaLimits limits;
    QuotaUsage usage;
    bool recalculated = false;
};

// Reads the usage, rebuilding maildirsize when the rule says so.
// `configured` (e.g. from the user database) wins over the file's header;
// without it the header's limits apply. With no limits at all nothing is
// created and the usage is what the file says (zero when there is none).
Result<QuotaState> read_maildir_quota(const std::string& maildir, std::optional<QuotaLimits> configured,
                                      const QuotaOptions& options = {});

}  // namespace mailroom::mailbox
