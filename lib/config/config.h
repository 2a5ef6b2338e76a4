// config.h - the effective configuration of one process.
//
// Summary
//   Config holds main.cf (read from the configuration directory), the
//   service's `-o name=value` overrides from master.cf or the command line,
//   and the defaults of params.h. Lookups return the expanded value; typed
//   getters convert with Postfix's diagnostics. The configuration directory
//   comes from `-c DIR`, else $MAIL_CONFIG, else the compiled-in default.
//
// Description
//   Precedence: override > main.cf > default. `config_directory` always
//   reports the directory actually read. Unknown names in main.cf are kept
//   (postconf -n shows them) and reported by unused_parameter_warnings().
//   Getters for a name that is neither in the table nor set anywhere return
//   the empty string / an error; asking for an unknown name is the caller's
//   bug, so typed getters panic on it.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lib/config/main_cf.h"
#include "lib/config/master_cf.h"
#include "lib/config/params.h"
#include "lib/util/result.h"

namespace mailroom::config {

// The compiled-in default configuration directory.
std::string default_config_directory();
// -c DIR, else $MAIL_CONFIG, else the compiled-in default.
std::string resolve_config_directory(const std::string& dash_c);

class Config {
public:
    Config() = default;

    // Reads DIR/main.cf. A missing main.cf is an error; parse errors name the
    // file and line. Parse warnings are appended to `warnings` when given.
    static Result<Config> load(const std::string& config_dir, std::vector<std::string>* warnings = nullptr);
    // Builds a configuration from text (tests, or a main.cf already read).
    static Result<Config> from_text(std::string_view text, const std::string& config_dir,
                                    std::vector<std::string>* warnings = nullptr);

    // The configuration master accepted and handed down
    // (config_snapshot.h): main.cf, and master.cf for load_master_cf().
    // Messages still name the files in `config_dir`.
    static Result<Config> from_snapshot(std::string_view snapshot, const std::string& config_dir);
    // The snapshot of this configuration: the main.cf text it was read
    // from, and the master.cf text when load_master_cf() has read one.
    std::string snapshot() const;

    // `-o name=value` (a service's overrides, or a command's -o).
    void set_override(const std::string& name, const std::string& value);
    // Parses "name=value"; error when there is no '='.
    Status set_override_text(std::string_view name_equals_value);

    // Raw value: override, then main.cf, then default; nullopt when none.
    std::optional<std::string> raw(std::string_view name) const;
    // The value of a `-o name=value` override, if any.
    std::optional<std::string> override_value(std::string_view name) const;
    // The value explicitly set in main.cf (no default), if any.
    std::optional<std::string> main_cf_value(std::string_view name) const;
    // True for a parameter of the table, or a service-defined one of a
    // master.cf service once master.cf is loaded (params.h).
    bool known(std::string_view name) const;
    // The table row that types `name`: its own, or for a service-defined
    // parameter that of the built-in it stands in for; nullptr when unknown.
    const ParamSpec* spec(std::string_view name) const;

    // Expanded values.
    Result<std::string> get(std::string_view name) const;
    Result<long long> get_int(std::string_view name) const;
    Result<bool> get_bool(std::string_view name) const;
    Result<long long> get_time(std::string_view name) const;  // seconds
    Result<long long> get_size(std::string_view name) const;
    Result<std::vector<std::string>> get_list(std::string_view name) const;

    const std::string& config_dir() const { return config_dir_; }
    const std::string& main_cf_path() const { return main_cf_path_; }
    const std::vector<MainCfEntry>& main_cf_entries() const { return entries_; }

    // Services from DIR/master.cf, when it has been read (load_master_cf();
    // from the snapshot's master.cf when the configuration came from one).
    Status load_master_cf();
    const std::vector<MasterService>& services() const { return services_; }
    // Sets the services directly (tests, or a master.cf already parsed).
    void set_services(std::vector<MasterService> services) { services_ = std::move(services); }
    // The service-defined parameters of the loaded services.
    std::vector<ServiceParam> service_parameters() const { return config::service_parameters(services_); }

    // "FILE, line N: unused parameter: name=value" for every main.cf name
    // that is neither a known parameter nor a per-transport parameter of a
    // master.cf service, nor used as $name by another value.
    std::vector<std::string> unused_parameter_warnings() const;

private:
    std::string config_dir_;
    std::string main_cf_path_;
    std::vector<MainCfEntry> entries_;
    std::string main_cf_text_;
    std::optional<std::string> master_cf_text_;  // read, or handed down in a snapshot
    std::map<std::string, std::string, std::less<>> main_;       // last definition wins
    std::map<std::string, std::string, std::less<>> overrides_;
    std::vector<MasterService> services_;
};

}  // namespace mailroom::config
