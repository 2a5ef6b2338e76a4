// agent_identity.cc - see agent_identity.h.
#include "lib/agent/agent_identity.h"

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "lib/util/strings.h"
#include "lib/util/unique_fd.h"

namespace mailroom::agent {

namespace {

Identity from_passwd(const struct passwd& pw) {
    return Identity{pw.pw_uid, pw.pw_gid, pw.pw_name ? pw.pw_name : "", pw.pw_dir ? pw.pw_dir : "",
                    pw.pw_shell ? pw.pw_shell : ""};
}

bool all_digits(const std::string& s) {
    if (s.empty()) return false;
    for (char c : s)
        if (c < '0' || c > '9') return false;
    return true;
}

}  // namespace

Result<std::optional<Identity>> lookup_user(const std::string& name) {
    std::vector<char> buf(16384);
    struct passwd pw, *res = nullptr;
    int rc = ::getpwnam_r(name.c_str(), &pw, buf.data(), buf.size(), &res);
    if (rc != 0 && rc != ENOENT && rc != ESRCH)
        return make_temp_error(util::format("getpwnam %s: %s", name.c_str(), std::strerror(rc)));
    if (!res) return std::optional<Identity>();
    return std::optional<Identity>(from_passwd(pw));
}

Result<std::optional<Identity>> lookup_uid(uid_t uid) {
    std::vector<char> buf(16384);
    struct passwd pw, *res = nullptr;
    int rc = ::getpwuid_r(uid, &pw, buf.data(), buf.size(), &res);
    if (rc != 0 && rc != ENOENT && rc != ESRCH)
        return make_temp_error(util::format("getpwuid %u: %s", unsigned(uid), std::strerror(rc)));
    if (!res) return std::optional<Identity>();
    return std::optional<Identity>(from_passwd(pw));
}

Result<Identity> resolve_user(const std::string& name_or_uid) {
    if (all_digits(name_or_uid)) {
        uid_t uid = static_cast<uid_t>(std::strtoul(name_or_uid.c_str(), nullptr, 10));
        auto pw = lookup_uid(uid);
        if (!pw) return pw.error();
        if (*pw) return **pw;
        return Identity{uid, static_cast<gid_t>(uid), "", "", ""};
    }
    auto pw = lookup_user(name_or_uid);
    if (!pw) return pw.error();
    if (!*pw) return make_error("unknown user name: " + name_or_uid);
    return **pw;
}

Result<gid_t> resolve_group(const std::string& name_or_gid) {
    if (all_digits(name_or_gid)) return static_cast<gid_t>(std::strtoul(name_or_gid.c_str(), nullptr, 10));
    std::vector<char> buf(16384);
    struct group gr, *res = nullptr;
    int rc = ::getgrnam_r(name_or_gid.c_str(), &gr, buf.data(), buf.size(), &res);
    if (rc != 0 && rc != ENOENT && rc != ESRCH)
        return make_temp_error(util::format("getgrnam %s: %s", name_or_gid.c_str(), std::strerror(rc)));
    if (!res) return make_error("unknown group name: " + name_or_gid);
    return gr.gr_gid;
}

bool privileged() { return ::geteuid() == 0; }

Status become(const Identity& identity, bool allow_root) {
    if (!privileged()) return ok_status();
    if (identity.uid == 0 && !allow_root) return make_error("refusing to deliver with root privileges");
    gid_t gid = identity.gid;
    if (::setgroups(1, &gid) < 0 || ::setgid(gid) < 0 || ::setuid(identity.uid) < 0)
        return make_temp_error(util::format("set privileges to uid=%u gid=%u: %s", unsigned(identity.uid),
                                            unsigned(identity.gid), std::strerror(errno)));
    if (identity.uid != 0 && ::setuid(0) == 0) return make_error("privileges were not dropped");
    return ok_status();
}

namespace {

// The child's report: one kind byte ('O' ok, 'T' temporary, 'P'
// permanent), then for an error "ERRNO CODE " in decimal and the text, so
// that the parent sees the same Error the step returned.
void report(int fd, const Status& st) {
    std::string msg;
    if (st.ok()) {
        msg = "O";
    } else {
        const Error& e = st.error();
        msg = e.temporary() ? "T" : "P";
        msg += util::format("%d %d ", e.sys_errno, static_cast<int>(e.code));
        msg += e.message;
    }
    const char* p = msg.data();
    size_t left = msg.size();
    while (left > 0) {
        ssize_t n = ::write(fd, p, left);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        p += n;
        left -= static_cast<size_t>(n);
    }
}

}  // namespace

Status run_as(const Identity& identity, const std::function<Status()>& step) {
    if (!privileged()) return step();
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) < 0) return make_temp_error(std::string("pipe: ") + std::strerror(errno));
    util::UniqueFd rd(fds[0]), wr(fds[1]);
    pid_t pid = ::fork();
    if (pid < 0) return make_temp_error(std::string("fork: ") + std::strerror(errno));
    if (pid == 0) {
        rd.reset();
        Status st = become(identity);
        if (st) st = step();
        report(wr.get(), st);
        ::_exit(0);
    }
    wr.reset();
    std::string msg;
    char buf[4096];
    for (;;) {
        ssize_t n = ::read(rd.get(), buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        msg.append(buf, static_cast<size_t>(n));
    }
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (msg.empty()) {
        if (WIFSIGNALED(status))
            return make_temp_error(util::format("delivery process killed by signal %d", WTERMSIG(status)));
        return make_temp_error("delivery process ended without a report");
    }
    if (msg[0] == 'O') return ok_status();
    Error e{"", msg[0] == 'T' ? ErrorKind::kTemporary : ErrorKind::kPermanent};
    int err = 0, code = 0, used = 0;
    if (std::sscanf(msg.c_str() + 1, "%d %d%n", &err, &code, &used) == 2 &&
        msg.size() > 1 + static_cast<std::size_t>(used) && msg[1 + static_cast<std::size_t>(used)] == ' ') {
        e.sys_errno = err;
        if (code == static_cast<int>(ErrorCode::kCorruptFile) || code == static_cast<int>(ErrorCode::kOverQuota))
            e.code = static_cast<ErrorCode>(code);
        e.message = msg.substr(2 + static_cast<std::size_t>(used));
    } else {
        e.message = msg.substr(1);
    }
    return e;
}

}  // namespace mailroom::agent
