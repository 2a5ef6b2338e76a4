// queue_dirs.cc - see queue_dirs.h.
#include "lib/queue/queue_dirs.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <memory>

#include "lib/queue/queue_id.h"
#include "lib/util/fs.h"
#include "lib/util/strings.h"

namespace mailroom::queue {

namespace {

Status make_dir(const std::string& path, mode_t mode) {
    if (::mkdir(path.c_str(), mode) == 0 || errno == EEXIST) {
        struct stat st;
        if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) return ok_status();
        return make_error(util::format("%s exists and is not a directory", path.c_str()));
    }
    return make_temp_error(util::format("mkdir %s: %s", path.c_str(), std::strerror(errno)));
}

struct DirCloser {
    void operator()(DIR* d) const { ::closedir(d); }
};

Status scan_dir(const std::string& dir, int depth_left, std::vector<std::string>* out) {
    Status inner = ok_status();
    Status st = for_each_dir_entry(dir, [&](std::string_view name) {
        if (depth_left > 0) {
            if (name.size() == 1 && std::isxdigit(static_cast<unsigned char>(name[0])) && !std::islower(name[0])) {
                inner = scan_dir(dir + "/" + std::string(name), depth_left - 1, out);
            }
            return inner.ok();
        }
        if (is_valid_queue_id(name)) out->emplace_back(name);
        return true;
    });
    if (!st) return st;
    return inner;
}

}  // namespace

Status for_each_dir_entry(const std::string& dir, const std::function<bool(std::string_view name)>& fn) {
    std::unique_ptr<DIR, DirCloser> d(::opendir(dir.c_str()));
    if (!d) return make_temp_error(util::format("open directory %s: %s", dir.c_str(), std::strerror(errno)));
    for (;;) {
        errno = 0;
        struct dirent* e = ::readdir(d.get());
        if (e == nullptr) {
            if (errno != 0) return make_temp_error(util::format("read directory %s: %s", dir.c_str(), std::strerror(errno)));
            return ok_status();
        }
        std::string_view name = e->d_name;
        if (name == "." || name == "..") continue;
        if (!fn(name)) return ok_status();
    }
}

bool is_queue_name(std::string_view name) {
    return std::find(kQueueNames.begin(), kQueueNames.end(), name) != kQueueNames.end();
}

bool QueueLayout::is_hashed(std::string_view queue) const {
    if (hash_depth <= 0) return false;
    return std::find(hashed_queues.begin(), hashed_queues.end(), queue) != hashed_queues.end();
}

std::string QueueLayout::queue_path(std::string_view queue) const {
    std::string out = queue_directory;
    if (out.empty() || out.back() != '/') out.push_back('/');
    out.append(queue);
    return out;
}

std::string QueueLayout::file_dir(std::string_view queue, std::string_view id) const {
    std::string out = queue_path(queue);
    if (is_hashed(queue)) {
        int depth = std::min(hash_depth, kMaxHashDepth);
        for (int i = 0; i < depth && static_cast<std::size_t>(i) < id.size(); ++i) {
            out.push_back('/');
            out.push_back(id[static_cast<std::size_t>(i)]);
        }
    }
    return out;
}

std::string QueueLayout::file_path(std::string_view queue, std::string_view id) const {
    std::string out = file_dir(queue, id);
    out.push_back('/');
    out.append(id);
    return out;
}

Status create_queue_directories(const QueueLayout& layout, mode_t mode) {
    if (Status st = make_dir(layout.queue_directory, 0755); !st) return st;
    for (std::string_view q : kQueueNames) {
        if (Status st = make_dir(layout.queue_path(q), mode); !st) return st;
    }
    for (std::string_view extra : {"private", "public", "pid", "recycle"}) {
        if (Status st = make_dir(layout.queue_path(extra), mode); !st) return st;
    }
    return util::fsync_directory(layout.queue_directory);
}

Status ensure_file_dir(const QueueLayout& layout, std::string_view queue, std::string_view id) {
    if (!layout.is_hashed(queue)) return ok_status();
    std::string dir = layout.queue_path(queue);
    int depth = std::min(layout.hash_depth, kMaxHashDepth);
    for (int i = 0; i < depth && static_cast<std::size_t>(i) < id.size(); ++i) {
        dir.push_back('/');
        dir.push_back(id[static_cast<std::size_t>(i)]);
        if (Status st = make_dir(dir, 0700); !st) return st;
    }
    return ok_status();
}

Result<std::vector<std::string>> list_queue(const QueueLayout& layout, std::string_view queue) {
    std::vector<std::string> ids;
    int depth = layout.is_hashed(queue) ? std::min(layout.hash_depth, kMaxHashDepth) : 0;
    if (Status st = scan_dir(layout.queue_path(queue), depth, &ids); !st) return st.error();
    std::sort(ids.begin(), ids.end());
    return ids;
}

Status move_queue_file(const QueueLayout& layout, std::string_view id, std::string_view from, std::string_view to,
                       MoveSync sync) {
    if (!is_valid_queue_id(id)) {
        return make_error(util::format("not a queue ID: %.*s", static_cast<int>(id.size()), id.data()));
    }
    if (Status st = ensure_file_dir(layout, to, id); !st) return st;
    std::string src = layout.file_path(from, id);
    std::string dst = layout.file_path(to, id);
    if (::rename(src.c_str(), dst.c_str()) < 0) {
        int err = errno;
        Error e = make_temp_error(util::format("rename %s to %s: %s", src.c_str(), dst.c_str(), std::strerror(err)));
        if (err == ENOENT) e.kind = ErrorKind::kPermanent;
        return e;
    }
    if (sync == MoveSync::kNoSync) return ok_status();
    // The new name must be durable before the old name's removal is.
    if (Status st = util::fsync_directory(layout.file_dir(to, id)); !st) return st;
    return util::fsync_directory(layout.file_dir(from, id));
}

Status lock_queue_file(int fd, bool wait) {
    struct flock fl;
    std::memset(&fl, 0, sizeof(fl));
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    for (;;) {
        if (::fcntl(fd, wait ? F_OFD_SETLKW : F_OFD_SETLK, &fl) == 0) return ok_status();
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EACCES) return make_temp_error("queue file is locked by another process");
        return make_temp_error(util::format("lock queue file: %s", std::strerror(errno)));
    }
}

Status unlock_queue_file(int fd) {
    struct flock fl;
    std::memset(&fl, 0, sizeof(fl));
    fl.l_type = F_UNLCK;
    fl.l_whence = SEEK_SET;
    if (::fcntl(fd, F_OFD_SETLK, &fl) < 0) {
        return make_temp_error(util::format("unlock queue file: %s", std::strerror(errno)));
    }
    return ok_status();
}

}  // namespace mailroom::queue
