// postmap_core.cc - postmap, postalias and newaliases (see postmap_core.h).
//
// Description
//   run() parses the options, loads the configuration (-c, MAIL_CONFIG or the
//   compiled-in directory; a missing main.cf means "all defaults"), then does
//   one of: query, delete, dump, incremental add, or rebuild, for each map
//   operand in order.
//
// Diagnostics
//   "postmap: warning: FILE, line N: ..." for malformed source lines;
//   "postmap: fatal: ..." for usage, configuration and table errors.
#include "postmap/postmap_core.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <map>
#include <set>

#include "lib/config/config.h"
#include "lib/log/log.h"
#include "lib/table/db_table.h"
#include "lib/util/fs.h"
#include "lib/util/strings.h"

namespace mailroom::postmap {

using table::DupMode;
using table::NullMode;
using table::TableSpec;
using util::format;

namespace {

constexpr int kExitFound = 0;
constexpr int kExitNotFound = 1;
constexpr int kExitTableError = 2;

// A key and its value as -s and "-q -" print them: postmap "key<TAB>value",
// postalias "key:<TAB>value" (Postfix's formats).
void print_pair(Flavor f, std::string_view k, std::string_view v) {
    std::printf(f == Flavor::kPostalias ? "%.*s:\t%.*s\n" : "%.*s\t%.*s\n", int(k.size()), k.data(), int(v.size()),
                v.data());
}

const char* program_name(Flavor f) { return f == Flavor::kPostalias ? "postalias" : "postmap"; }

[[noreturn]] void die(int code, const std::string& text) {
    log::emit(log::Level::kFatal, text);
    std::exit(code);
}

std::string usage(Flavor f) {
    return format("usage: %s [-Nfinrsvw] [-c config_dir] [-d key] [-q key] [-o name=value] [type:]file...",
                  program_name(f));
}

table::OpenOptions open_options(const Options& o) {
    table::OpenOptions t;
    t.fold_case = o.fold_case;
    t.null_mode = o.null_mode;
    return t;
}

bool indexed(const std::string& type) { return type == "hash" || type == "btree"; }

// Reads standard input line by line with a length bound.
bool read_stdin_line(std::string* line) {
    line->clear();
    int c;
    bool any = false;
    while ((c = std::getchar()) != EOF) {
        any = true;
        if (c == '\n') return true;
        if (line->size() < table::kMaxLineLength) line->push_back(static_cast<char>(c));
    }
    return any;
}

// The key of a "-q -" / "-d -" input line: the first field (postalias: the
// name before ':').
std::string stdin_key(Flavor f, std::string_view line) {
    std::string_view t = util::trim(line);
    if (t.empty() || t[0] == '#') return "";
    std::string err;
    if (f == Flavor::kPostalias && t.find(':') != std::string_view::npos) {
        table::TextEntry e = table::parse_alias_line(t, &err);
        if (!e.key.empty()) return e.key;
    }
    size_t end = 0;
    while (end < t.size() && !util::is_space(t[end])) ++end;
    return std::string(t.substr(0, end));
}

Result<config::Config> load_config(const Options& o) {
    std::string dir = config::resolve_config_directory(o.config_dir);
    Result<config::Config> cfg = util::path_exists(dir + "/main.cf") ? config::Config::load(dir)
                                                                      : config::Config::from_text("", dir);
    if (!cfg) return cfg.error();
    for (const std::string& nv : o.overrides) {
        if (Status s = cfg->set_override_text(nv); !s) return s.error();
    }
    return cfg;
}

Result<TableSpec> spec_of(const std::string& operand, const config::Config& cfg) {
    Result<std::string> def = cfg.get("default_database_type");
    return table::parse_table_spec(operand, def ? *def : std::string("hash"));
}

int do_query(const Options& o, const std::vector<TableSpec>& specs) {
    std::vector<table::TablePtr> tables;
    for (const TableSpec& s : specs) {
        Result<table::TablePtr> t = table::open_table(s, open_options(o));
        if (!t) die(kExitTableError, format("open %s: %s", s.text().c_str(), t.error().message.c_str()));
        tables.push_back(std::move(*t));
    }
    auto search = [&](const std::string& key) -> std::optional<std::string> {
        for (auto& t : tables) {
            table::LookupResult r = t->lookup(key);
            if (!r) {
                std::fflush(stdout);
                die(kExitTableError, format("table %s: query error: %s", t->spec().c_str(), r.error().message.c_str()));
            }
            if (r->has_value()) return **r;
        }
        return std::nullopt;
    };
    if (*o.query != "-") {
        std::optional<std::string> v = search(*o.query);
        if (!v) return kExitNotFound;
        std::printf("%s\n", v->c_str());
        return kExitFound;
    }
    bool any = false;
    std::string line;
    while (read_stdin_line(&line)) {
        std::string key = stdin_key(o.flavor, line);
        if (key.empty()) continue;
        std::optional<std::string> v = search(key);
        if (!v) continue;
        any = true;
        print_pair(o.flavor, key, *v);
        std::fflush(stdout);  // answer each key at once when driven through a pipe
    }
    return any ? kExitFound : kExitNotFound;
}

int do_delete(const Options& o, const std::vector<TableSpec>& specs) {
    std::vector<std::string> keys;
    if (*o.remove == "-") {
        std::string line;
        while (read_stdin_line(&line)) {
            std::string k = stdin_key(o.flavor, line);
            if (!k.empty()) keys.push_back(k);
        }
    } else {
        keys.push_back(*o.remove);
    }
    bool any = false;
    for (const TableSpec& s : specs) {
        table::OpenOptions opt = open_options(o);
        opt.for_update = true;
        Result<table::TablePtr> t = table::open_table(s, opt);
        if (!t) die(kExitTableError, format("open %s: %s", s.text().c_str(), t.error().message.c_str()));
        for (const std::string& k : keys) {
            Result<bool> r = (*t)->remove(k);
            if (!r) die(kExitTableError, format("table %s: delete error: %s", s.text().c_str(), r.error().message.c_str()));
            any = any || *r;
        }
        if (Status st = (*t)->sync(); !st) die(kExitTableError, st.error().message);
    }
    return any ? kExitFound : kExitNotFound;
}

int do_dump(const Options& o, const std::vector<TableSpec>& specs) {
    for (const TableSpec& s : specs) {
        Result<table::TablePtr> t = table::open_table(s, open_options(o));
        if (!t) die(kExitTableError, format("open %s: %s", s.text().c_str(), t.error().message.c_str()));
        Status st = (*t)->for_each([&](std::string_view k, std::string_view v) {
            print_pair(o.flavor, k, v);
        });
        if (!st) die(kExitTableError, format("table %s: %s", s.text().c_str(), st.error().message.c_str()));
    }
    return 0;
}

int do_incremental(const Options& o, const std::vector<TableSpec>& specs) {
    std::string text;
    std::string line;
    while (read_stdin_line(&line)) {
        text += line;
        text += '\n';
    }
    table::TextParse p = o.flavor == Flavor::kPostalias ? table::parse_alias_source(text, "stdin")
                                                        : table::parse_map_source(text, "stdin");
    for (const std::string& w : p.warnings) log::warn("%s", w.c_str());
    std::vector<std::string> warnings;
    auto entries = collect_entries(p, o.fold_case, o.dup_mode, "stdin", &warnings);
    for (const std::string& w : warnings) log::warn("%s", w.c_str());
    for (const TableSpec& s : specs) {
        if (!indexed(s.type)) die(1, format("unsupported table type for update: %s", s.type.c_str()));
        table::OpenOptions opt = open_options(o);
        opt.for_update = true;
        opt.create = true;
        Result<table::TablePtr> t = table::open_table(s, opt);
        if (!t) die(1, format("open %s: %s", s.text().c_str(), t.error().message.c_str()));
        for (const auto& [k, v] : entries) {
            if (o.dup_mode != DupMode::kReplace) {
                table::LookupResult old = (*t)->lookup(k);
                if (old && old->has_value()) {
                    if (o.dup_mode == DupMode::kWarn) {
                        log::warn("%s: duplicate entry: \"%s\"", s.text().c_str(), log::log_printable(k).c_str());
                    }
                    continue;
                }
            }
            if (Status st = (*t)->update(k, v); !st) die(1, st.error().message);
        }
        if (Status st = (*t)->sync(); !st) die(1, st.error().message);
    }
    return 0;
}

}  // namespace

Result<Options> parse_args(Flavor flavor, const std::vector<std::string>& args) {
    Options o;
    o.flavor = flavor;
    for (size_t i = 0; i < args.size(); ++i) {
        const std::string& a = args[i];
        if (a.size() < 2 || a[0] != '-') {
            o.maps.push_back(a);
            continue;
        }
        if (a == "--") {
            for (++i; i < args.size(); ++i) o.maps.push_back(args[i]);
            break;
        }
        for (size_t j = 1; j < a.size(); ++j) {
            char c = a[j];
            auto value = [&]() -> std::optional<std::string> {
                if (j + 1 < a.size()) {
                    std::string v = a.substr(j + 1);
                    j = a.size();
                    return v;
                }
                if (i + 1 < args.size()) {
                    j = a.size();
                    return args[++i];
                }
                return std::nullopt;
            };
            switch (c) {
                case 'N': o.null_mode = NullMode::kWithNull; break;
                case 'n': o.null_mode = NullMode::kNoNull; break;
                case 'f': o.fold_case = false; break;
                case 'i': o.incremental = true; break;
                case 'r': o.dup_mode = DupMode::kReplace; break;
                case 'w': o.dup_mode = DupMode::kIgnore; break;
                case 's': o.dump = true; break;
                case 'v': ++o.verbose; break;
                case 'c':
                case 'q':
                case 'd':
                case 'o': {
                    std::optional<std::string> v = value();
                    if (!v) return make_error(format("option requires an argument -- '%c'", c));
                    if (c == 'c') o.config_dir = *v;
                    if (c == 'q') o.query = *v;
                    if (c == 'd') o.remove = *v;
                    if (c == 'o') o.overrides.push_back(*v);
                    break;
                }
                default: return make_error(format("invalid option -- '%c'", c));
            }
        }
    }
    int modes = (o.query ? 1 : 0) + (o.remove ? 1 : 0) + (o.dump ? 1 : 0) + (o.incremental ? 1 : 0);
    if (modes > 1) return make_error("options -q, -d, -s and -i are mutually exclusive");
    if (o.maps.empty()) return make_error("missing table name");
    return o;
}

std::vector<std::pair<std::string, std::string>> collect_entries(const table::TextParse& parse, bool fold_case,
                                                                 DupMode dup, const std::string& filename,
                                                                 std::vector<std::string>* warnings) {
    std::vector<std::pair<std::string, std::string>> out;
    std::map<std::string, size_t> index;
    for (const table::TextEntry& e : parse.entries) {
        std::string key = fold_case ? util::lowercase(e.key) : e.key;
        auto it = index.find(key);
        if (it != index.end()) {
            if (dup == DupMode::kReplace) {
                out[it->second].second = e.value;
            } else if (dup == DupMode::kWarn && warnings) {
                warnings->push_back(format("%s, line %d: duplicate entry: \"%s\"", filename.c_str(), e.line,
                                           log::log_printable(key).c_str()));
            }
            continue;
        }
        index.emplace(key, out.size());
        out.emplace_back(std::move(key), e.value);
    }
    return out;
}

Status build_map(const TableSpec& spec, const Options& options, std::vector<std::string>* warnings) {
    if (!indexed(spec.type)) {
        return make_error(format("unsupported table type for building: %s (only hash and btree files are built)",
                                 spec.type.c_str()));
    }
    Result<std::string> text = util::read_file(spec.name);
    if (!text) return text.error();
    table::TextParse p = options.flavor == Flavor::kPostalias ? table::parse_alias_source(*text, spec.name)
                                                              : table::parse_map_source(*text, spec.name);
    for (std::string& w : p.warnings) warnings->push_back(std::move(w));
    auto entries = collect_entries(p, options.fold_case, options.dup_mode, spec.name, warnings);
    if (options.flavor == Flavor::kPostalias) {
        // Sendmail-compatible readers test for "@" to see a complete database.
        bool have_at = false;
        for (const auto& e : entries) have_at = have_at || e.first == "@";
        if (!have_at) entries.emplace_back("@", "@");
    }
    struct stat st;
    int mode = 0644;
    if (::stat(spec.name.c_str(), &st) == 0) mode = static_cast<int>((st.st_mode & 0044) | 0600);
    return table::build_indexed_table(spec, entries, options.null_mode, mode);
}

int run(Flavor flavor, int argc, char** argv) {
    log::init(program_name(flavor), true);
    std::vector<std::string> args(argv + 1, argv + argc);
    Result<Options> o = parse_args(flavor, args);
    if (!o) {
        log::emit(log::Level::kFatal, o.error().message);
        log::emit(log::Level::kFatal, usage(flavor));
        return 1;
    }
    log::set_verbose(o->verbose);
    Result<config::Config> cfg = load_config(*o);
    if (!cfg) die(1, cfg.error().message);
    std::vector<TableSpec> specs;
    for (const std::string& m : o->maps) {
        Result<TableSpec> s = spec_of(m, *cfg);
        if (!s) die(1, s.error().message);
        specs.push_back(*s);
    }
    if (o->query) return do_query(*o, specs);
    if (o->remove) return do_delete(*o, specs);
    if (o->dump) return do_dump(*o, specs);
    if (o->incremental) return do_incremental(*o, specs);
    for (const TableSpec& s : specs) {
        std::vector<std::string> warnings;
        Status st = build_map(s, *o, &warnings);
        for (const std::string& w : warnings) log::warn("%s", w.c_str());
        if (!st) die(1, st.error().message);
    }
    return 0;
}

int run_newaliases(int argc, char** argv) {
    log::init("newaliases", true);
    Options o;
    o.flavor = Flavor::kPostalias;
    // Sendmail-style options (-oA..., -bi) are accepted and ignored.
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "-c" && i + 1 < argc) {
            o.config_dir = argv[++i];
        } else if (a.rfind("-c", 0) == 0 && a.size() > 2) {
            o.config_dir = a.substr(2);
        } else if (a == "-v") {
            ++o.verbose;
        } else if (a == "-o" && i + 1 < argc) {
            std::string v = argv[++i];
            if (v.find('=') != std::string::npos) o.overrides.push_back(v);
        }
    }
    log::set_verbose(o.verbose);
    Result<config::Config> cfg = load_config(o);
    if (!cfg) die(1, cfg.error().message);
    Result<std::vector<std::string>> dbs = cfg->get_list("alias_database");
    if (!dbs) die(1, dbs.error().message);
    for (const std::string& item : *dbs) {
        Result<TableSpec> s = spec_of(item, *cfg);
        if (!s) die(1, s.error().message);
        if (!indexed(s->type)) {
            log::debug("skipping %s: not a hash: or btree: table", s->text().c_str());
            continue;
        }
        std::vector<std::string> warnings;
        Status st = build_map(*s, o, &warnings);
        for (const std::string& w : warnings) log::warn("%s", w.c_str());
        if (!st) die(1, st.error().message);
    }
    return 0;
}

}  // namespace mailroom::postmap
