// recycle.cc - see recycle.h.
#include "lib/queue/recycle.h"

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <mutex>
#include <utility>
#include <vector>

#include "lib/queue/queue_id.h"
#include "lib/util/fs.h"
#include "lib/util/strings.h"

namespace mailroom::queue {

namespace {

// Names a refill keeps; other processes take from the same directory.
constexpr std::size_t kCacheNames = 64;
// After a refill finds nothing, recycle/ is not read again for this long.
constexpr std::int64_t kEmptyPauseMs = 100;
// qmgr recounts a full pool at most this often.
constexpr std::int64_t kRecountMs = 1000;

std::int64_t monotonic_ms() {
    struct timespec ts;
    ::clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return static_cast<std::int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

std::string recycle_dir(const QueueLayout& layout) { return layout.queue_path(kRecycleDir); }

// The per-process cache of names read from each recycle/ directory.
struct RecycleCache {
    struct Entry {
        std::vector<std::string> names;
        std::int64_t empty_until_ms = 0;
    };
    std::mutex mutex;
    std::map<std::string, Entry> dirs;
};

RecycleCache& cache() {
    static RecycleCache* c = new RecycleCache;  // never destroyed: writers may run during exit
    return *c;
}

// The next name to try, or "" when the pool is (known to be) empty.
std::string next_name(const std::string& dir) {
    RecycleCache& c = cache();
    std::lock_guard<std::mutex> lock(c.mutex);
    RecycleCache::Entry& e = c.dirs[dir];
    if (e.names.empty()) {
        std::int64_t now = monotonic_ms();
        if (now < e.empty_until_ms) return {};
        (void)for_each_dir_entry(dir, [&](std::string_view name) {
            if (is_valid_queue_id(name)) e.names.emplace_back(name);
            return e.names.size() < kCacheNames;
        });
        if (e.names.empty()) {
            e.empty_until_ms = now + kEmptyPauseMs;
            return {};
        }
    }
    std::string name = std::move(e.names.back());
    e.names.pop_back();
    return name;
}

void remember_name(const std::string& dir, std::string_view name) {
    RecycleCache& c = cache();
    std::lock_guard<std::mutex> lock(c.mutex);
    RecycleCache::Entry& e = c.dirs[dir];
    if (e.names.size() < kCacheNames) e.names.emplace_back(name);
}

}  // namespace

Result<Retired> retire_queue_file(const QueueLayout& layout, std::string_view queue, std::string_view id,
                                  bool recycle, std::optional<std::uint64_t> known_size) {
    if (!is_valid_queue_id(id)) {
        return make_error(util::format("not a queue ID: %.*s", static_cast<int>(id.size()), id.data()));
    }
    std::string path = layout.file_path(queue, id);
    if (recycle && !known_size) {
        struct stat st;
        if (::lstat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode)) known_size = static_cast<std::uint64_t>(st.st_size);
    }
    if (recycle && known_size && *known_size <= kMaxRecycledSize) {
        std::string to = recycle_dir(layout) + "/" + std::string(id);
        if (::rename(path.c_str(), to.c_str()) == 0) return Retired::kRecycled;
        // recycle/ missing (an instance not set up again since): unlink.
    }
    if (::unlink(path.c_str()) < 0) {
        int err = errno;
        Error e = make_temp_error(util::format("remove %s: %s", path.c_str(), std::strerror(err)));
        e.sys_errno = err;
        if (err == ENOENT) e.kind = ErrorKind::kPermanent;
        return e;
    }
    return Retired::kRemoved;
}

RecycleCounter::RecycleCounter(QueueLayout layout, long limit, Clock clock)
    : layout_(std::move(layout)), limit_(limit), clock_(clock ? std::move(clock) : Clock(monotonic_ms)) {}

bool RecycleCounter::may_recycle() {
    if (limit_ <= 0) return false;
    if (estimate_ >= 0 && estimate_ < limit_) return true;
    std::int64_t now = clock_();
    if (estimate_ >= 0 && now < next_count_ms_) return false;
    auto n = count_recycled_files(layout_);
    estimate_ = n ? *n : limit_;  // unreadable: recycle nothing until the next count
    // A pool found (nearly) full is not counted again for a second. One
    // with room for a quarter of the limit may be counted again as soon as
    // the estimate reaches the limit, which takes that many retirements:
    // at a high message rate writers drain the pool as fast as qmgr fills
    // it, and a second of unlinking would waste most of the pool.
    next_count_ms_ = limit_ - estimate_ >= std::max(1L, limit_ / 4) ? now : now + kRecountMs;
    return estimate_ < limit_;
}

Result<Retired> RecycleCounter::retire(std::string_view queue, std::string_view id,
                                       std::optional<std::uint64_t> known_size) {
    auto r = retire_queue_file(layout_, queue, id, may_recycle(), known_size);
    if (r && *r == Retired::kRecycled) ++estimate_;
    return r;
}

Result<long> count_recycled_files(const QueueLayout& layout) {
    long n = 0;
    if (Status st = for_each_dir_entry(recycle_dir(layout), [&](std::string_view) {
            ++n;
            return true;
        });
        !st)
        return st.error();
    return n;
}

RecycledFile take_recycled_file(const QueueLayout& layout, const std::string& temp_path, mode_t mode) {
    const std::string dir = recycle_dir(layout);
    for (;;) {
        std::string name = next_name(dir);
        if (name.empty()) return {};
        std::string from = dir + "/" + name;
        if (util::rename_noreplace(from, temp_path) < 0) {
            if (errno == ENOENT) continue;  // another process took it
            return {};
        }
        util::UniqueFd fd(::open(temp_path.c_str(), O_RDWR | O_NOFOLLOW | O_CLOEXEC));
        struct stat st;
        // One link only: a file that is also in a queue (after a crash and
        // fsck) must never be overwritten.
        if (!fd.valid() || ::fstat(fd.get(), &st) < 0 || !S_ISREG(st.st_mode) || st.st_nlink != 1 ||
            st.st_uid != ::geteuid()) {
            ::unlink(temp_path.c_str());
            return {};
        }
        if ((st.st_mode & 07777) != mode && ::fchmod(fd.get(), mode) < 0) {
            ::unlink(temp_path.c_str());
            return {};
        }
        return {std::move(fd), static_cast<std::uint64_t>(st.st_size), st.st_ino};
    }
}

void return_recycled_file(const QueueLayout& layout, const std::string& temp_path, std::string_view name) {
    const std::string dir = recycle_dir(layout);
    if (is_valid_queue_id(name) && util::rename_noreplace(temp_path, dir + "/" + std::string(name)) == 0) {
        remember_name(dir, name);
        return;
    }
    ::unlink(temp_path.c_str());
}

Result<int> empty_recycle_pool(const QueueLayout& layout) {
    const std::string dir = recycle_dir(layout);
    int removed = 0;
    if (Status st = for_each_dir_entry(dir, [&](std::string_view name) {
            if (::unlink((dir + "/" + std::string(name)).c_str()) == 0) ++removed;
            return true;
        });
        !st)
        return st.error();
    return removed;
}

void reset_recycle_cache() {
    RecycleCache& c = cache();
    std::lock_guard<std::mutex> lock(c.mutex);
    c.dirs.clear();
}

}  // namespace mailroom::queue
