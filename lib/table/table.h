// table.h - `type:name` lookup tables, the one interface every caller uses.
//
// Summary
//   open_table("hash:/etc/aliases", options) returns a Table; lookup(key)
//   returns found (a value), not found (an empty optional) or an error. An
//   error whose kind is kTemporary means "try again later" (a database that
//   is down, a fail: table); callers must defer, never treat it as "not
//   found". A permanent error means the table itself is broken (bad file).
//
// Description
//   Backends sit behind the abstract Table class and are chosen by the type
//   string through a registry (register_table_type()). table_types() lists
//   the types this build has, sorted, as `postconf -m` prints them.
//   Types: hash, btree (Berkeley DB files NAME.db written by postmap),
//   texthash, inline, static, fail, environ, unionmap, pipemap, cidr,
//   regexp, pcre, mysql, unix (passwd.byname, group.byname) and proxy
//   (proxy:TYPE:NAME opens TYPE:NAME in-process).
//
//   Case folding follows Postfix: tables with fixed-string keys (hash, btree,
//   texthash, inline, mysql) fold the lookup key to lower case when
//   OpenOptions::fold_case is set (the default); pattern tables (regexp,
//   pcre, cidr) never fold, their patterns carry their own flags.
//
//   changed() reports that the file behind a table was replaced or modified
//   since open (inode, size or mtime differ), so a long-running process can
//   reopen the table or exit and let master restart it.
//
// Thread safety
//   A Table object is not thread-safe; one thread at a time (async_lookup.h
//   serialises the worker threads that share a table).
#pragma once

#include <sys/stat.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lib/util/result.h"

namespace mailroom::table {

// ok + value: found; ok + nullopt: not found; error: see kind.
using LookupResult = Result<std::optional<std::string>>;

// How keys and values are stored in hash/btree files (postmap -N / -n).
enum class NullMode {
    kDefault,   // read: try with and without a trailing NUL; write: with NUL
    kWithNull,  // -N: keys and values end in a NUL byte
    kNoNull,    // -n: no NUL byte
};

// What to do when building a table meets a key twice (postmap -r / -w).
enum class DupMode {
    kWarn,     // default: warn "duplicate entry", keep the first value
    kIgnore,   // -w: keep the first value silently
    kReplace,  // -r: the last value wins, silently
};

struct OpenOptions {
    bool fold_case = true;      // lower-case keys of fixed-string tables
    NullMode null_mode = NullMode::kDefault;
    bool for_update = false;    // hash/btree: open read-write (postmap -i/-d)
    bool create = false;        // hash/btree: create NAME.db when missing
};

// A parsed "type:name"; for "static:{ a b }" name is "{ a b }".
struct TableSpec {
    std::string type;
    std::string name;
    std::string text() const { return type + ":" + name; }
};

// Splits "type:name". A missing type is an error unless default_type is
// non-empty ("/etc/aliases" with default "hash" gives hash:/etc/aliases).
Result<TableSpec> parse_table_spec(std::string_view spec, std::string_view default_type = "");

class Table {
public:
    virtual ~Table() = default;
    Table(const Table&) = delete;
    Table& operator=(const Table&) = delete;

    virtual LookupResult lookup(std::string_view key) = 0;

    // True when the source/db file changed on disk since open.
    virtual bool changed() const { return false; }
    // True for backends whose lookups can block on the network (mysql).
    virtual bool may_block() const { return false; }
    // True for pattern tables (regexp, pcre, cidr): address lookups try the
    // whole address only (addr_find.h).
    virtual bool is_pattern() const { return false; }

    // Writable tables (hash, btree opened for update). Others fail.
    virtual Status update(std::string_view key, std::string_view value);
    // Ok(true) when the key was found and removed.
    virtual Result<bool> remove(std::string_view key);
    // Calls fn for every entry in storage order (postmap -s).
    virtual Status for_each(const std::function<void(std::string_view key, std::string_view value)>& fn);
    // Flushes pending writes (hash, btree).
    virtual Status sync();

    const std::string& type() const { return type_; }
    const std::string& name() const { return name_; }
    std::string spec() const { return type_ + ":" + name_; }

protected:
    Table(std::string type, std::string name) : type_(std::move(type)), name_(std::move(name)) {}

private:
    std::string type_;
    std::string name_;
};

using TablePtr = std::unique_ptr<Table>;
using TableFactory = std::function<Result<TablePtr>(const std::string& name, const OpenOptions& options)>;

// Opens "type:name". Unknown types and bad names are permanent errors.
Result<TablePtr> open_table(std::string_view spec, const OpenOptions& options = {});
Result<TablePtr> open_table(const TableSpec& spec, const OpenOptions& options = {});

// Adds or replaces a backend (tests may register fakes). may_block: the
// type's lookups can wait on the network or another process (mysql).
void register_table_type(const std::string& type, TableFactory factory, bool may_block = false);

// Whether lookups in a table of this type can block, by its type alone
// (no file is opened): mysql and the other network types; proxy:TYPE:NAME,
// unionmap:{...} and pipemap:{...} when a member can. An event loop sends
// such lookups off the loop (async_lookup.h). Unparsable specs are false.
bool spec_may_block(std::string_view spec);
// The types this build has, sorted.
std::vector<std::string> table_types();

// Identity of a file at open time, for Table::changed().
class FileStamp {
public:
    FileStamp() = default;
    // Records path's current identity (an absent file is remembered as such).
    explicit FileStamp(std::string path);
    bool changed() const;
    const std::string& path() const { return path_; }

private:
    std::string path_;
    bool existed_ = false;
    dev_t dev_ = 0;
    ino_t ino_ = 0;
    off_t size_ = 0;
    struct timespec mtime_ = {};
};

}  // namespace mailroom::table
