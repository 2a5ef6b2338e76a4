// mbox_lock.cc - see mbox_lock.h.
#include "lib/mailbox/mbox_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <utility>

#include "lib/mailbox/sys_error.h"
#include "lib/util/strings.h"

namespace mailroom::mailbox {

namespace {

void sleep_ms(unsigned ms) {
    struct timespec ts;
    ts.tv_sec = ms / 1000;
    ts.tv_nsec = static_cast<long>(ms % 1000) * 1000000L;
    while (::nanosleep(&ts, &ts) < 0 && errno == EINTR) {
    }
}

bool lock_busy(int err) { return err == EAGAIN || err == EACCES || err == EWOULDBLOCK; }

Error busy_error(const std::string& path, const char* method) {
    return make_temp_error(util::format("unable to lock %s for exclusive access (%s): resource busy", path.c_str(),
                                        method));
}

// One attempt; returns 1 on success, 0 when busy, -1 with errno on failure.
int try_fcntl(int fd) {
    struct flock fl;
    std::memset(&fl, 0, sizeof(fl));
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    fl.l_start = 0;
    fl.l_len = 0;
    if (::fcntl(fd, F_SETLK, &fl) == 0) return 1;
    return lock_busy(errno) ? 0 : -1;
}

int try_flock(int fd) {
    if (::flock(fd, LOCK_EX | LOCK_NB) == 0) return 1;
    return lock_busy(errno) ? 0 : -1;
}

Status retry_lock(int (*attempt)(int), int fd, const std::string& path, const LockOptions& options,
                  const char* method) {
    int tries = options.tries > 0 ? options.tries : 1;
    for (int i = 0; i < tries; ++i) {
        int r;
        do {
            r = attempt(fd);
        } while (r < 0 && errno == EINTR);
        if (r > 0) return ok_status();
        if (r < 0) return sys_error(util::format("lock (%s)", method), path, errno);
        if (i + 1 < tries) sleep_ms(options.delay_ms);
    }
    return busy_error(path, method);
}

}  // namespace

Result<LockMethods> parse_lock_methods(std::string_view value) {
    LockMethods m;
    for (const std::string& word : util::split_list(value)) {
        std::string w = util::lowercase(word);
        if (w == "fcntl") {
            m.fcntl = true;
        } else if (w == "flock") {
            m.flock = true;
        } else if (w == "dotlock") {
            m.dotlock = true;
        } else {
            return make_error("unknown mailbox lock method \"" + word + "\" (expected fcntl, flock or dotlock)");
        }
    }
    return m;
}

Status lock_fd(int fd, const std::string& path, const LockOptions& options) {
    if (options.methods.fcntl) {
        Status s = retry_lock(try_fcntl, fd, path, options, "fcntl");
        if (!s) return s;
    }
    if (options.methods.flock) {
        Status s = retry_lock(try_flock, fd, path, options, "flock");
        if (!s) {
            unlock_fd(fd, options);
            return s;
        }
    }
    return ok_status();
}

void unlock_fd(int fd, const LockOptions& options) {
    if (options.methods.flock) (void)::flock(fd, LOCK_UN);
    if (options.methods.fcntl) {
        struct flock fl;
        std::memset(&fl, 0, sizeof(fl));
        fl.l_type = F_UNLCK;
        fl.l_whence = SEEK_SET;
        (void)::fcntl(fd, F_SETLK, &fl);
    }
}

Result<DotLock> DotLock::acquire(const std::string& target, const LockOptions& options) {
    std::string lock_path = target + ".lock";
    int tries = options.tries > 0 ? options.tries : 1;
    bool retried_stale = false;
    for (int i = 0; i < tries; ++i) {
        int fd = ::open(lock_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd >= 0) {
            ::close(fd);
            DotLock lock;
            lock.path_ = lock_path;
            return lock;
        }
        int err = errno;
        if (err != EEXIST) return sys_error("create", lock_path, err);
        // Someone holds the lock. Remove it when it is stale, then retry at
        // once; another process doing the same may win the race, which is fine.
        struct stat st;
        if (::lstat(lock_path.c_str(), &st) == 0 && ::time(nullptr) - st.st_mtime > options.stale_seconds) {
            if ((::unlink(lock_path.c_str()) == 0 || errno == ENOENT) && !retried_stale) {
                retried_stale = true;  // the retry does not use up an attempt
                --i;
                continue;
            }
        }
        retried_stale = false;
        if (i + 1 < tries) sleep_ms(options.delay_ms);
    }
    return busy_error(target, "dotlock");
}

DotLock::DotLock(DotLock&& other) noexcept : path_(std::exchange(other.path_, std::string())) {}

DotLock& DotLock::operator=(DotLock&& other) noexcept {
    if (this != &other) {
        release();
        path_ = std::exchange(other.path_, std::string());
    }
    return *this;
}

void DotLock::release() {
    if (!path_.empty()) {
        ::unlink(path_.c_str());
        path_.clear();
    }
}

}  // namespace mailroom::mailbox
