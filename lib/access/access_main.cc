// access_main.cc - see access_main.h.
#include "lib/access/access_main.h"

#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "lib/log/log.h"
#include "lib/server/master_proto.h"
#include "lib/util/strings.h"

namespace mailroom::access {

Result<std::optional<std::pair<uid_t, gid_t>>> login_owner(server::ServerContext& ctx) {
    if (::geteuid() != 0 || ctx.options().unpriv) return std::optional<std::pair<uid_t, gid_t>>();
    // master.cf's unpriv column "n": root here only so that the broker can
    // start mail processes as the users; the login part runs as mail_owner.
    auto owner = ctx.config().get("mail_owner");
    if (!owner) return owner.error();
    struct passwd* pw = ::getpwnam(owner->c_str());
    if (!pw) return make_error("unknown mail_owner user: " + *owner);
    if (pw->pw_uid == 0) return make_error("mail_owner must not be the super-user: " + *owner);
    return std::optional<std::pair<uid_t, gid_t>>(std::make_pair(pw->pw_uid, pw->pw_gid));
}

Status drop_to(const std::optional<std::pair<uid_t, gid_t>>& owner) {
    if (!owner) return ok_status();
    const gid_t gid = owner->second;
    if (::setgroups(1, &gid) < 0 || ::setgid(gid) < 0 || ::setuid(owner->first) < 0)
        return make_error(util::format("drop privileges to mail_owner: %s", std::strerror(errno)));
    if (::setuid(0) == 0) return make_error("privileges were not dropped: setuid(0) succeeded");
    return ok_status();
}

MailProcessOptions broker_options(server::ServerContext& ctx) {
    MailProcessOptions opts;
    opts.close_fds.push_back(server::proto::kStatusFd);
    for (int i = 0; i < ctx.options().listen_count; ++i) opts.close_fds.push_back(server::proto::kListenFdStart + i);
    return opts;
}

std::shared_ptr<tls::ServerContext> login_tls(const tls::ServerPolicy& policy) {
    if (!policy.enabled()) return nullptr;
    auto made = tls::ServerContext::create(policy);
    if (!made) {
        log::warn("%s: disabling TLS support", made.error().message.c_str());
        return nullptr;
    }
    return std::move(*made);
}

}  // namespace mailroom::access
