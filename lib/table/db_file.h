// db_file.h - RAII access to a Berkeley DB 5.3 hash or btree file.
//
// Summary
//   DbFile owns one DB* handle. open() opens an existing file read-only or
//   read-write, or creates one; get/put/del/for_each work on raw byte keys.
//   The NUL-byte convention (postmap -N/-n) is applied by the table layer
//   (db_table.cc), not here.
//
// Description
//   build_db_file() writes a whole new NAME.db atomically: it creates
//   NAME.db.tmp.PID, fills it, syncs and fsyncs it, then renames it over
//   NAME.db. On any failure the temp file is removed and the old NAME.db is
//   left untouched.
//
//   The Berkeley DB library is loaded by the first open() of the process
//   (db_library_file() names it); when it cannot be, open() fails with
//   "PATH: cannot load libdb-5.3.so: <reason>". Opening a file that does
//   not exist fails before the library is loaded.
#pragma once

#include <db.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lib/util/result.h"

namespace mailroom::table {

enum class DbKind { kHash, kBtree };

class DbFile {
public:
    enum class Mode { kReadOnly, kReadWrite, kCreate, kCreateTruncate };

    static Result<DbFile> open(const std::string& path, DbKind kind, Mode mode, int create_mode = 0644);

    DbFile() = default;
    DbFile(DbFile&&) noexcept = default;
    DbFile& operator=(DbFile&&) noexcept = default;

    // ok(nullopt) when absent.
    Result<std::optional<std::string>> get(std::string_view key) const;
    // overwrite=false keeps an existing value and returns ok(false).
    Result<bool> put(std::string_view key, std::string_view value, bool overwrite);
    Result<bool> del(std::string_view key);
    Status for_each(const std::function<void(std::string_view, std::string_view)>& fn) const;
    Status sync();
    Status close();
    // The descriptor of the underlying file (for flock), or -1.
    int fd() const;
    const std::string& path() const { return path_; }

private:
    struct Closer {
        void operator()(DB* db) const;
    };
    std::unique_ptr<DB, Closer> db_;
    std::string path_;
};

// The file name (SONAME) of the Berkeley DB library open() loads.
std::string db_library_file();

// Writes `entries` to a new db file at `path` atomically (temp + rename).
// `mode` is the new file's permission bits.
Status build_db_file(const std::string& path, DbKind kind,
                     const std::vector<std::pair<std::string, std::string>>& entries, int mode);

}  // namespace mailroom::table
