// instance_lock.cc - see instance_lock.h.
#include "lib/server/instance_lock.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "lib/util/strings.h"

namespace mailroom::server {

Result<std::string> pid_directory(const config::Config& cfg) {
    auto q = cfg.get("queue_directory");
    if (!q) return q.error();
    auto p = cfg.get("process_id_directory");
    if (!p) return p.error();
    std::string dir(util::trim(*p));
    if (dir.empty()) return make_error("parameter process_id_directory is empty");
    return dir.front() == '/' ? dir : *q + "/" + dir;
}

std::string instance_pid_file(const std::string& pid_directory) { return pid_directory + "/master.pid"; }

namespace {

pid_t lock_holder(int fd) {
    struct flock fl {};
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    if (::fcntl(fd, F_GETLK, &fl) < 0) return 0;
    return fl.l_type == F_UNLCK ? 0 : fl.l_pid;
}

}  // namespace

Result<InstanceLock> acquire_instance_lock(const std::string& pid_directory) {
    const std::string& dir = pid_directory;
    if (::mkdir(dir.c_str(), 0755) < 0 && errno != EEXIST)
        return make_error(util::format("mkdir %s: %s", dir.c_str(), std::strerror(errno)));
    InstanceLock lock;
    lock.path = instance_pid_file(pid_directory);
    lock.fd.reset(::open(lock.path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
    if (!lock.fd.valid())
        return make_error(util::format("open lock file %s: %s", lock.path.c_str(), std::strerror(errno)));
    struct flock fl {};
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    if (::fcntl(lock.fd.get(), F_SETLK, &fl) < 0) {
        if (errno == EACCES || errno == EAGAIN) {
            pid_t holder = lock_holder(lock.fd.get());
            return make_temp_error(util::format("lock file %s is held by pid %ld", lock.path.c_str(),
                                                static_cast<long>(holder)));
        }
        return make_error(util::format("lock %s: %s", lock.path.c_str(), std::strerror(errno)));
    }
    if (auto st = write_instance_pid(lock); !st) return st.error();
    return lock;
}

Status write_instance_pid(const InstanceLock& lock) {
    std::string text = util::format("%10ld\n", static_cast<long>(::getpid()));
    if (::ftruncate(lock.fd.get(), 0) < 0 ||
        ::pwrite(lock.fd.get(), text.data(), text.size(), 0) != static_cast<ssize_t>(text.size()))
        return make_error(util::format("write %s: %s", lock.path.c_str(), std::strerror(errno)));
    return ok_status();
}

pid_t probe_instance_lock(const std::string& pid_directory) {
    util::UniqueFd fd(::open(instance_pid_file(pid_directory).c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) return 0;
    // F_GETLK with a write-lock probe needs only read access.
    struct flock fl {};
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    if (::fcntl(fd.get(), F_GETLK, &fl) < 0) return 0;
    if (fl.l_type == F_UNLCK) return 0;
    if (fl.l_pid > 0) return fl.l_pid;
    // The holder lives in another pid namespace: trust the pid it wrote.
    char buf[32] = {};
    ssize_t n = ::pread(fd.get(), buf, sizeof(buf) - 1, 0);
    long pid = n > 0 ? std::strtol(buf, nullptr, 10) : 0;
    return pid > 0 ? static_cast<pid_t>(pid) : 0;
}

}  // namespace mailroom::server
