// config.cc - see config.h.
#include "lib/config/config.h"

#include <cctype>
#include <cstdlib>
#include <set>

#include "lib/config/config_snapshot.h"
#include "lib/config/expand.h"
#include "lib/config/params.h"
#include "lib/log/log.h"
#include "lib/util/fs.h"
#include "lib/util/strings.h"
#include "mailroom/build_paths.h"

namespace mailroom::config {

using util::format;

std::string default_config_directory() { return MAILROOM_CONFIG_DIR; }

std::string resolve_config_directory(const std::string& dash_c) {
    if (!dash_c.empty()) return dash_c;
    const char* env = std::getenv("MAIL_CONFIG");
    if (env && *env) return env;
    return default_config_directory();
}

Result<Config> Config::from_text(std::string_view text, const std::string& config_dir,
                                 std::vector<std::string>* warnings) {
    Config c;
    c.config_dir_ = config_dir;
    c.main_cf_path_ = config_dir + "/main.cf";
    Result<MainCfFile> parsed = parse_main_cf(text, c.main_cf_path_);
    if (!parsed) return parsed.error();
    if (warnings) warnings->insert(warnings->end(), parsed->warnings.begin(), parsed->warnings.end());
    c.entries_ = std::move(parsed->entries);
    c.main_cf_text_ = std::string(text);
    for (const MainCfEntry& e : c.entries_) c.main_[e.name] = e.value;
    return c;
}

Result<Config> Config::load(const std::string& config_dir, std::vector<std::string>* warnings) {
    Result<std::string> text = util::read_file(config_dir + "/main.cf");
    if (!text) return text.error();
    return from_text(*text, config_dir, warnings);
}

Result<Config> Config::from_snapshot(std::string_view snapshot, const std::string& config_dir) {
    Result<SnapshotText> text = decode_snapshot(snapshot);
    if (!text) return text.error();
    Result<Config> c = from_text(text->main_cf, config_dir);
    if (!c) return c.error();
    c->master_cf_text_ = std::move(text->master_cf);
    return c;
}

std::string Config::snapshot() const { return encode_snapshot(SnapshotText{main_cf_text_, master_cf_text_}); }

void Config::set_override(const std::string& name, const std::string& value) { overrides_[name] = value; }

Status Config::set_override_text(std::string_view nv) {
    size_t eq = nv.find('=');
    if (eq == std::string_view::npos) {
        return make_error(format("missing '=' in parameter setting: \"%.*s\"", static_cast<int>(nv.size()),
                                 nv.data()));
    }
    std::string name(util::trim(nv.substr(0, eq)));
    if (!valid_param_name(name)) {
        return make_error(format("bad parameter name: \"%s\"", name.c_str()));
    }
    set_override(name, std::string(util::trim(nv.substr(eq + 1))));
    return ok_status();
}

namespace {
std::string effective_for_default(const void* ctx, std::string_view name) {
    const Config* c = static_cast<const Config*>(ctx);
    Result<std::string> r = c->get(name);
    return r ? *r : std::string();
}
}  // namespace

std::optional<std::string> Config::raw(std::string_view name) const {
    if (auto it = overrides_.find(name); it != overrides_.end()) return it->second;
    if (auto it = main_.find(name); it != main_.end()) return it->second;
    if (name == "config_directory" && !config_dir_.empty()) return config_dir_;
    if (const ParamSpec* p = find_param(name)) return default_value(*p, &effective_for_default, this);
    for (const ServiceParam& p : service_parameters())
        if (p.name == name) return "$" + p.default_param;
    return std::nullopt;
}

std::optional<std::string> Config::override_value(std::string_view name) const {
    if (auto it = overrides_.find(name); it != overrides_.end()) return it->second;
    return std::nullopt;
}

std::optional<std::string> Config::main_cf_value(std::string_view name) const {
    if (auto it = main_.find(name); it != main_.end()) return it->second;
    return std::nullopt;
}

bool Config::known(std::string_view name) const { return spec(name) != nullptr; }

const ParamSpec* Config::spec(std::string_view name) const {
    if (const ParamSpec* p = find_param(name)) return p;
    for (const ServiceParam& p : service_parameters())
        if (p.name == name) return find_param(p.default_param);
    return nullptr;
}

Result<std::string> Config::get(std::string_view name) const {
    return expand_param(name, [this](std::string_view n) { return raw(n); });
}

namespace {
const ParamSpec& spec_or_panic(const Config& config, std::string_view name) {
    const ParamSpec* p = config.spec(name);
    if (!p) log::panic("unknown parameter requested: %.*s", static_cast<int>(name.size()), name.data());
    return *p;
}
}  // namespace

Result<long long> Config::get_int(std::string_view name) const {
    const ParamSpec& spec = spec_or_panic(*this, name);
    Result<std::string> v = get(name);
    if (!v) return v.error();
    return parse_int_param(name, *v, &spec);
}

Result<long long> Config::get_size(std::string_view name) const { return get_int(name); }

Result<bool> Config::get_bool(std::string_view name) const {
    spec_or_panic(*this, name);
    Result<std::string> v = get(name);
    if (!v) return v.error();
    return parse_bool_param(name, *v);
}

Result<long long> Config::get_time(std::string_view name) const {
    const ParamSpec& spec = spec_or_panic(*this, name);
    Result<std::string> v = get(name);
    if (!v) return v.error();
    return parse_time_param(name, *v, spec.time_unit, &spec);
}

Result<std::vector<std::string>> Config::get_list(std::string_view name) const {
    Result<std::string> v = get(name);
    if (!v) return v.error();
    return util::split_list(*v);
}

Status Config::load_master_cf() {
    std::string path = config_dir_ + "/master.cf";
    if (!master_cf_text_) {
        Result<std::string> text = util::read_file(path);
        if (!text) return text.error();
        master_cf_text_ = std::move(*text);
    }
    Result<std::vector<MasterService>> s = parse_master_cf(*master_cf_text_, path);
    if (!s) return s.error();
    services_ = std::move(*s);
    return ok_status();
}

std::vector<std::string> Config::unused_parameter_warnings() const {
    // Names referenced as $name / ${name...} by any main.cf or -o value count
    // as used: administrators define helper parameters that way.
    std::set<std::string, std::less<>> referenced;
    auto scan_refs = [&](const std::string& v) {
        for (size_t i = 0; i + 1 < v.size(); ++i) {
            if (v[i] != '$') continue;
            size_t j = i + 1;
            if (v[j] == '{' || v[j] == '(') ++j;
            size_t k = j;
            while (k < v.size() && (std::isalnum(static_cast<unsigned char>(v[k])) || v[k] == '_')) ++k;
            if (k > j) referenced.insert(v.substr(j, k - j));
        }
    };
    for (const MainCfEntry& e : entries_) scan_refs(e.value);
    for (const auto& [n, v] : overrides_) scan_refs(v);
    for (const MasterService& s : services_) {
        for (const auto& [n, v] : s.overrides) scan_refs(v);
    }
    // A restriction class is a parameter that smtpd_restriction_classes names.
    if (auto classes = get_list("smtpd_restriction_classes"); classes)
        for (std::string& c : *classes) referenced.insert(std::move(c));
    std::vector<std::string> out;
    std::set<std::string> reported;
    for (const MainCfEntry& e : entries_) {
        if (known(e.name) || referenced.count(e.name) || reported.count(e.name)) continue;
        reported.insert(e.name);
        if (const char* note = unsupported_param_note(e.name)) {
            out.push_back(format("%s, line %d: %s=%s: %s", main_cf_path_.c_str(), e.line, e.name.c_str(),
                                 e.value.c_str(), note));
            continue;
        }
        out.push_back(format("%s, line %d: unused parameter: %s=%s", main_cf_path_.c_str(), e.line, e.name.c_str(),
                             e.value.c_str()));
    }
    return out;
}

}  // namespace mailroom::config
