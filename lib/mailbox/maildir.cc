// maildir.cc - see maildir.h.
#include "lib/mailbox/maildir.h"

#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <climits>
#include <ctime>
#include <memory>

#include "lib/mailbox/mailbox_internal.h"
#include "lib/mailbox/sys_error.h"
#include "lib/util/fs.h"

namespace mailroom::mailbox {

namespace internal {

namespace {
std::function<int(std::string_view)>& write_fault_hook() {
    static std::function<int(std::string_view)> hook;
    return hook;
}
}  // namespace

Status write_all(int fd, std::string_view data, const std::string& path) {
    if (auto& hook = write_fault_hook()) {
        if (int err = hook(data)) return sys_error("write", path, err);
    }
    size_t off = 0;
    while (off < data.size()) {
        ssize_t n = ::write(fd, data.data() + off, data.size() - off);
        if (n < 0) {
            if (errno == EINTR) continue;
            return sys_error("write", path, errno);
        }
        if (n == 0) return sys_error("write", path, EIO);
        off += static_cast<size_t>(n);
    }
    return ok_status();
}

Status after_create(const std::string& path, const CreateOptions& options) {
    if (options.uid || options.gid) {
        uid_t uid = options.uid ? *options.uid : static_cast<uid_t>(-1);
        gid_t gid = options.gid ? *options.gid : static_cast<gid_t>(-1);
        if (::lchown(path.c_str(), uid, gid) < 0) return sys_error("chown", path, errno);
    }
    if (options.on_create) return options.on_create(path);
    return ok_status();
}

Status make_directory(const std::string& path, const CreateOptions& options, bool parents) {
    if (::mkdir(path.c_str(), options.dir_mode) == 0) return after_create(path, options);
    int err = errno;
    if (err == EEXIST) {
        struct stat st;
        if (::stat(path.c_str(), &st) < 0) return sys_error("stat", path, errno);
        if (!S_ISDIR(st.st_mode)) return sys_error("mkdir", path, ENOTDIR);
        return ok_status();
    }
    if (err == ENOENT && parents) {
        std::string parent = util::dirname_of(path);
        if (parent == path || parent == "." || parent == "/") return sys_error("mkdir", path, err);
        Status s = make_directory(parent, options, true);
        if (!s) return s;
        return make_directory(path, options, false);
    }
    return sys_error("mkdir", path, err);
}

void now_timeval(int64_t* seconds, long* usec) {
    struct timeval tv;
    ::gettimeofday(&tv, nullptr);
    *seconds = static_cast<int64_t>(tv.tv_sec);
    *usec = static_cast<long>(tv.tv_usec);
}

}  // namespace internal

void set_write_fault_for_testing(std::function<int(std::string_view data)> hook) {
    internal::write_fault_hook() = std::move(hook);
}

namespace {

constexpr size_t kWriteBuffer = 64 * 1024;
constexpr int kNameAttempts = 8;

std::atomic<uint64_t> g_delivery_counter{0};

std::string local_host_name() {
    char buf[HOST_NAME_MAX + 1];
    if (::gethostname(buf, sizeof(buf)) < 0) return "localhost";
    buf[sizeof(buf) - 1] = '\0';
    return buf;
}

std::string make_unique_base(const std::string& host) {
    UniqueNameParts parts;
    internal::now_timeval(&parts.seconds, &parts.usec);
    parts.pid = internal::cached_pid();
    parts.counter = next_delivery_counter();
    parts.host = host;
    return make_maildir_base(parts);
}

// Hard links may be unsupported (some network and FUSE file systems); a
// rename() onto a name nobody else can generate is then equally safe.
bool link_unsupported(int err) { return err == EPERM || err == ENOSYS || err == EOPNOTSUPP || err == EXDEV; }

// Set once the kernel has said it has no renameat2(): not asked again.
std::atomic<bool> g_no_renameat2{false};

}  // namespace

namespace internal {

long cached_pid() {
    // Refreshed in a forked child (the handler is registered once).
    static std::atomic<long> pid{0};
    static const bool registered = [] {
        ::pthread_atfork(nullptr, nullptr, [] { pid.store(0, std::memory_order_relaxed); });
        return true;
    }();
    (void)registered;
    long p = pid.load(std::memory_order_relaxed);
    if (p == 0) {
        p = static_cast<long>(::getpid());
        pid.store(p, std::memory_order_relaxed);
    }
    return p;
}

int move_no_replace(const std::string& from, const std::string& to, MoveMethod* method) {
    MoveMethod ignored;
    if (!method) method = &ignored;
    if (!g_no_renameat2.load(std::memory_order_relaxed)) {
        *method = MoveMethod::kRenameNoReplace;
        if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) == 0) return 0;
        int err = errno;
        if (err == ENOSYS) g_no_renameat2.store(true, std::memory_order_relaxed);
        // EINVAL: this file system does not support the flag.
        if (err != EINVAL && err != ENOSYS) return err;
    }
    *method = MoveMethod::kLink;
    if (::link(from.c_str(), to.c_str()) == 0) {
        ::unlink(from.c_str());
        return 0;
    }
    int err = errno;
    if (!link_unsupported(err)) return err;
    *method = MoveMethod::kRename;
    return ::rename(from.c_str(), to.c_str()) < 0 ? errno : 0;
}

}  // namespace internal

uint64_t next_delivery_counter() { return ++g_delivery_counter; }

std::string maildir_path(const std::string& maildir, std::string_view subdir, std::string_view filename) {
    std::string out = maildir;
    out.push_back('/');
    out.append(subdir);
    if (!filename.empty()) {
        out.push_back('/');
        out.append(filename);
    }
    return out;
}

Status ensure_maildir(const std::string& maildir, const CreateOptions& options) {
    Status s = internal::make_directory(maildir, options, true);
    if (!s) return s;
    for (const char* sub : {"cur", "new", "tmp"}) {
        s = internal::make_directory(maildir_path(maildir, sub, ""), options, false);
        if (!s) return s;
    }
    return ok_status();
}

// ---- MaildirWriter ----

Result<MaildirWriter> MaildirWriter::open(const std::string& maildir, const DeliveryOptions& options) {
    if (options.create_dirs) {
        Status s = ensure_maildir(maildir, options.create);
        if (!s) return s.error();
    }
    std::string host = options.host.empty() ? local_host_name() : options.host;
    MaildirWriter w;
    w.maildir_ = maildir;
    w.host_ = host;
    w.include_vsize_ = options.include_vsize;
    w.queue_device_ = options.queue_device;
    for (int attempt = 0;; ++attempt) {
        w.base_ = make_unique_base(host);
        w.tmp_path_ = maildir_path(maildir, "tmp", w.base_);
        int fd = ::open(w.tmp_path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
                        options.create.file_mode);
        if (fd >= 0) {
            w.fd_.reset(fd);
            break;
        }
        int err = errno;
        if (err != EEXIST || attempt + 1 >= kNameAttempts) return sys_error("create", w.tmp_path_, err);
    }
    w.open_ = true;
    Status s = internal::after_create(w.tmp_path_, options.create);
    if (!s) {
        w.abort();
        return s.error();
    }
    w.buf_.resize(kWriteBuffer);
    return w;
}

MaildirWriter::MaildirWriter(MaildirWriter&& other) noexcept { *this = std::move(other); }

MaildirWriter& MaildirWriter::operator=(MaildirWriter&& other) noexcept {
    if (this != &other) {
        abort();
        maildir_ = std::move(other.maildir_);
        base_ = std::move(other.base_);
        host_ = std::move(other.host_);
        tmp_path_ = std::move(other.tmp_path_);
        fd_ = std::move(other.fd_);
        buf_ = std::move(other.buf_);
        buf_used_ = std::exchange(other.buf_used_, 0);
        size_ = std::exchange(other.size_, 0);
        vsize_ = std::exchange(other.vsize_, 0);
        last_ = std::exchange(other.last_, 0);
        include_vsize_ = other.include_vsize_;
        queue_device_ = other.queue_device_;
        open_ = std::exchange(other.open_, false);
    }
    return *this;
}

MaildirWriter::~MaildirWriter() { abort(); }

void MaildirWriter::abort() {
    fd_.reset();
    if (open_) {
        ::unlink(tmp_path_.c_str());
        open_ = false;
    }
    buf_used_ = 0;
}

Status MaildirWriter::flush() {
    if (buf_used_ == 0) return ok_status();
    Status s = internal::write_all(fd_.get(), std::string_view(buf_.data(), buf_used_), tmp_path_);
    buf_used_ = 0;
    return s;
}

Status MaildirWriter::append(std::string_view data) {
    if (!open_) return make_error("append to " + tmp_path_ + ": delivery already finished");
    for (char c : data) {
        if (c == '\n' && last_ != '\r') ++vsize_;
        last_ = c;
    }
    size_ += data.size();
    vsize_ += data.size();
    while (!data.empty()) {
        if (buf_used_ == buf_.size()) {
            Status s = flush();
            if (!s) {
                abort();
                return s;
            }
        }
        size_t n = std::min(data.size(), buf_.size() - buf_used_);
        std::copy(data.begin(), data.begin() + static_cast<ptrdiff_t>(n), buf_.begin() + static_cast<ptrdiff_t>(buf_used_));
        buf_used_ += n;
        data.remove_prefix(n);
    }
    return ok_status();
}

Result<std::string> MaildirWriter::commit() {
    if (!open_) return make_error("commit " + tmp_path_ + ": delivery already finished");
    Status s = flush();
    if (!s) {
        abort();
        return s.error();
    }
    if (::fsync(fd_.get()) < 0) {
        Error e = sys_error("fsync", tmp_path_, errno);
        abort();
        return e;
    }
    struct stat st {};
    const bool same_journal = queue_device_ && ::fstat(fd_.get(), &st) == 0 && st.st_dev == *queue_device_;
    // close() can report a deferred write error (NFS); check it.
    if (::close(fd_.release()) < 0) {
        Error e = sys_error("close", tmp_path_, errno);
        abort();
        return e;
    }
    std::optional<uint64_t> vsize;
    if (include_vsize_) vsize = vsize_;
    std::string final_name = add_maildir_sizes(base_, size_, vsize);
    std::string new_path = maildir_path(maildir_, "new", final_name);
    for (int attempt = 0;; ++attempt) {
        // One renameat2() that never replaces a name (link() and unlink()
        // where the file system lacks it).
        int err = internal::move_no_replace(tmp_path_, new_path);
        if (err == 0) break;
        if (err != EEXIST || attempt + 1 >= kNameAttempts) {
            Error e = sys_error("link", new_path, err);
            abort();
            return e;
        }
        // Someone holds this name already (clock stepped back, pid reused):
        // take a fresh unique name; the tmp file keeps its own.
        final_name = add_maildir_sizes(make_unique_base(host_), size_, vsize);
        new_path = maildir_path(maildir_, "new", final_name);
    }
    open_ = false;
    // On the queue's file system, no fsync of new/ (as Postfix): the file is
    // on disk, and the journal commits metadata changes in order, so the
    // new/ entry is durable no later than the queue file's removal that
    // follows this delivery; a crash before that delivers again, never zero
    // times. Another file system has its own journal, committed
    // independently: there new/ is fsynced before the delivery counts
    // (docs/performance.md, "Durability and fsync").
    if (!same_journal) {
        if (Status synced = util::fsync_directory(maildir_path(maildir_, "new", "")); !synced) return synced.error();
    }
    return new_path;
}

// ---- reading helpers ----

namespace {

Status list_dir(const std::string& dir, std::vector<std::string>* names) {
    std::unique_ptr<DIR, int (*)(DIR*)> d(::opendir(dir.c_str()), &::closedir);
    if (!d) return sys_error("opendir", dir, errno);
    for (;;) {
        errno = 0;
        struct dirent* e = ::readdir(d.get());
        if (e == nullptr) {
            if (errno != 0) return sys_error("readdir", dir, errno);
            break;
        }
        if (e->d_name[0] == '.') continue;
        names->emplace_back(e->d_name);
    }
    std::sort(names->begin(), names->end());
    return ok_status();
}

}  // namespace

Result<std::vector<MaildirEntry>> scan_maildir(const std::string& maildir) {
    std::vector<MaildirEntry> out;
    for (const char* sub : {"new", "cur"}) {
        std::vector<std::string> names;
        Status s = list_dir(maildir_path(maildir, sub, ""), &names);
        if (!s) return s.error();
        for (std::string& n : names) {
            MaildirEntry e;
            e.subdir = sub;
            e.name = parse_maildir_name(n);
            e.filename = std::move(n);
            out.push_back(std::move(e));
        }
    }
    return out;
}

Result<std::string> move_to_cur(const std::string& maildir, const std::string& filename, std::string_view flags) {
    MaildirName name = parse_maildir_name(filename);
    std::string target = format_maildir_name(name.base, flags);
    std::string from = maildir_path(maildir, "new", filename);
    std::string to = maildir_path(maildir, "cur", target);
    if (::rename(from.c_str(), to.c_str()) < 0) return sys_error("rename", from, errno);
    return target;
}

Result<std::string> set_maildir_flags(const std::string& maildir, const std::string& filename,
                                      std::string_view flags) {
    MaildirName name = parse_maildir_name(filename);
    std::string target = format_maildir_name(name.base, flags);
    if (target == filename) return target;
    std::string from = maildir_path(maildir, "cur", filename);
    std::string to = maildir_path(maildir, "cur", target);
    if (::rename(from.c_str(), to.c_str()) < 0) return sys_error("rename", from, errno);
    return target;
}

Result<uint64_t> maildir_message_size(const std::string& maildir, const MaildirEntry& entry) {
    if (auto size = maildir_name_size(entry.filename)) return *size;
    std::string path = maildir_path(maildir, entry.subdir, entry.filename);
    struct stat st;
    if (::stat(path.c_str(), &st) < 0) return sys_error("stat", path, errno);
    return static_cast<uint64_t>(st.st_size);
}

Result<size_t> clean_maildir_tmp(const std::string& maildir, long max_age_seconds) {
    std::string dir = maildir_path(maildir, "tmp", "");
    std::vector<std::string> names;
    Status s = list_dir(dir, &names);
    if (!s) return s.error();
    time_t now = ::time(nullptr);
    size_t removed = 0;
    for (const std::string& n : names) {
        std::string path = dir + "/" + n;
        struct stat st;
        if (::lstat(path.c_str(), &st) < 0 || !S_ISREG(st.st_mode)) continue;
        if (now - st.st_mtime < max_age_seconds) continue;
        if (::unlink(path.c_str()) == 0) ++removed;
    }
    return removed;
}

}  // namespace mailroom::mailbox
