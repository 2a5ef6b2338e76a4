// db_table.cc - hash: and btree: backends (see db_table.h).
//
// Description
//   Lookups are read-only unless OpenOptions::for_update; updates write
//   through immediately and sync() flushes them. changed() watches NAME.db.
#include "lib/table/db_table.h"

#include <sys/file.h>

#include "lib/table/backends.h"
#include "lib/util/strings.h"

namespace mailroom::table {

using util::format;

Result<DbKind> db_kind_for_type(std::string_view type) {
    if (type == "hash") return DbKind::kHash;
    if (type == "btree") return DbKind::kBtree;
    return make_error(format("unsupported indexed table type: %.*s", int(type.size()), type.data()));
}

std::string encode_db_string(std::string_view s, NullMode mode) {
    std::string out(s);
    if (mode != NullMode::kNoNull) out.push_back('\0');
    return out;
}

Status build_indexed_table(const TableSpec& spec, const std::vector<std::pair<std::string, std::string>>& entries,
                           NullMode mode, int file_mode) {
    Result<DbKind> kind = db_kind_for_type(spec.type);
    if (!kind) return kind.error();
    std::vector<std::pair<std::string, std::string>> encoded;
    encoded.reserve(entries.size());
    for (const auto& [k, v] : entries) encoded.emplace_back(encode_db_string(k, mode), encode_db_string(v, mode));
    return build_db_file(db_path_for(spec.name), *kind, encoded, file_mode);
}

namespace {

std::string strip_nul(std::string s) {
    if (!s.empty() && s.back() == '\0') s.pop_back();
    return s;
}

class DbTable : public Table {
public:
    DbTable(std::string type, std::string name, DbFile db, const OpenOptions& options)
        : Table(std::move(type), name), db_(std::move(db)), options_(options), stamp_(db_path_for(name)) {
        // Writers hold an exclusive lock for as long as the table is open;
        // readers take a shared lock per lookup, so they never read a
        // half-written page of an in-place update (postmap -i / -d).
        if (options.for_update && db_.fd() >= 0) ::flock(db_.fd(), LOCK_EX);
        if (options.null_mode == NullMode::kWithNull) {
            try_with_ = true, try_without_ = false;
        } else if (options.null_mode == NullMode::kNoNull) {
            try_with_ = false, try_without_ = true;
        }
    }

    LookupResult lookup(std::string_view key) override {
        struct SharedLock {
            int fd;
            explicit SharedLock(int f) : fd(f) {
                if (fd >= 0) ::flock(fd, LOCK_SH);
            }
            ~SharedLock() {
                if (fd >= 0) ::flock(fd, LOCK_UN);
            }
        } lock(options_.for_update ? -1 : db_.fd());
        std::string k = options_.fold_case ? util::lowercase(key) : std::string(key);
        if (try_with_) {
            std::string kn = k;
            kn.push_back('\0');
            auto r = db_.get(kn);
            if (!r) return r.error();
            if (r->has_value()) {
                try_without_ = false;  // this file uses the NUL form
                return std::optional<std::string>(strip_nul(std::move(**r)));
            }
        }
        if (try_without_) {
            auto r = db_.get(k);
            if (!r) return r.error();
            if (r->has_value()) {
                try_with_ = false;
                return std::optional<std::string>(strip_nul(std::move(**r)));
            }
        }
        return std::optional<std::string>();
    }

    bool changed() const override { return stamp_.changed(); }

    Status update(std::string_view key, std::string_view value) override {
        std::string k = options_.fold_case ? util::lowercase(key) : std::string(key);
        NullMode mode = write_mode();
        auto r = db_.put(encode_db_string(k, mode), encode_db_string(value, mode), true);
        if (!r) return r.error();
        return ok_status();
    }

    Result<bool> remove(std::string_view key) override {
        std::string k = options_.fold_case ? util::lowercase(key) : std::string(key);
        bool removed = false;
        if (try_with_) {
            auto r = db_.del(encode_db_string(k, NullMode::kWithNull));
            if (!r) return r.error();
            removed = *r;
        }
        if (!removed && try_without_) {
            auto r = db_.del(k);
            if (!r) return r.error();
            removed = *r;
        }
        return removed;
    }

    Status for_each(const std::function<void(std::string_view, std::string_view)>& fn) override {
        return db_.for_each([&](std::string_view k, std::string_view v) {
            if (!k.empty() && k.back() == '\0') k.remove_suffix(1);
            if (!v.empty() && v.back() == '\0') v.remove_suffix(1);
            fn(k, v);
        });
    }

    Status sync() override { return db_.sync(); }

private:
    NullMode write_mode() const {
        if (options_.null_mode == NullMode::kNoNull) return NullMode::kNoNull;
        if (options_.null_mode == NullMode::kDefault && !try_with_) return NullMode::kNoNull;
        return NullMode::kWithNull;
    }

    DbFile db_;
    OpenOptions options_;
    FileStamp stamp_;
    bool try_with_ = true;
    bool try_without_ = true;
};

Result<TablePtr> open_db(const std::string& type, const std::string& name, const OpenOptions& options) {
    if (name.empty()) return make_error(format("%s: missing file name", type.c_str()));
    Result<DbKind> kind = db_kind_for_type(type);
    if (!kind) return kind.error();
    DbFile::Mode mode = DbFile::Mode::kReadOnly;
    if (options.for_update) mode = options.create ? DbFile::Mode::kCreate : DbFile::Mode::kReadWrite;
    Result<DbFile> db = DbFile::open(db_path_for(name), *kind, mode);
    if (!db) return db.error();
    return TablePtr(std::make_unique<DbTable>(type, name, std::move(*db), options));
}

}  // namespace

namespace detail {

Result<TablePtr> open_hash(const std::string& name, const OpenOptions& options) { return open_db("hash", name, options); }
Result<TablePtr> open_btree(const std::string& name, const OpenOptions& options) {
    return open_db("btree", name, options);
}

}  // namespace detail
}  // namespace mailroom::table
