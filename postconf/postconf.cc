// postconf.cc - see postconf.h.
#include "postconf/postconf.h"

#include <getopt.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "lib/config/config.h"
#include "lib/config/expand.h"
#include "lib/config/main_cf_edit.h"
#include "lib/config/master_cf.h"
#include "lib/config/params.h"
#include "lib/config/validate.h"
#include "lib/log/log.h"
#include "lib/table/table.h"
#include "lib/table/table_check.h"
#include "lib/util/fs.h"
#include "lib/util/strings.h"

namespace mailroom::postconf {
namespace {

using config::Config;
using util::format;

struct Options {
    std::string config_dir;
    std::vector<std::string> overrides;  // -o name=value
    bool defaults = false;               // -d
    bool non_default = false;            // -n
    bool values_only = false;            // -h
    bool names_only = false;             // -H
    bool expand = false;                 // -x
    bool edit = false;                   // -e
    bool remove = false;                 // -X
    bool comment = false;                // -#
    bool master = false;                 // -M
    bool table_types = false;            // -m
    bool sasl_server = false;            // -a
    bool sasl_client = false;            // -A
    std::vector<std::string> args;
};

const char kUsage[] =
    "usage: postconf [-dhHnx] [-c config_dir] [-o name=value] [parameter ...]\n"
    "       postconf [-e] [-c config_dir] parameter=value ...\n"
    "       postconf -X|-# [-c config_dir] parameter ...\n"
    "       postconf -M [-x] [-c config_dir] [service[/type] ...]\n"
    "       postconf -Me [-c config_dir] service/type=entry ...\n"
    "       postconf -MX|-M# [-c config_dir] service/type ...\n"
    "       postconf -a|-A|-m\n";

[[noreturn]] void usage() {
    std::fputs(kUsage, stderr);
    log::fatal("invalid combination of options and arguments");
}

std::string show_line(const std::string& name, const std::string& value, const Options& o) {
    if (o.names_only) return name;
    if (o.values_only) return value;
    return name + " =" + (value.empty() ? "" : " ") + value;
}

// Expands `value` in the context of `cfg` when -x was given.
std::string maybe_expand(const Config& cfg, const std::string& value, const Options& o) {
    if (!o.expand) return value;
    Result<std::string> r = config::expand_value(value, [&cfg](std::string_view n) { return cfg.raw(n); });
    if (!r) log::fatal("%s", r.error().message.c_str());
    return *r;
}

Config load_config(const Options& o, bool require_main_cf) {
    std::vector<std::string> warnings;
    Result<Config> cfg = Config::load(o.config_dir, &warnings);
    if (!cfg) {
        if (require_main_cf || util::path_exists(o.config_dir + "/main.cf")) log::fatal("%s", cfg.error().message.c_str());
        // No main.cf: defaults only (postconf -d works on a bare directory).
        cfg = Config::from_text("", o.config_dir);
    }
    for (const std::string& w : warnings) log::warn("%s", w.c_str());
    for (const std::string& nv : o.overrides) {
        Status s = cfg->set_override_text(nv);
        if (!s) log::fatal("-o %s: %s", nv.c_str(), s.error().message.c_str());
    }
    return std::move(*cfg);
}

void warn_unused(Config& cfg) {
    // master.cf -o values may use main.cf helper parameters; read it when present.
    if (util::path_exists(cfg.config_dir() + "/master.cf")) (void)cfg.load_master_cf();
    for (const std::string& w : cfg.unused_parameter_warnings()) log::warn("%s", w.c_str());
    // Values that do not fit their parameter's type: the daemons and
    // `mailroom reload` would refuse them (lib/config/validate.h).
    (void)table::log_invalid_values(cfg, log::Level::kWarning);
}

int show_parameters(const Options& o, std::ostream& out) {
    Config cfg = load_config(o, false);
    // master.cf names the service-defined parameters (maildrop_destination_recipient_limit).
    if (util::path_exists(cfg.config_dir() + "/master.cf")) (void)cfg.load_master_cf();
    if (!o.defaults) warn_unused(cfg);

    // Which names, in which order.
    std::vector<std::string> names;
    if (!o.args.empty()) {
        names = o.args;
    } else if (o.non_default && !o.defaults) {
        std::set<std::string> set;
        for (const auto& e : cfg.main_cf_entries()) set.insert(e.name);
        names.assign(set.begin(), set.end());
    } else {
        std::set<std::string> set;
        for (const auto& p : config::param_table()) set.insert(p.name);
        for (const auto& p : cfg.service_parameters()) set.insert(p.name);
        if (!o.defaults) {
            for (const auto& e : cfg.main_cf_entries()) set.insert(e.name);
        }
        names.assign(set.begin(), set.end());
    }

    Config defaults_only = Config::from_text("", o.config_dir).value();
    defaults_only.set_services(cfg.services());
    for (const std::string& name : names) {
        std::optional<std::string> value;
        if (o.defaults) {
            value = defaults_only.raw(name);
            if (const config::ParamSpec* spec = config::find_param(name)) value = config::default_value(*spec);
        } else if (o.non_default) {
            value = cfg.main_cf_value(name);
            if (!value && !o.args.empty()) continue;  // named but not set: nothing to show
        } else {
            value = cfg.raw(name);
        }
        if (!value) {
            log::warn("%s: unknown parameter", name.c_str());
            continue;
        }
        if (o.expand) {
            // Expand as the parameter itself, so a loop is reported from its start.
            Result<std::string> r = (o.defaults ? defaults_only : cfg).get(name);
            if (!r) log::fatal("%s", r.error().message.c_str());
            value = *r;
        }
        out << show_line(name, *value, o) << "\n";
    }
    return 0;
}

int edit_parameters(const Options& o) {
    std::string path = o.config_dir + "/main.cf";
    Result<std::string> text = util::read_file(path);
    if (!text) log::fatal("%s", text.error().message.c_str());
    config::MainCfEdit edit;
    Config names = Config::from_text("", o.config_dir).value();
    if (util::path_exists(o.config_dir + "/master.cf")) (void)names.load_master_cf();
    for (const std::string& arg : o.args) {
        if (o.edit) {
            size_t eq = arg.find('=');
            if (eq == std::string::npos) log::fatal("missing '=' in parameter setting: \"%s\"", arg.c_str());
            std::string name(util::trim(std::string_view(arg).substr(0, eq)));
            std::string value(util::trim(std::string_view(arg).substr(eq + 1)));
            if (!config::valid_param_name(name)) log::fatal("bad parameter name: \"%s\"", name.c_str());
            if (value.find('\n') != std::string::npos) log::fatal("%s: value must not contain a newline", name.c_str());
            if (const char* note = config::unsupported_param_note(name)) {
                log::warn("%s: %s", name.c_str(), note);
            } else if (!names.known(name)) {
                log::warn("%s: unknown parameter", name.c_str());
            }
            edit.set.emplace_back(std::move(name), std::move(value));
        } else {
            if (!config::valid_param_name(arg)) log::fatal("bad parameter name: \"%s\"", arg.c_str());
            (o.remove ? edit.remove : edit.comment_out).push_back(arg);
        }
    }
    std::vector<std::string> warnings;
    std::string updated = config::edit_main_cf(*text, edit, path, &warnings);
    for (const std::string& w : warnings) log::warn("%s", w.c_str());
    // Never write a file that no longer parses.
    Result<config::MainCfFile> check = config::parse_main_cf(updated, path);
    if (!check) log::fatal("refusing to write %s: %s", path.c_str(), check.error().message.c_str());
    if (updated == *text) return 0;
    Status s = util::write_file_atomic(path, updated);
    if (!s) log::fatal("%s", s.error().message.c_str());
    return 0;
}

int show_master(const Options& o, std::ostream& out) {
    std::string path = o.config_dir + "/master.cf";
    Result<std::string> text = util::read_file(path);
    if (!text) log::fatal("%s", text.error().message.c_str());
    Result<std::vector<config::MasterService>> services = config::parse_master_cf(*text, path);
    if (!services) log::fatal("%s", services.error().message.c_str());
    Config cfg = o.expand ? load_config(o, false) : Config();
    std::set<std::string> matched;
    for (const config::MasterService& s : *services) {
        bool want = o.args.empty();
        for (const std::string& a : o.args) {
            if (a == s.name || a == s.key()) {
                want = true;
                matched.insert(a);
            }
        }
        if (!want) continue;
        std::string line = config::format_master_entry(s);
        out << maybe_expand(cfg, line, o) << "\n";
    }
    for (const std::string& a : o.args) {
        if (!matched.count(a)) log::warn("%s: no such service in %s", a.c_str(), path.c_str());
    }
    return 0;
}

// "service/type" with both parts non-empty.
bool valid_service_key(const std::string& k) {
    size_t slash = k.find('/');
    return slash != std::string::npos && slash > 0 && slash + 1 < k.size() && k.find('/', slash + 1) == std::string::npos;
}

int edit_master(const Options& o) {
    std::string path = o.config_dir + "/master.cf";
    Result<std::string> text = util::read_file(path);
    if (!text) log::fatal("%s", text.error().message.c_str());
    config::MasterCfEdit edit;
    for (const std::string& arg : o.args) {
        if (o.edit) {
            size_t eq = arg.find('=');
            if (eq == std::string::npos) log::fatal("missing '=' in service setting: \"%s\"", arg.c_str());
            std::string key(util::trim(std::string_view(arg).substr(0, eq)));
            std::string entry(util::trim(std::string_view(arg).substr(eq + 1)));
            if (!valid_service_key(key)) log::fatal("bad service name/type: \"%s\"", key.c_str());
            Result<std::vector<config::MasterService>> parsed = config::parse_master_cf(entry + "\n", "command line");
            if (!parsed) log::fatal("%s", parsed.error().message.c_str());
            if (parsed->size() != 1 || parsed->front().key() != key) {
                log::fatal("service name/type mismatch: \"%s\" versus \"%s\"", key.c_str(),
                           parsed->empty() ? "" : parsed->front().key().c_str());
            }
            edit.set.emplace_back(key, entry);
        } else {
            if (!valid_service_key(arg)) log::fatal("bad service name/type: \"%s\"", arg.c_str());
            (o.remove ? edit.remove : edit.comment_out).push_back(arg);
        }
    }
    std::vector<std::string> warnings;
    std::string updated = config::edit_master_cf(*text, edit, path, &warnings);
    for (const std::string& w : warnings) log::warn("%s", w.c_str());
    Result<std::vector<config::MasterService>> check = config::parse_master_cf(updated, path);
    if (!check) log::fatal("refusing to write %s: %s", path.c_str(), check.error().message.c_str());
    if (updated == *text) return 0;
    Status s = util::write_file_atomic(path, updated);
    if (!s) log::fatal("%s", s.error().message.c_str());
    return 0;
}

}  // namespace

int run_postconf(int argc, char** argv, std::ostream& out) {
    log::init("postconf", true);
    Options o;
    std::string dash_c;
    optind = 1;
    opterr = 0;
    int ch;
    while ((ch = ::getopt(argc, argv, "aAc:dehHmMno:vxX#")) != -1) {
        switch (ch) {
            case 'a':
                o.sasl_server = true;
                break;
            case 'A':
                o.sasl_client = true;
                break;
            case 'c':
                dash_c = optarg;
                break;
            case 'd':
                o.defaults = true;
                break;
            case 'e':
                o.edit = true;
                break;
            case 'h':
                o.values_only = true;
                break;
            case 'H':
                o.names_only = true;
                break;
            case 'm':
                o.table_types = true;
                break;
            case 'M':
                o.master = true;
                break;
            case 'n':
                o.non_default = true;
                break;
            case 'o':
                o.overrides.emplace_back(optarg);
                break;
            case 'v':
                log::set_verbose(log::verbose() + 1);
                break;
            case 'x':
                o.expand = true;
                break;
            case 'X':
                o.remove = true;
                break;
            case '#':
                o.comment = true;
                break;
            default:
                std::fputs(kUsage, stderr);
                log::fatal("invalid option: -%c", optopt ? optopt : '?');
        }
    }
    for (int i = optind; i < argc; ++i) o.args.emplace_back(argv[i]);
    o.config_dir = config::resolve_config_directory(dash_c);

    int modes = o.edit + o.remove + o.comment;
    if (modes > 1) usage();
    if (o.table_types + o.sasl_server + o.sasl_client > 1) usage();

    if (o.table_types) {
        for (const std::string& t : table::table_types()) out << t << "\n";
        return 0;
    }
    if (o.sasl_server || o.sasl_client) {
        // Cyrus SASL is a required part of every build (CMake checks
        // libsasl2); the SMTP server can also ask authd directly.
        out << "cyrus\n";
        if (o.sasl_server) out << "authd\n";
        return 0;
    }
    if (o.master) {
        if (modes) {
            if (o.args.empty()) usage();
            return edit_master(o);
        }
        return show_master(o, out);
    }
    // A bare "name=value" argument is an edit, as in Postfix 2.8 and later.
    if (!modes && !o.args.empty() &&
        std::all_of(o.args.begin(), o.args.end(), [](const std::string& a) { return a.find('=') != std::string::npos; })) {
        o.edit = true;
        modes = 1;
    }
    if (modes) {
        if (o.args.empty()) usage();
        return edit_parameters(o);
    }
    return show_parameters(o, out);
}

}  // namespace mailroom::postconf
