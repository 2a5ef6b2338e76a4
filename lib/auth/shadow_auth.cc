// shadow_auth.cc - see shadow_auth.h.
#include "lib/auth/shadow_auth.h"

#include <pwd.h>
#include <shadow.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <vector>

namespace mailroom::auth {

bool shadow_expired(long sp_expire, std::time_t now) {
    // Days since the epoch, as pam_unix counts them; -1 (empty) is never.
    if (sp_expire < 0) return false;
    return now / (60 * 60 * 24) >= sp_expire;
}

LookupResult ShadowModule::lookup(const std::string& user, const std::string&) {
    LookupResult r;
    if (user.empty() || user.find('@') != std::string::npos || user.find('/') != std::string::npos) return r;
    std::vector<char> buf(16384);
    struct passwd pw {};
    struct passwd* pwp = nullptr;
    int err = ::getpwnam_r(user.c_str(), &pw, buf.data(), buf.size(), &pwp);
    if (err != 0 && err != ENOENT && err != ESRCH) {
        return LookupResult::temp_failure(std::string("getpwnam: ") + std::strerror(err));
    }
    if (!pwp) return r;
    UserRecord& u = r.user;
    u.username = pw.pw_name;
    u.address = pw.pw_name;
    u.uid = pw.pw_uid;
    u.gid = pw.pw_gid;
    u.home = pw.pw_dir ? pw.pw_dir : "";
    if (pw.pw_gecos) {
        u.name = pw.pw_gecos;
        if (auto comma = u.name.find(','); comma != std::string::npos) u.name.resize(comma);
    }
    std::string passwd_field = pw.pw_passwd ? pw.pw_passwd : "";
    r.outcome = Outcome::kOk;

    std::vector<char> sbuf(16384);
    struct spwd sp {};
    struct spwd* spp = nullptr;
    errno = 0;
    int serr = ::getspnam_r(user.c_str(), &sp, sbuf.data(), sbuf.size(), &spp);
    if (spp && sp.sp_pwdp) {
        u.crypt_password = sp.sp_pwdp;
    } else if (!passwd_field.empty() && passwd_field != "x" && passwd_field != "*") {
        u.crypt_password = passwd_field;
    } else {
        int e = serr ? serr : errno;
        u.password_unavailable = "cannot read the shadow password of " + user + ": " +
                                 (::geteuid() != 0 ? std::string("authd is not running as root")
                                                   : std::string(e ? std::strerror(e) : "no shadow entry"));
    }
    // A locked or disabled account ("!", "*", "!!hash") never matches.
    if (!u.crypt_password.empty() && (u.crypt_password[0] == '!' || u.crypt_password[0] == '*')) {
        u.crypt_password.clear();
        u.password_unavailable = "the account " + user + " is locked";
    }
    // An expired account (chage -E, shadow's eighth field) is refused too.
    if (spp && u.password_unavailable.empty() && shadow_expired(sp.sp_expire, std::time(nullptr))) {
        u.crypt_password.clear();
        u.password_unavailable = "the account " + user + " has expired";
    }
    return r;
}

}  // namespace mailroom::auth
