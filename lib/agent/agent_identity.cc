// agent_identity.cc - see agent_identity.h.
#include "lib/agent/agent_identity.h"

#include <grp.h>
#include <pwd.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <utility>
#include <vector>

#include "lib/log/log.h"
#include "lib/util/strings.h"

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

namespace {

// The calling thread's credentials, by the raw system calls: on Linux
// credentials belong to each thread, and glibc's set*id() wrappers apply a
// change to every thread of the process by signalling each one
// (getpid, tgkill, a futex wait per thread and call). Only the delivering
// thread takes the recipient's ids; the server's accept thread
// (lib/server/accept_thread.h) keeps the process's root ids, which it only
// uses to accept connections.
#ifdef SYS_setresuid32  // 32-bit ids on architectures that also have 16-bit calls
constexpr long kSysSetgroups = SYS_setgroups32, kSysSetresgid = SYS_setresgid32, kSysSetresuid = SYS_setresuid32;
#else
constexpr long kSysSetgroups = SYS_setgroups, kSysSetresgid = SYS_setresgid, kSysSetresuid = SYS_setresuid;
#endif

int thread_setgroups(std::size_t n, const gid_t* groups) {
    return static_cast<int>(::syscall(kSysSetgroups, n, groups));
}

// Only the effective id changes (-1: the real and saved ids stay).
int thread_set_egid(gid_t gid) { return static_cast<int>(::syscall(kSysSetresgid, -1, gid, -1)); }
int thread_set_euid(uid_t uid) { return static_cast<int>(::syscall(kSysSetresuid, -1, uid, -1)); }

// The calling thread's effective ids (getresuid/getresgid read the
// thread's own credentials).
struct Ids {
    uid_t euid = 0;
    gid_t egid = 0;
};

bool effective_ids(Ids* ids) {
    uid_t ruid, suid;
    gid_t rgid, sgid;
    return ::getresuid(&ruid, &ids->euid, &suid) == 0 && ::getresgid(&rgid, &ids->egid, &sgid) == 0;
}

// Root's effective gid and groups of this thread, read at its first switch
// and put back by every switch back (which checks them): nothing else
// changes a privileged agent's own ids, so they are not read again per
// delivery.
struct HomeIds {
    bool known = false;
    gid_t egid = 0;
    std::vector<gid_t> groups;
};

HomeIds& home_ids() {
    thread_local HomeIds ids;
    return ids;
}

Status load_home_ids(HomeIds* home) {
    gid_t rgid, sgid;
    if (::getresgid(&rgid, &home->egid, &sgid) < 0)
        return make_temp_error(std::string("getresgid: ") + std::strerror(errno));
    int n = ::getgroups(0, nullptr);
    if (n >= 0) {
        home->groups.resize(static_cast<std::size_t>(n));
        n = n > 0 ? ::getgroups(n, home->groups.data()) : 0;
    }
    if (n < 0) return make_temp_error(std::string("getgroups: ") + std::strerror(errno));
    home->groups.resize(static_cast<std::size_t>(n));
    home->known = true;
    return ok_status();
}

// The calling thread's real and effective uid (one system call).
void real_and_effective_uid(uid_t* ruid, uid_t* euid) {
    uid_t suid;
    if (::getresuid(ruid, euid, &suid) < 0) *ruid = *euid = ::geteuid();
}

}  // namespace

Status become(const Identity& identity, bool allow_root) {
    // Inside a ScopedIdentity the effective uid is the user's while the real
    // and saved uids are root's: regain root first, so the ids set below are
    // all three, for good. (A child forked for a command has one thread:
    // glibc's wrappers then change just that one, the whole process.)
    uid_t ruid, euid;
    real_and_effective_uid(&ruid, &euid);
    if (ruid == 0 && euid != 0) {
        if (::seteuid(0) < 0)
            return make_temp_error(util::format("regain root before a privilege drop: %s", std::strerror(errno)));
        euid = 0;
    }
    if (euid != 0) return ok_status();
    if (identity.uid == 0 && !allow_root) return make_error("refusing to deliver with root privileges");
    gid_t gid = identity.gid;
    if (::setgroups(1, &gid) < 0 || ::setgid(gid) < 0 || ::setuid(identity.uid) < 0)
        return make_temp_error(util::format("set privileges to uid=%u gid=%u: %s", unsigned(identity.uid),
                                            unsigned(identity.gid), std::strerror(errno)));
    if (identity.uid != 0 && ::setuid(0) == 0) return make_error("privileges were not dropped");
    return ok_status();
}

namespace {

// Logs and aborts: the process must not go on with ids it cannot vouch for.
[[noreturn]] void identity_fatal(const char* what, int err) {
    log::emit(log::Level::kFatal, util::format("%s: %s", what, std::strerror(err)));
    std::abort();
}

// The calling thread's effective uid, after checking that no earlier
// switch is still in force.
uid_t restored_euid() {
    uid_t ruid, euid;
    real_and_effective_uid(&ruid, &euid);
    if (ruid == 0 && euid != 0) identity_fatal("effective uid was not restored", EPERM);
    return euid;
}

}  // namespace

void check_identity_restored() { (void)restored_euid(); }

ScopedIdentity::ScopedIdentity(const Identity& identity) {
    if (restored_euid() != 0) return;  // unprivileged: nothing can change
    if (identity.uid == 0) {
        status_ = make_error("refusing to deliver with root privileges");
        return;
    }
    HomeIds& home = home_ids();
    if (!home.known) {
        if (auto st = load_home_ids(&home); !st) {
            status_ = st;
            return;
        }
    }
    ::prctl(PR_GET_PDEATHSIG, &saved_pdeathsig_);
    // From here on every partial change is undone by restore().
    switched_ = true;
    gid_t gid = identity.gid;
    if (thread_setgroups(1, &gid) < 0 || thread_set_egid(gid) < 0 ||
        thread_set_euid(identity.uid) < 0) {
        int err = errno;
        restore();
        status_ = make_temp_error(util::format("set privileges to uid=%u gid=%u: %s", unsigned(identity.uid),
                                               unsigned(identity.gid), std::strerror(err)));
        return;
    }
    Ids now;
    if (!effective_ids(&now) || now.euid != identity.uid || now.egid != gid) {
        restore();
        status_ = make_temp_error(util::format("set privileges to uid=%u gid=%u: ids did not change",
                                               unsigned(identity.uid), unsigned(identity.gid)));
    }
}

ScopedIdentity::~ScopedIdentity() { restore(); }

void ScopedIdentity::restore() {
    if (!std::exchange(switched_, false)) return;
    const HomeIds& home = home_ids();
    if (thread_set_euid(0) < 0) identity_fatal("restore effective uid 0", errno);
    if (thread_set_egid(home.egid) < 0) identity_fatal("restore effective gid", errno);
    if (thread_setgroups(home.groups.size(), home.groups.data()) < 0) identity_fatal("restore groups", errno);
    Ids now;
    if (!effective_ids(&now) || now.euid != 0 || now.egid != home.egid) identity_fatal("restore root privileges", EPERM);
    // A change of credentials clears the parent-death signal (server.cc
    // sets it so that the process dies with master): set it again.
    if (saved_pdeathsig_ != 0) ::prctl(PR_SET_PDEATHSIG, saved_pdeathsig_);
}

Status run_as(const Identity& identity, const std::function<Status()>& step) {
    // The constructor checks that no earlier switch is still in force and
    // does nothing in an unprivileged process.
    ScopedIdentity as(identity);
    if (!as.status()) return as.status();
    return step();
}

}  // namespace mailroom::agent
