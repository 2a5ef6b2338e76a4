// mailbox_internal.h - helpers shared by the mailbox modules (not public API).
//
// Summary
//   write_all() loops over short writes and EINTR; make_directory() and
//   after_create() apply CreateOptions (mode, owner, hook) the same way for
//   Maildir directories, folders, marker files and lock files;
//   move_no_replace() puts a finished file under its final name.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>

#include "lib/mailbox/maildir.h"
#include "lib/util/result.h"

namespace mailroom::mailbox::internal {

// Writes all of `data` to `fd`; on failure returns sys_error("write", path).
// Honours the test hook of set_write_fault_for_testing().
Status write_all(int fd, std::string_view data, const std::string& path);

// chown (when the options name an owner) and the on_create hook.
Status after_create(const std::string& path, const CreateOptions& options);

// mkdir(path, dir_mode) then after_create(); an existing directory is fine,
// an existing non-directory is ENOTDIR. With `parents`, missing parents are
// created the same way.
Status make_directory(const std::string& path, const CreateOptions& options, bool parents);

// Current time as seconds and microseconds.
void now_timeval(int64_t* seconds, long* usec);

// getpid(), asked once per process (again in a forked child).
long cached_pid();

// How move_no_replace() moved a file.
enum class MoveMethod { kRenameNoReplace, kLink, kRename };

// Gives file `from` the name `to` unless `to` exists, and removes the name
// `from`: one renameat2(RENAME_NOREPLACE); where the file system does not
// support it (EINVAL, ENOSYS), link() and unlink(); where hard links are
// unsupported too, rename() (which would replace: only for a name nobody
// else can generate). Returns 0 or the errno; EEXIST leaves both names as
// they were. *method (when given) names the call that decided.
int move_no_replace(const std::string& from, const std::string& to, MoveMethod* method = nullptr);

}  // namespace mailroom::mailbox::internal
