// fs.h - whole-file reads and crash-safe whole-file replacement.
//
// Summary
//   read_file() returns a file's bytes or an error naming the path and errno.
//   write_file_atomic() writes a sibling temp file, fsyncs it, renames it over
//   the target and fsyncs the directory, so readers see the old file or the
//   new one, never a mix. The new file keeps the old one's mode (or `mode`
//   when the target does not exist yet).
//   rename_noreplace() moves a file to a name that must not exist yet:
//   renameat2(RENAME_NOREPLACE), or link()+unlink() on file systems without
//   the flag; either way an existing target is never replaced (-1, EEXIST).
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>

#include "lib/util/result.h"

namespace mailroom::util {

Result<std::string> read_file(const std::string& path);
Status write_file_atomic(const std::string& path, std::string_view data, mode_t mode = 0644);
Status fsync_directory(const std::string& dir);
std::string dirname_of(const std::string& path);
bool path_exists(const std::string& path);
// 0, or -1 with errno set (EEXIST when `to` exists).
int rename_noreplace(const std::string& from, const std::string& to);

}  // namespace mailroom::util
