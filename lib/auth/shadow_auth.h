// shadow_auth.h - authd's `shadow` module: system users (passwd + shadow).
//
// Summary
//   Looks a user up with getpwnam_r() (uid, gid, home, gecos) and the
//   password hash with getspnam_r(), checked through libcrypt like
//   saslauthd's `-a shadow`. Names with '@' are not system users.
//
// Description
//   Only root can read the shadow database. authd running unprivileged
//   (the default master.cf line) still finds system users (PRE lookups
//   work), but every password check fails and logs why; run authd with
//   master.cf's unpriv column `n` to authenticate system users. A
//   passwd entry that holds the hash itself (not "x" or "*") is used as it
//   stands. Lookups read local files: may_block() is false.
//   An account whose shadow expiry date (sp_expire) has come is refused
//   with its reason logged, as a locked hash ("!", "*") is.
#pragma once

#include <ctime>

#include "lib/auth/auth_module.h"

namespace mailroom::auth {

// Whether shadow's expiry field (days since 1970-01-01, -1 for none)
// has expired the account at `now`: from the day it names on.
bool shadow_expired(long sp_expire, std::time_t now);

class ShadowModule : public AuthModule {
public:
    explicit ShadowModule(std::string spec) : spec_(std::move(spec)) {}
    const std::string& spec() const override { return spec_; }
    bool may_block() const override { return false; }
    LookupResult lookup(const std::string& user, const std::string& service) override;

private:
    std::string spec_;
};

}  // namespace mailroom::auth
