// fs.cc - see fs.h.
#include "lib/util/fs.h"

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "lib/util/strings.h"
#include "lib/util/unique_fd.h"

namespace mailroom::util {

Result<std::string> read_file(const std::string& path) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) {
        return make_error(format("open %s: %s", path.c_str(), std::strerror(errno)));
    }
    std::string data;
    char buf[65536];
    for (;;) {
        ssize_t n = ::read(fd.get(), buf, sizeof(buf));
        if (n < 0) {
            if (errno == EINTR) continue;
            return make_error(format("read %s: %s", path.c_str(), std::strerror(errno)));
        }
        if (n == 0) break;
        data.append(buf, static_cast<size_t>(n));
    }
    return data;
}

std::string dirname_of(const std::string& path) {
    size_t slash = path.rfind('/');
    if (slash == std::string::npos) return ".";
    if (slash == 0) return "/";
    return path.substr(0, slash);
}

bool path_exists(const std::string& path) {
    struct stat st;
    return ::stat(path.c_str(), &st) == 0;
}

Status fsync_directory(const std::string& dir) {
    UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    auto failed = [&dir](const char* op) {
        int err = errno;
        return make_sys_error(format("%s %s: %s", op, dir.c_str(), std::strerror(err)), err);
    };
    if (!fd.valid()) return failed("open");
    if (::fsync(fd.get()) < 0) return failed("fsync");
    return ok_status();
}

Status write_file_atomic(const std::string& path, std::string_view data, mode_t mode) {
    struct stat st;
    bool existed = ::stat(path.c_str(), &st) == 0;
    std::string tmp = format("%s.tmp.%ld", path.c_str(), static_cast<long>(::getpid()));
    UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, existed ? (st.st_mode & 07777) : mode));
    if (!fd.valid()) return make_error(format("create %s: %s", tmp.c_str(), std::strerror(errno)));
    if (existed) {
        // Keep the mode even if the umask narrowed it; keep ownership when allowed.
        (void)::fchmod(fd.get(), st.st_mode & 07777);
        if (::geteuid() == 0) (void)::fchown(fd.get(), st.st_uid, st.st_gid);
    }
    size_t off = 0;
    while (off < data.size()) {
        ssize_t n = ::write(fd.get(), data.data() + off, data.size() - off);
        if (n < 0) {
            if (errno == EINTR) continue;
            int err = errno;
            ::unlink(tmp.c_str());
            return make_error(format("write %s: %s", tmp.c_str(), std::strerror(err)));
        }
        off += static_cast<size_t>(n);
    }
    if (::fsync(fd.get()) < 0) {
        int err = errno;
        ::unlink(tmp.c_str());
        return make_error(format("fsync %s: %s", tmp.c_str(), std::strerror(err)));
    }
    fd.reset();
    if (::rename(tmp.c_str(), path.c_str()) < 0) {
        int err = errno;
        ::unlink(tmp.c_str());
        return make_error(format("rename %s to %s: %s", tmp.c_str(), path.c_str(), std::strerror(err)));
    }
    return fsync_directory(dirname_of(path));
}

int rename_noreplace(const std::string& from, const std::string& to) {
    if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) == 0) return 0;
    if (errno != EINVAL && errno != ENOSYS) return -1;
    // File systems without RENAME_NOREPLACE: link() also refuses to replace.
    if (::link(from.c_str(), to.c_str()) < 0) return -1;
    ::unlink(from.c_str());
    return 0;
}

}  // namespace mailroom::util
