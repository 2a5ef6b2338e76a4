// mailroom_perms.h - the directories an instance needs, and their owners and modes.
//
// Summary
//   expected_layout() lists every directory of an instance (queue_directory
//   and its subdirectories, data_directory) with the owner, group and mode
//   it must have; it is pure. check_layout() compares that list with the
//   file system and returns one Problem per missing directory or wrong
//   owner, group or mode, each with the text `mailroom check` prints.
//   repair_layout() creates and fixes them (set-permissions; start creates
//   only what is missing).
//
// Description
//   Privileged instance (started as root): queue_directory and pid/ belong
//   to root (0755); maildrop/ is mail_owner:setgid_group 0730, public/
//   mail_owner:setgid_group 0710, the other queue directories and
//   data_directory mail_owner 0700. Unprivileged instance (DESIGN.md
//   principle 4): the same modes, every directory owned by the invoking
//   user, and groups are not checked.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "lib/util/result.h"

namespace mailroom::ctl {

struct Identity {
    uid_t uid = 0;
    gid_t gid = 0;
    std::string name;
};

struct LayoutInput {
    std::string queue_directory;
    std::string data_directory;
    Identity root;          // owner of queue_directory and pid/
    Identity owner;         // mail_owner (or the invoking user)
    Identity setgid_group;  // only gid and name are used
    bool check_groups = true;
};

struct DirSpec {
    std::string path;
    Identity owner;
    bool check_group = false;
    Identity group;  // gid and name, when check_group
    mode_t mode = 0700;
};

// The queue subdirectories, in the order they are created and checked.
const std::vector<std::string>& queue_subdirectories();

std::vector<DirSpec> expected_layout(const LayoutInput& in);

struct Problem {
    enum class Kind { kMissing, kNotDirectory, kOwner, kGroup, kMode };
    Kind kind;
    std::string path;
    std::string message;  // "not owned by mailroom: /q/public"
};

std::vector<Problem> check_layout(const std::vector<DirSpec>& layout);

// Creates missing directories; with fix_existing also corrects owner,
// group and mode of existing ones. chown is attempted only as root.
Status repair_layout(const std::vector<DirSpec>& layout, bool fix_existing);

}  // namespace mailroom::ctl
