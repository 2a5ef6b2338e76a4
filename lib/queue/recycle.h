// recycle.h - the pool of used queue files that new messages reuse.
//
// Summary
//   Creating and unlinking one file per message costs the file system an
//   inode allocation and a release per message; on ext4 without a journal
//   the allocator also scans past every recently deleted inode. So a queue
//   file whose message is finished (delivered or bounced) is renamed into
//   queue_directory/recycle/ instead of being unlinked, and the next
//   QueueWriter takes a file from there, overwrites it and truncates it to
//   the new content (queue_file.h).
//
//   qmgr retires files through RecycleCounter, which keeps an estimate of
//   the pool's size against queue_file_recycle_limit; files larger than
//   kMaxRecycledSize are unlinked. Writers take files with
//   take_recycled_file(), which reads names from recycle/ into a
//   per-process cache.
//
// Description
//   recycle/ is not a queue: list_queue(), postsuper and mailq never look
//   at it, and a file there is garbage whatever it holds. Every move in or
//   out is one rename(), so at any moment a file has one name. mailroom
//   start (postsuper -p) empties the directory, so that after a crash and
//   fsck no file can be in recycle/ and in a queue at once; a writer also
//   refuses a file with more than one link or not owned by its effective
//   user, unlinks it and creates a new file instead.
//
// Security
//   recycle/ is mode 0700, owned by mail_owner like incoming/. Delivered
//   mail stays readable there (to mail_owner and root) until the file is
//   reused or purged.
//
// Thread safety
//   take_recycled_file() and return_recycled_file() may be called from
//   several threads (the cache has a mutex). A RecycleCounter belongs to
//   one thread.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "lib/queue/queue_dirs.h"
#include "lib/util/result.h"
#include "lib/util/unique_fd.h"

namespace mailroom::queue {

inline constexpr std::string_view kRecycleDir = "recycle";
// Larger files are unlinked: their blocks would sit idle in the pool.
inline constexpr std::uint64_t kMaxRecycledSize = 128 * 1024;
inline constexpr long kDefaultRecycleLimit = 100;

enum class Retired { kRecycled, kRemoved };

// Removes QUEUE/ID: renames it to recycle/ID when `recycle` and it is a
// regular file of at most kMaxRecycledSize bytes, else unlinks it. A file
// already gone is a permanent error (ENOENT), as with unlink(). A caller
// that had the file open as a regular file passes its size, which spares
// the lstat() that otherwise finds it out.
Result<Retired> retire_queue_file(const QueueLayout& layout, std::string_view queue, std::string_view id,
                                  bool recycle, std::optional<std::uint64_t> known_size = std::nullopt);

// qmgr's side: retires finished files while the pool holds fewer than
// `limit` files (0 = never recycle). The estimate is counted with readdir
// on the first use, grows by one per recycled file, and is recounted when
// it reaches the limit: at most once a second after a count that found the
// pool with less than a quarter of the limit free (writers take files out
// meanwhile), else at once, which is at most once per limit/4 retirements.
class RecycleCounter {
public:
    using Clock = std::function<std::int64_t()>;  // milliseconds, monotonic
    RecycleCounter(QueueLayout layout, long limit, Clock clock = {});

    Result<Retired> retire(std::string_view queue, std::string_view id,
                           std::optional<std::uint64_t> known_size = std::nullopt);
    long estimate() const { return estimate_; }

private:
    bool may_recycle();

    QueueLayout layout_;
    long limit_;
    Clock clock_;
    long estimate_ = -1;  // -1 = not counted yet
    std::int64_t next_count_ms_ = 0;
};

// How many files recycle/ holds now.
Result<long> count_recycled_files(const QueueLayout& layout);

// The writer's side: moves a file from recycle/ to `temp_path` (a new name
// in the same file system) and opens it for reading and writing, mode
// `mode`. Returns an invalid descriptor when the pool is empty (or known to
// be empty: after a readdir that found nothing, recycle/ is not read again
// for a tenth of a second) or a file there is unfit (unlinked; the caller then creates
// a new file).
struct RecycledFile {
    util::UniqueFd fd;
    std::uint64_t size = 0;  // its length when taken
    ino_t inode = 0;
};
RecycledFile take_recycled_file(const QueueLayout& layout, const std::string& temp_path, mode_t mode);

// Puts a file taken with take_recycled_file() back (a writer aborted): its
// temporary name is renamed to recycle/NAME, or unlinked when that fails.
void return_recycled_file(const QueueLayout& layout, const std::string& temp_path, std::string_view name);

// mailroom start (postsuper -p): unlinks every file in recycle/. Returns
// how many were removed.
Result<int> empty_recycle_pool(const QueueLayout& layout);

// Forgets this process's cached names and the empty-pool pause (tests).
void reset_recycle_cache();

}  // namespace mailroom::queue
