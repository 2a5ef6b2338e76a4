// mbox_lock.h - exclusive locks for mbox files: fcntl, flock and dotlock.
//
// Summary
//   The three methods of Postfix's mailbox_delivery_lock. parse_lock_methods()
//   reads a list such as "fcntl, dotlock". lock_fd() takes the kernel locks
//   (fcntl and/or flock) on an open mailbox; DotLock creates and removes
//   "<mailbox>.lock". Every method is tried `tries` times, `delay_ms` apart;
//   giving up is a temporary error (the delivery is deferred).
//
// Description
//   dotlock: the lock file is created with O_CREAT|O_EXCL (atomic on local
//   file systems and NFSv3+). A lock file whose mtime is older than
//   `stale_seconds` is taken to be left by a crashed process and removed
//   (Postfix's stale_lock_time, default 500s). The owner removes the file in
//   its destructor.
//   fcntl: a POSIX write lock on the whole file (F_SETLK, so waiting is our
//   retry loop and a stuck peer cannot hang us). flock: LOCK_EX|LOCK_NB.
//   Kernel locks go away when the descriptor is closed, also on a crash.
//   Order, as in Postfix: dotlock, then open the mailbox, then fcntl/flock.
#pragma once

#include <string>
#include <string_view>

#include "lib/util/result.h"

namespace mailroom::mailbox {

struct LockMethods {
    bool fcntl = false;
    bool flock = false;
    bool dotlock = false;
};

// Parses a Postfix list ("fcntl, dotlock", "flock"). An unknown word is a
// permanent error naming it.
Result<LockMethods> parse_lock_methods(std::string_view value);

struct LockOptions {
    LockMethods methods{true, false, true};  // Postfix's default on Linux
    int tries = 20;                          // deliver_lock_attempts
    unsigned delay_ms = 1000;                // deliver_lock_delay
    long stale_seconds = 500;                // stale_lock_time
};

// Takes the fcntl and/or flock locks `options` asks for on `fd`.
Status lock_fd(int fd, const std::string& path, const LockOptions& options);
// Releases them (closing the descriptor also does).
void unlock_fd(int fd, const LockOptions& options);

class DotLock {
public:
    DotLock() = default;
    // Creates "<target>.lock"; see the file comment for retries and staleness.
    static Result<DotLock> acquire(const std::string& target, const LockOptions& options);

    DotLock(DotLock&& other) noexcept;
    DotLock& operator=(DotLock&& other) noexcept;
    DotLock(const DotLock&) = delete;
    DotLock& operator=(const DotLock&) = delete;
    ~DotLock() { release(); }

    void release();
    bool held() const { return !path_.empty(); }
    const std::string& path() const { return path_; }

private:
    std::string path_;
};

}  // namespace mailroom::mailbox
