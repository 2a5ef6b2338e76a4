// params.h - the typed table of every parameter mailroom implements.
//
// Summary
//   One row per parameter: name, type, default (unexpanded, exactly what
//   `postconf -d` prints), the default unit of a time value, numeric bounds,
//   and a one-line description. Defaults that depend on the machine
//   (myhostname, mydomain, mynetworks) are computed by default_value().
//   A role adds its parameters here when it starts honouring them, never
//   earlier: a parameter in this table is one that some program obeys.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lib/config/master_cf.h"
#include "lib/util/result.h"

namespace mailroom::config {

enum class ParamType {
    kString,
    kInt,
    kBool,   // yes / no
    kTime,   // number with optional s/m/h/d/w unit
    kSize,   // byte count
    kList,   // elements separated by commas and/or white space
    kEnum,   // one of `choices`
    kEnumList,     // a list whose every element is one of `choices`
    kMaps,         // a list of type:table lookup tables
    kRestrictions, // an smtpd restriction list (names, their arguments, classes)
};

struct ParamSpec {
    const char* name;
    ParamType type;
    const char* default_value;  // nullptr: computed by default_value()
    const char* description;
    char time_unit = 's';       // default unit of a kTime value
    long long min = 0;          // bounds of kInt/kTime/kSize (max 0 = unbounded)
    long long max = 0;
    // kEnum/kEnumList: the accepted words, separated by spaces, compared
    // without regard to case. An empty value is accepted when the default
    // is empty.
    const char* choices = nullptr;
};

// All rows, sorted by name.
const std::vector<ParamSpec>& param_table();
const ParamSpec* find_param(std::string_view name);

// Postfix parameters mailroom recognises but does not implement: the text
// that says so ("not supported: ...; ignored"), or nullptr. They are not in
// the table (postconf -d does not list them); main.cf settings of them get
// this warning instead of "unused parameter".
const char* unsupported_param_note(std::string_view name);

// Default value text of a parameter. Computed defaults (myhostname,
// mydomain, mynetworks) are resolved; `effective` gives the expanded value of
// another parameter in the caller's configuration (mydomain derives from the
// effective myhostname); without it, defaults derive from defaults.
using EffectiveLookup = std::string (*)(const void* ctx, std::string_view name);
std::string default_value(const ParamSpec& spec, EffectiveLookup effective = nullptr, const void* ctx = nullptr);

// Typed conversions with Postfix's diagnostics ("bad numerical configuration:
// name = value").
Result<long long> parse_int_param(std::string_view name, std::string_view value, const ParamSpec* spec);
Result<bool> parse_bool_param(std::string_view name, std::string_view value);
// Returns seconds. `unit` is the default unit when the value has none.
Result<long long> parse_time_param(std::string_view name, std::string_view value, char unit,
                                   const ParamSpec* spec);

// Service-defined parameters, as Postfix's postconf names them: every
// master.cf service whose command is a delivery agent (local, virtual,
// pipe, smtp, lmtp, error, discard) has NAME_destination_concurrency_limit
// NAME_destination_recipient_limit and NAME_destination_rate_delay, and a
// pipe service also
// NAME_time_limit. Each defaults to "$" followed by the built-in parameter
// it stands in for, whose type and bounds it shares. A built-in row with
// the same name (local_destination_recipient_limit) keeps its own default.
struct ServiceParam {
    std::string name;
    std::string default_param;  // default_destination_recipient_limit, ...
};
std::vector<ServiceParam> service_parameters(const std::vector<MasterService>& services);

// Machine facts used by computed defaults (exposed for tests).
std::string system_hostname_fqdn();
std::string domain_of_hostname(std::string_view host);
std::string mynetworks_for_style(std::string_view style);

}  // namespace mailroom::config
