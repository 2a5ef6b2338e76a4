// agent_identity.h - whose privileges a delivery runs with.
//
// Summary
//   Identity names a uid/gid pair (with the account's name, home and shell
//   when it came from the password file). run_as() runs a delivery step
//   with that identity: as root it switches the effective gid, the
//   supplementary groups and the effective uid of the calling thread
//   (ScopedIdentity, as Postfix's set_eugid()), runs the step and switches
//   back to root; in an unprivileged instance (euid != 0) nothing can
//   change, so the step runs as it is. become() drops every privilege for
//   good, for a child that is about to exec a command.
//
// Description
//   Linux keeps credentials per thread. The switch uses the raw system
//   calls (setgroups, setresgid, setresuid), which change the calling
//   thread only; glibc's wrappers would change every thread of the process
//   by signalling each one, several system calls per thread and call. The
//   other thread of a server process, the accept thread
//   (lib/server/accept_thread.h), keeps root's ids throughout: it only
//   accepts connections and hands them to the loop's thread, which runs
//   the deliveries. Root's effective gid and groups are read once per
//   thread (at its first switch); every switch back restores and checks
//   them. The switch costs about a dozen system calls: the real and
//   effective uid (one call, the check below), the parent-death signal,
//   three calls each way, one check of the effective uid and gid after
//   each, and the parent-death signal set again.
//
// Security
//   A step never runs with root's effective ids: uid 0 is refused, and
//   the switch is checked (the thread's effective uid and gid are those
//   asked for) before the step runs. Only the effective ids
//   change (the real and saved uid stay 0), which is what lets one
//   process serve the next recipient, so a step must not run anything the
//   recipient controls: commands are run by a forked child that calls
//   become() (agent_command.h). ScopedIdentity restores root's ids on
//   every way out of its scope (returns, errors, exceptions); when that
//   fails the process aborts rather than serve another delivery with the
//   wrong ids, and run_as() refuses to start in a process whose real uid
//   is 0 but whose effective uid is not.
#pragma once

#include <sys/types.h>

#include <functional>
#include <optional>
#include <string>
#include <vector>

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

// The effective ids of `identity` for the lifetime of the object (see
// the file comment). status() says whether the switch was made; when it
// was not, nothing changed. Only in a privileged process (euid 0).
class ScopedIdentity {
public:
    explicit ScopedIdentity(const Identity& identity);
    ~ScopedIdentity();
    ScopedIdentity(const ScopedIdentity&) = delete;
    ScopedIdentity& operator=(const ScopedIdentity&) = delete;

    const Status& status() const { return status_; }

private:
    void restore();

    bool switched_ = false;
    int saved_pdeathsig_ = 0;
    Status status_;
};

// Aborts the process when its real uid is root but its effective uid is
// not: an identity switch was not undone (it never returns then).
void check_identity_restored();

// Runs `step` with `identity` (see the file comment).
Status run_as(const Identity& identity, const std::function<Status()>& step);

}  // namespace mailroom::agent
