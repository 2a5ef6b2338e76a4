// table.cc - the type registry, "type:name" parsing and file stamps.
//
// Description
//   The built-in types are registered on first use (not by static
//   constructors, which a static library may drop).
#include "lib/table/table.h"

#include <sys/stat.h>

#include <algorithm>
#include <map>
#include <set>
#include <mutex>

#include "lib/table/backends.h"
#include "lib/table/table_text.h"
#include "lib/util/strings.h"

namespace mailroom::table {

using util::format;

namespace {

struct Registry {
    std::mutex mu;
    std::map<std::string, TableFactory> factories;
    // Types whose lookups can block (spec_may_block()).
    std::set<std::string> blocking = {"mysql", "pgsql", "ldap", "sqlite", "memcache", "tcp", "socketmap"};
};

Registry& registry() {
    static Registry r;
    static std::once_flag once;
    std::call_once(once, [] {
        r.factories = {
            {"hash", detail::open_hash},         {"btree", detail::open_btree},
            {"texthash", detail::open_texthash}, {"inline", detail::open_inline},
            {"static", detail::open_static},     {"fail", detail::open_fail},
            {"environ", detail::open_environ},   {"unionmap", detail::open_unionmap},
            {"pipemap", detail::open_pipemap},   {"cidr", detail::open_cidr},
            {"regexp", detail::open_regexp},     {"pcre", detail::open_pcre},
            {"mysql", detail::open_mysql},       {"proxy", detail::open_proxy},
            {"unix", detail::open_unix},
        };
    });
    return r;
}

}  // namespace

Status Table::update(std::string_view, std::string_view) {
    return make_error(format("table %s: update is not supported for this table type", spec().c_str()));
}

Result<bool> Table::remove(std::string_view) {
    return make_error(format("table %s: delete is not supported for this table type", spec().c_str()));
}

Status Table::for_each(const std::function<void(std::string_view, std::string_view)>&) {
    return make_error(format("table %s: sequence is not supported for this table type", spec().c_str()));
}

Status Table::sync() { return ok_status(); }

Result<TableSpec> parse_table_spec(std::string_view spec, std::string_view default_type) {
    std::string_view s = util::trim(spec);
    if (s.empty()) return make_error("empty table name");
    size_t colon = s.find(':');
    // A ':' after '/' or '{' belongs to the name ("/a:b" is a file).
    size_t slash = s.find_first_of("/{");
    if (colon == std::string_view::npos || (slash != std::string_view::npos && slash < colon)) {
        if (default_type.empty()) return make_error(format("table \"%.*s\": need type:name", int(s.size()), s.data()));
        return TableSpec{std::string(default_type), std::string(s)};
    }
    TableSpec t{std::string(s.substr(0, colon)), std::string(s.substr(colon + 1))};
    if (t.type.empty()) return make_error(format("table \"%.*s\": empty type", int(s.size()), s.data()));
    return t;
}

Result<TablePtr> open_table(const TableSpec& spec, const OpenOptions& options) {
    TableFactory factory;
    {
        Registry& r = registry();
        std::lock_guard<std::mutex> lock(r.mu);
        auto it = r.factories.find(spec.type);
        if (it == r.factories.end()) {
            return make_error(format("unsupported dictionary type: %s", spec.type.c_str()));
        }
        factory = it->second;
    }
    return factory(spec.name, options);
}

Result<TablePtr> open_table(std::string_view spec, const OpenOptions& options) {
    Result<TableSpec> s = parse_table_spec(spec);
    if (!s) return s.error();
    return open_table(*s, options);
}

void register_table_type(const std::string& type, TableFactory factory, bool may_block) {
    Registry& r = registry();
    std::lock_guard<std::mutex> lock(r.mu);
    r.factories[type] = std::move(factory);
    if (may_block) r.blocking.insert(type);
    else r.blocking.erase(type);
}

bool spec_may_block(std::string_view spec) {
    Result<TableSpec> s = parse_table_spec(spec);
    if (!s) return false;
    if (s->type == "proxy") return spec_may_block(s->name);
    if (s->type == "unionmap" || s->type == "pipemap") {
        std::string err;
        for (const std::string& member : split_brace_list(util::trim(s->name), &err)) {
            if (spec_may_block(member)) return true;
        }
        return false;
    }
    Registry& r = registry();
    std::lock_guard<std::mutex> lock(r.mu);
    return r.blocking.count(s->type) > 0;
}

std::vector<std::string> table_types() {
    Registry& r = registry();
    std::lock_guard<std::mutex> lock(r.mu);
    std::vector<std::string> out;
    for (const auto& [name, f] : r.factories) out.push_back(name);
    return out;  // std::map keeps them sorted
}

FileStamp::FileStamp(std::string path) : path_(std::move(path)) {
    struct stat st;
    if (::stat(path_.c_str(), &st) == 0) {
        existed_ = true;
        dev_ = st.st_dev;
        ino_ = st.st_ino;
        size_ = st.st_size;
        mtime_ = st.st_mtim;
    }
}

bool FileStamp::changed() const {
    if (path_.empty()) return false;
    struct stat st;
    if (::stat(path_.c_str(), &st) != 0) return existed_;
    if (!existed_) return true;
    return st.st_dev != dev_ || st.st_ino != ino_ || st.st_size != size_ || st.st_mtim.tv_sec != mtime_.tv_sec ||
           st.st_mtim.tv_nsec != mtime_.tv_nsec;
}

}  // namespace mailroom::table
