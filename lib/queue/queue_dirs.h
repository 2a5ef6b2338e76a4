// queue_dirs.h - queue directories, queue-file paths, moving and locking.
//
// Summary
//   QueueLayout maps (queue name, queue ID) to a path under
//   queue_directory, flat by default or with hash_depth levels of one-hex-
//   digit subdirectories for the queues in hashed_queues (Postfix's
//   hash_queue_depth / hash_queue_names). The functions below create the
//   queue directories, list the queue files of a queue, move a file between
//   queues crash-safely, and lock a queue file against a second deliverer.
//
// Description
//   Moving is rename(), by default followed by fsync of the target directory
//   and then the source directory; either way, after a crash the file is in
//   one queue or the other, never lost (rename is atomic). Locks are open-file-description fcntl locks
//   (F_OFD_SETLK): they conflict between processes and between two opens in
//   one process, and vanish when the last descriptor closes, so a killed
//   deliverer never leaves a stale lock.
#pragma once

#include <sys/types.h>

#include <array>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "lib/util/result.h"

namespace mailroom::queue {

inline constexpr std::string_view kQueueMaildrop = "maildrop";
inline constexpr std::string_view kQueueIncoming = "incoming";
inline constexpr std::string_view kQueueActive = "active";
inline constexpr std::string_view kQueueDeferred = "deferred";
inline constexpr std::string_view kQueueHold = "hold";
inline constexpr std::string_view kQueueCorrupt = "corrupt";
inline constexpr std::string_view kQueueBounce = "bounce";
inline constexpr std::string_view kQueueDefer = "defer";
inline constexpr std::string_view kQueueTrace = "trace";
inline constexpr std::array<std::string_view, 9> kQueueNames = {
    kQueueMaildrop, kQueueIncoming, kQueueActive, kQueueDeferred, kQueueHold,
    kQueueCorrupt,  kQueueBounce,   kQueueDefer,  kQueueTrace};

inline constexpr int kMaxHashDepth = 4;

bool is_queue_name(std::string_view name);

struct QueueLayout {
    std::string queue_directory;
    int hash_depth = 0;  // 0 = flat
    std::vector<std::string> hashed_queues = {"deferred", "defer"};

    bool is_hashed(std::string_view queue) const;
    // QUEUE_DIR/QUEUE
    std::string queue_path(std::string_view queue) const;
    // The directory that holds ID in QUEUE (QUEUE_DIR/QUEUE[/X[/Y]]).
    std::string file_dir(std::string_view queue, std::string_view id) const;
    // The file itself. `id` must be a valid queue ID (callers check
    // untrusted names with is_valid_queue_id() first).
    std::string file_path(std::string_view queue, std::string_view id) const;
};

// Creates queue_directory and every queue directory (and private/, public/,
// pid/ and recycle/, the pool of used queue files in recycle.h) that does
// not exist yet. Existing directories are left alone.
Status create_queue_directories(const QueueLayout& layout, mode_t mode = 0700);

// Creates the hash subdirectories that hold `id` in `queue`, if needed.
Status ensure_file_dir(const QueueLayout& layout, std::string_view queue, std::string_view id);

// The queue IDs of the files in a queue (searching hash subdirectories),
// sorted. Names that are not queue IDs (temporary files) are skipped.
Result<std::vector<std::string>> list_queue(const QueueLayout& layout, std::string_view queue);

// Calls fn with the name of every entry of `dir` but "." and "..", until fn
// returns false.
Status for_each_dir_entry(const std::string& dir, const std::function<bool(std::string_view name)>& fn);

// Moves ID from one queue to another: rename, then (kSync) fsync both
// directories. qmgr's moves between incoming/, active/ and deferred/ use
// kNoSync: after a crash the file is in one of them, and qmgr scans all three.
enum class MoveSync { kSync, kNoSync };
Status move_queue_file(const QueueLayout& layout, std::string_view id, std::string_view from, std::string_view to,
                       MoveSync sync = MoveSync::kSync);

// Takes an exclusive lock on an open queue file. Without `wait`, a file
// locked elsewhere gives a temporary error at once.
Status lock_queue_file(int fd, bool wait = false);
Status unlock_queue_file(int fd);

}  // namespace mailroom::queue
