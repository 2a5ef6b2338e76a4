// agent_identity.h - whose privileges a delivery runs with.
//
// Summary
//   Identity names a uid/gid pair (with the account's name, home and shell
//   when it came from the password file). run_as() runs a delivery step
//   with that identity: as root it forks, and the child calls setgroups(),
//   setgid() and setuid() (in that order) before it touches any user
//   file, runs the step and reports its Status back over a pipe; in an
//   unprivileged instance (euid != 0) nothing can change, so the step runs
//   in the process itself.
//
// Security
//   The child drops every privilege for good (real and effective ids), so
//   a step can never regain root; the parent stays root for the next
//   recipient. A child killed by a signal, or one that exits without a
//   report, is a temporary error.
#pragma once

#include <sys/types.h>

#include <functional>
#include <optional>
#include <string>

#include "lib/util/result.h"

namespace mailroom::agent {

struct Identity {
    uid_t uid = 0;
    gid_t gid = 0;
    std::string name;   // login name, "" when not from the password file
    std::string home;
    std::string shell;
};

// getpwnam(): nullopt when there is no such user; a lookup failure is a
// temporary error.
Result<std::optional<Identity>> lookup_user(const std::string& name);
// getpwuid().
Result<std::optional<Identity>> lookup_uid(uid_t uid);
// A user name or a numeric uid (default_privs, pipe's user=).
Result<Identity> resolve_user(const std::string& name_or_uid);
// A group name or a numeric gid (pipe's group=).
Result<gid_t> resolve_group(const std::string& name_or_gid);

// True when this process can change identities (euid 0).
bool privileged();

// Sets groups, gid and uid for good; for a child about to run a step or
// exec a command. Refuses uid 0 unless allow_root.
Status become(const Identity& identity, bool allow_root = false);

// Runs `step` with `identity` (see the file comment).
Status run_as(const Identity& identity, const std::function<Status()>& step);

}  // namespace mailroom::agent
