// db_file.cc - Berkeley DB handle ownership and the atomic rebuild.
//
// Description
//   See db_file.h. Berkeley DB returns errors as positive errno values or
//   negative DB_* codes; db_strerror() describes both. The library is
//   loaded by the first open (MAILROOM_BDB_SONAME, set by CMake): its two
//   functions are bound here, the rest of its API is method pointers on
//   the handles it makes.
#include "lib/table/db_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "lib/util/fs.h"
#include "lib/util/shared_library.h"
#include "lib/util/strings.h"

namespace mailroom::table {

using util::format;

namespace {

#ifndef MAILROOM_BDB_SONAME
#error "MAILROOM_BDB_SONAME must name the Berkeley DB library (lib/table/CMakeLists.txt)"
#endif

struct DbLibrary {
    decltype(&::db_create) create = nullptr;
    decltype(&::db_strerror) strerror = nullptr;
};

Status bind_db(const util::SharedLibrary& lib, DbLibrary* db) {
    if (Status s = lib.bind("db_create", &db->create); !s) return s;
    return lib.bind("db_strerror", &db->strerror);
}

// Loaded by the first DbFile::open(); an open DbFile implies a loaded library.
util::LazyLibrary<DbLibrary>& db_library() {
    static util::LazyLibrary<DbLibrary> lib(MAILROOM_BDB_SONAME, bind_db);
    return lib;
}

const bool g_hash_preload = util::register_jail_preload("hash:", [] { return db_library().load(); });
const bool g_btree_preload = util::register_jail_preload("btree:", [] { return db_library().load(); });

const DbLibrary& loaded_db_library() { return *db_library().get().value(); }

DBT make_dbt(std::string_view s) {
    DBT d;
    std::memset(&d, 0, sizeof(d));
    d.data = const_cast<char*>(s.data());
    d.size = static_cast<u_int32_t>(s.size());
    return d;
}

Error db_error(const std::string& path, const char* what, int rc) {
    return make_error(format("%s: %s: %s", path.c_str(), what, loaded_db_library().strerror(rc)));
}

Error missing_file(const std::string& path) {
    return make_error(format("open database %s: %s", path.c_str(), std::strerror(ENOENT)));
}

}  // namespace

std::string db_library_file() { return db_library().file(); }

void DbFile::Closer::operator()(DB* db) const {
    if (db) db->close(db, 0);
}

Result<DbFile> DbFile::open(const std::string& path, DbKind kind, Mode mode, int create_mode) {
    // A table whose file does not exist (the default alias_maps without
    // newaliases) fails as Berkeley DB would, without loading it.
    struct stat st;
    bool creating = mode == Mode::kCreate || mode == Mode::kCreateTruncate;
    if (!creating && ::stat(path.c_str(), &st) != 0 && errno == ENOENT) return missing_file(path);
    Result<const DbLibrary*> lib = db_library().get();
    if (!lib) return lib.error().prefixed(path + ": ");
    DB* raw = nullptr;
    int rc = (*lib)->create(&raw, nullptr, 0);
    if (rc != 0) return db_error(path, "db_create", rc);
    DbFile f;
    f.db_.reset(raw);
    f.path_ = path;
    u_int32_t flags = 0;
    switch (mode) {
        case Mode::kReadOnly: flags = DB_RDONLY; break;
        case Mode::kReadWrite: flags = 0; break;
        case Mode::kCreate: flags = DB_CREATE; break;
        case Mode::kCreateTruncate: flags = DB_CREATE | DB_TRUNCATE; break;
    }
    DBTYPE type = kind == DbKind::kHash ? DB_HASH : DB_BTREE;
    rc = raw->open(raw, nullptr, path.c_str(), nullptr, type, flags, create_mode);
    if (rc != 0) {
        // A failed open still needs close() to free the handle.
        Error e = rc == ENOENT ? missing_file(path) : db_error(path, "open database", rc);
        return e;
    }
    return f;
}

Result<std::optional<std::string>> DbFile::get(std::string_view key) const {
    DBT k = make_dbt(key);
    DBT v;
    std::memset(&v, 0, sizeof(v));
    int rc = db_->get(db_.get(), nullptr, &k, &v, 0);
    if (rc == DB_NOTFOUND || rc == DB_KEYEMPTY) return std::optional<std::string>();
    if (rc != 0) return db_error(path_, "get", rc);
    return std::optional<std::string>(std::string(static_cast<const char*>(v.data), v.size));
}

Result<bool> DbFile::put(std::string_view key, std::string_view value, bool overwrite) {
    DBT k = make_dbt(key);
    DBT v = make_dbt(value);
    int rc = db_->put(db_.get(), nullptr, &k, &v, overwrite ? 0 : DB_NOOVERWRITE);
    if (rc == DB_KEYEXIST) return false;
    if (rc != 0) return db_error(path_, "put", rc);
    return true;
}

Result<bool> DbFile::del(std::string_view key) {
    DBT k = make_dbt(key);
    int rc = db_->del(db_.get(), nullptr, &k, 0);
    if (rc == DB_NOTFOUND) return false;
    if (rc != 0) return db_error(path_, "delete", rc);
    return true;
}

Status DbFile::for_each(const std::function<void(std::string_view, std::string_view)>& fn) const {
    DBC* cur = nullptr;
    int rc = db_->cursor(db_.get(), nullptr, &cur, 0);
    if (rc != 0) return db_error(path_, "cursor", rc);
    auto closer = [](DBC* c) { c->close(c); };
    std::unique_ptr<DBC, decltype(closer)> guard(cur, closer);
    for (;;) {
        DBT k, v;
        std::memset(&k, 0, sizeof(k));
        std::memset(&v, 0, sizeof(v));
        rc = cur->get(cur, &k, &v, DB_NEXT);
        if (rc == DB_NOTFOUND) break;
        if (rc != 0) return db_error(path_, "cursor get", rc);
        fn(std::string_view(static_cast<const char*>(k.data), k.size),
           std::string_view(static_cast<const char*>(v.data), v.size));
    }
    return ok_status();
}

Status DbFile::sync() {
    int rc = db_->sync(db_.get(), 0);
    if (rc != 0) return db_error(path_, "sync", rc);
    return ok_status();
}

Status DbFile::close() {
    if (!db_) return ok_status();
    DB* raw = db_.release();
    int rc = raw->close(raw, 0);
    if (rc != 0) return db_error(path_, "close", rc);
    return ok_status();
}

int DbFile::fd() const {
    int fd = -1;
    if (db_ && db_->fd(db_.get(), &fd) == 0) return fd;
    return -1;
}

Status build_db_file(const std::string& path, DbKind kind,
                     const std::vector<std::pair<std::string, std::string>>& entries, int mode) {
    std::string tmp = path + ".tmp." + std::to_string(::getpid());
    ::unlink(tmp.c_str());
    auto fail = [&](Error e) -> Status {
        ::unlink(tmp.c_str());
        return e;
    };
    {
        Result<DbFile> db = DbFile::open(tmp, kind, DbFile::Mode::kCreateTruncate, mode);
        if (!db) return fail(db.error());
        for (const auto& [k, v] : entries) {
            Result<bool> r = db->put(k, v, true);
            if (!r) return fail(r.error());
        }
        if (Status s = db->sync(); !s) return fail(s.error());
        if (Status s = db->close(); !s) return fail(s.error());
    }
    // Berkeley DB's sync does not fsync the file itself.
    {
        int fd = ::open(tmp.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0 || ::fsync(fd) != 0) {
            int saved = errno;
            if (fd >= 0) ::close(fd);
            return fail(make_error(format("fsync %s: %s", tmp.c_str(), std::strerror(saved))));
        }
        ::close(fd);
    }
    ::chmod(tmp.c_str(), static_cast<mode_t>(mode));
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
        int saved = errno;
        return fail(make_error(format("rename %s to %s: %s", tmp.c_str(), path.c_str(), std::strerror(saved))));
    }
    (void)util::fsync_directory(util::dirname_of(path));
    return ok_status();
}

}  // namespace mailroom::table
