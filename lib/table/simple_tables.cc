// simple_tables.cc - texthash, inline, static, fail, environ, unionmap and
// pipemap tables.
//
// Description
//   texthash:FILE reads a postmap-format file into memory (no .db needed);
//   inline:{ k=v, { k = v with spaces } } holds its entries in the name;
//   static:VALUE (or static:{ text }) answers every key with VALUE;
//   fail:NAME answers every key with a temporary error; environ: looks the
//   key up as an environment variable; unionmap:{t1, t2} joins the results
//   of all tables with commas; pipemap:{t1, t2} feeds each table's result to
//   the next as its key. A temporary error from a member table stops
//   unionmap and pipemap and is returned as is.
//   proxy:TYPE:NAME opens TYPE:NAME in the calling process (there is no
//   proxymap daemon; the answers are the same). unix:passwd.byname and
//   unix:group.byname answer with the passwd/group line of a user or group
//   ("name:x:uid:gid:gecos:home:shell", "name:x:gid:member,member").
#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <map>

#include "lib/log/log.h"
#include "lib/table/backends.h"
#include "lib/table/table_text.h"
#include "lib/util/fs.h"
#include "lib/util/strings.h"

namespace mailroom::table::detail {

using util::format;

namespace {

// In-memory fixed-string table (texthash, inline).
class MemoryTable : public Table {
public:
    MemoryTable(std::string type, std::string name, bool fold, std::string stamp_path)
        : Table(std::move(type), std::move(name)), fold_(fold), stamp_(std::move(stamp_path)) {}

    void add(std::string key, std::string value) {
        if (fold_) key = util::lowercase(key);
        entries_.emplace(std::move(key), std::move(value));  // first one wins
    }

    LookupResult lookup(std::string_view key) override {
        auto it = fold_ ? entries_.find(util::lowercase(key)) : entries_.find(std::string(key));
        if (it == entries_.end()) return std::optional<std::string>();
        return std::optional<std::string>(it->second);
    }

    bool changed() const override { return stamp_.changed(); }

    Status for_each(const std::function<void(std::string_view, std::string_view)>& fn) override {
        for (const auto& [k, v] : entries_) fn(k, v);
        return ok_status();
    }

private:
    bool fold_;
    FileStamp stamp_;
    std::map<std::string, std::string> entries_;
};

class StaticTable : public Table {
public:
    StaticTable(std::string name, std::string value) : Table("static", std::move(name)), value_(std::move(value)) {}
    LookupResult lookup(std::string_view) override { return std::optional<std::string>(value_); }

private:
    std::string value_;
};

class FailTable : public Table {
public:
    explicit FailTable(std::string name) : Table("fail", std::move(name)) {}
    LookupResult lookup(std::string_view) override {
        return make_temp_error(format("fail:%s: table lookup failed", name().c_str()));
    }
};

class EnvironTable : public Table {
public:
    explicit EnvironTable(std::string name) : Table("environ", std::move(name)) {}
    LookupResult lookup(std::string_view key) override {
        const char* v = std::getenv(std::string(key).c_str());
        if (v == nullptr) return std::optional<std::string>();
        return std::optional<std::string>(std::string(v));
    }
};

class UnixTable : public Table {
public:
    UnixTable(std::string name, bool passwd) : Table("unix", std::move(name)), passwd_(passwd) {}

    LookupResult lookup(std::string_view key) override {
        std::string k(key);
        std::vector<char> buf(16384);
        int rc;
        if (passwd_) {
            struct passwd pw;
            struct passwd* out = nullptr;
            while ((rc = ::getpwnam_r(k.c_str(), &pw, buf.data(), buf.size(), &out)) == ERANGE && buf.size() < (1u << 20)) {
                buf.resize(buf.size() * 2);
            }
            if (rc != 0) return make_temp_error(format("unix:%s: getpwnam_r: %s", name().c_str(), std::strerror(rc)));
            if (out == nullptr) return std::optional<std::string>();
            return std::optional<std::string>(format("%s:%s:%ld:%ld:%s:%s:%s", pw.pw_name, pw.pw_passwd,
                                                     static_cast<long>(pw.pw_uid), static_cast<long>(pw.pw_gid),
                                                     pw.pw_gecos, pw.pw_dir, pw.pw_shell));
        }
        struct group gr;
        struct group* out = nullptr;
        while ((rc = ::getgrnam_r(k.c_str(), &gr, buf.data(), buf.size(), &out)) == ERANGE && buf.size() < (1u << 20)) {
            buf.resize(buf.size() * 2);
        }
        if (rc != 0) return make_temp_error(format("unix:%s: getgrnam_r: %s", name().c_str(), std::strerror(rc)));
        if (out == nullptr) return std::optional<std::string>();
        std::string members;
        for (char** m = gr.gr_mem; m && *m; ++m) {
            if (!members.empty()) members += ",";
            members += *m;
        }
        return std::optional<std::string>(
            format("%s:%s:%ld:%s", gr.gr_name, gr.gr_passwd, static_cast<long>(gr.gr_gid), members.c_str()));
    }

private:
    bool passwd_;
};

class CompositeTable : public Table {
public:
    CompositeTable(std::string type, std::string name, std::vector<TablePtr> members)
        : Table(std::move(type), std::move(name)), members_(std::move(members)) {}

    LookupResult lookup(std::string_view key) override {
        return type() == "unionmap" ? lookup_union(key) : lookup_pipe(key);
    }
    bool changed() const override {
        for (const auto& m : members_) {
            if (m->changed()) return true;
        }
        return false;
    }
    bool may_block() const override {
        for (const auto& m : members_) {
            if (m->may_block()) return true;
        }
        return false;
    }

private:
    LookupResult lookup_union(std::string_view key) {
        std::optional<std::string> out;
        for (auto& m : members_) {
            LookupResult r = m->lookup(key);
            if (!r) return r.error();
            if (!r->has_value()) continue;
            if (out) {
                *out += ",";
                *out += **r;
            } else {
                out = **r;
            }
        }
        return out;
    }

    LookupResult lookup_pipe(std::string_view key) {
        std::string cur(key);
        for (auto& m : members_) {
            LookupResult r = m->lookup(cur);
            if (!r) return r.error();
            if (!r->has_value()) return std::optional<std::string>();
            cur = std::move(**r);
        }
        return std::optional<std::string>(cur);
    }

    std::vector<TablePtr> members_;
};

Result<TablePtr> open_composite(const std::string& type, const std::string& name, const OpenOptions& options) {
    std::string_view t = util::trim(name);
    if (t.empty() || t.front() != '{' || t.back() != '}') {
        return make_error(format("%s:%s: need %s:{type:name, ...}", type.c_str(), name.c_str(), type.c_str()));
    }
    std::string err;
    std::vector<std::string> items = split_brace_list(t, &err);
    if (!err.empty()) return make_error(format("%s:%s: %s", type.c_str(), name.c_str(), err.c_str()));
    if (items.empty()) return make_error(format("%s:%s: empty table list", type.c_str(), name.c_str()));
    std::vector<TablePtr> members;
    for (const std::string& item : items) {
        Result<TablePtr> m = open_table(item, options);
        if (!m) return m.error();
        members.push_back(std::move(*m));
    }
    return TablePtr(std::make_unique<CompositeTable>(type, name, std::move(members)));
}

}  // namespace

Result<TablePtr> open_texthash(const std::string& name, const OpenOptions& options) {
    if (name.empty()) return make_error("texthash: missing file name");
    FileStamp stamp(name);  // taken before the read, so a racing edit shows up
    Result<std::string> text = util::read_file(name);
    if (!text) return text.error();
    TextParse p = parse_map_source(*text, name);
    // Malformed lines are skipped with the same warnings postmap gives.
    for (const std::string& w : p.warnings) log::warn("texthash map %s", w.c_str());
    auto t = std::make_unique<MemoryTable>("texthash", name, options.fold_case, name);
    for (TextEntry& e : p.entries) t->add(std::move(e.key), std::move(e.value));
    return TablePtr(std::move(t));
}

Result<TablePtr> open_inline(const std::string& name, const OpenOptions& options) {
    std::string_view t = util::trim(name);
    if (t.empty() || t.front() != '{' || t.back() != '}') {
        return make_error(format("inline:%s: need inline:{name=value, ...}", name.c_str()));
    }
    std::string err;
    std::vector<std::string> items = split_brace_list(t, &err);
    if (!err.empty()) return make_error(format("inline:%s: %s", name.c_str(), err.c_str()));
    auto table = std::make_unique<MemoryTable>("inline", name, options.fold_case, "");
    for (const std::string& item : items) {
        size_t eq = item.find('=');
        if (eq == std::string::npos) {
            return make_error(format("inline:%s: missing '=' after attribute name: \"%s\"", name.c_str(), item.c_str()));
        }
        std::string key(util::trim(std::string_view(item).substr(0, eq)));
        std::string value(util::trim(std::string_view(item).substr(eq + 1)));
        if (key.empty()) return make_error(format("inline:%s: empty key in \"%s\"", name.c_str(), item.c_str()));
        table->add(std::move(key), std::move(value));
    }
    return TablePtr(std::move(table));
}

Result<TablePtr> open_static(const std::string& name, const OpenOptions&) {
    std::string_view t = util::trim(name);
    std::string value = (!t.empty() && t.front() == '{') ? strip_braces(t) : std::string(name);
    if (!t.empty() && t.front() == '{' && t.back() != '}') {
        return make_error(format("static:%s: missing '}'", name.c_str()));
    }
    return TablePtr(std::make_unique<StaticTable>(name, std::move(value)));
}

Result<TablePtr> open_fail(const std::string& name, const OpenOptions&) {
    return TablePtr(std::make_unique<FailTable>(name));
}

Result<TablePtr> open_environ(const std::string& name, const OpenOptions&) {
    return TablePtr(std::make_unique<EnvironTable>(name));
}

Result<TablePtr> open_unionmap(const std::string& name, const OpenOptions& options) {
    return open_composite("unionmap", name, options);
}

Result<TablePtr> open_proxy(const std::string& name, const OpenOptions& options) {
    if (name.rfind("proxy:", 0) == 0) return make_error(format("proxy:%s: nested proxy table", name.c_str()));
    return open_table(name, options);
}

Result<TablePtr> open_unix(const std::string& name, const OpenOptions&) {
    if (name == "passwd.byname") return TablePtr(std::make_unique<UnixTable>(name, true));
    if (name == "group.byname") return TablePtr(std::make_unique<UnixTable>(name, false));
    return make_error(format("unix:%s: unknown table (use passwd.byname or group.byname)", name.c_str()));
}

Result<TablePtr> open_pipemap(const std::string& name, const OpenOptions& options) {
    return open_composite("pipemap", name, options);
}

}  // namespace mailroom::table::detail
