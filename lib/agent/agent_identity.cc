// agent_identity.cc - see agent_identity.h.
#include "lib/agent/agent_identity.h"

#include <grp.h>
#include <pwd.h>
#include <sys/prctl.h>
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

Status become(const Identity& identity, bool allow_root) {
    // Inside a ScopedIdentity the effective uid is the user's while the real
    // and saved uids are root's: regain root first, so the ids set below are
    // all three, for good.
    if (::getuid() == 0 && ::geteuid() != 0 && ::seteuid(0) < 0)
        return make_temp_error(util::format("regain root before a privilege drop: %s", std::strerror(errno)));
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

// Logs and aborts: the process must not go on with ids it cannot vouch for.
[[noreturn]] void identity_fatal(const char* what, int err) {
    log::emit(log::Level::kFatal, util::format("%s: %s", what, std::strerror(err)));
    std::abort();
}

}  // namespace

void check_identity_restored() {
    if (::getuid() == 0 && ::geteuid() != 0) identity_fatal("effective uid was not restored", EPERM);
}

ScopedIdentity::ScopedIdentity(const Identity& identity) {
    check_identity_restored();
    if (!privileged()) return;
    if (identity.uid == 0) {
        status_ = make_error("refusing to deliver with root privileges");
        return;
    }
    saved_egid_ = ::getegid();
    ::prctl(PR_GET_PDEATHSIG, &saved_pdeathsig_);
    int n = ::getgroups(0, nullptr);
    if (n < 0) {
        status_ = make_temp_error(std::string("getgroups: ") + std::strerror(errno));
        return;
    }
    saved_groups_.resize(static_cast<std::size_t>(n));
    if (n > 0 && ::getgroups(n, saved_groups_.data()) < 0) {
        status_ = make_temp_error(std::string("getgroups: ") + std::strerror(errno));
        return;
    }
    // From here on every partial change is undone by restore().
    switched_ = true;
    gid_t gid = identity.gid;
    if (::setgroups(1, &gid) < 0 || ::setegid(gid) < 0 || ::seteuid(identity.uid) < 0) {
        int err = errno;
        restore();
        status_ = make_temp_error(util::format("set privileges to uid=%u gid=%u: %s", unsigned(identity.uid),
                                               unsigned(identity.gid), std::strerror(err)));
        return;
    }
    if (::geteuid() != identity.uid || ::getegid() != gid) {
        restore();
        status_ = make_temp_error(util::format("set privileges to uid=%u gid=%u: ids did not change",
                                               unsigned(identity.uid), unsigned(identity.gid)));
    }
}

ScopedIdentity::~ScopedIdentity() { restore(); }

void ScopedIdentity::restore() {
    if (!std::exchange(switched_, false)) return;
    if (::seteuid(0) < 0) identity_fatal("restore effective uid 0", errno);
    if (::setegid(saved_egid_) < 0) identity_fatal("restore effective gid", errno);
    if (::setgroups(saved_groups_.size(), saved_groups_.data()) < 0) identity_fatal("restore groups", errno);
    if (::geteuid() != 0 || ::getegid() != saved_egid_) identity_fatal("restore root privileges", EPERM);
    // A change of credentials clears the parent-death signal (server.cc
    // sets it so that the process dies with master): set it again.
    if (saved_pdeathsig_ != 0) ::prctl(PR_SET_PDEATHSIG, saved_pdeathsig_);
}

Status run_as(const Identity& identity, const std::function<Status()>& step) {
    check_identity_restored();
    if (!privileged()) return step();
    ScopedIdentity as(identity);
    if (!as.status()) return as.status();
    return step();
}

}  // namespace mailroom::agent
