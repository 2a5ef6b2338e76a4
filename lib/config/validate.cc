// validate.cc - see validate.h.
#include "lib/config/validate.h"

#include <algorithm>
#include <cctype>
#include <set>

#include "lib/config/expand.h"
#include "lib/util/strings.h"

namespace mailroom::config {

using util::format;

namespace {

struct RestrictionName {
    const char* name;
    RestrictionKind kind;
};

// Every name smtpd_check.cc evaluates, and the Postfix names it answers
// "not supported" for (a 451 at run time, so refused here).
constexpr RestrictionName kRestrictions[] = {
    {"permit", RestrictionKind::kPlain},
    {"defer", RestrictionKind::kPlain},
    {"reject", RestrictionKind::kPlain},
    {"warn_if_reject", RestrictionKind::kPlain},
    {"reject_unauth_pipelining", RestrictionKind::kPlain},
    {"defer_if_permit", RestrictionKind::kPlain},
    {"defer_if_reject", RestrictionKind::kPlain},
    {"reject_plaintext_session", RestrictionKind::kPlain},
    {"reject_unknown_client_hostname", RestrictionKind::kPlain},
    {"reject_unknown_client", RestrictionKind::kPlain},
    {"reject_unknown_reverse_client_hostname", RestrictionKind::kPlain},
    {"permit_mynetworks", RestrictionKind::kPlain},
    {"reject_invalid_helo_hostname", RestrictionKind::kPlain},
    {"reject_invalid_hostname", RestrictionKind::kPlain},
    {"reject_unknown_helo_hostname", RestrictionKind::kPlain},
    {"reject_unknown_hostname", RestrictionKind::kPlain},
    {"reject_non_fqdn_helo_hostname", RestrictionKind::kPlain},
    {"reject_non_fqdn_hostname", RestrictionKind::kPlain},
    {"reject_unknown_sender_domain", RestrictionKind::kPlain},
    {"reject_unknown_address", RestrictionKind::kPlain},
    {"reject_non_fqdn_sender", RestrictionKind::kPlain},
    {"reject_unlisted_sender", RestrictionKind::kPlain},
    {"reject_sender_login_mismatch", RestrictionKind::kPlain},
    {"reject_known_sender_login_mismatch", RestrictionKind::kPlain},
    {"reject_authenticated_sender_login_mismatch", RestrictionKind::kPlain},
    {"reject_unauthenticated_sender_login_mismatch", RestrictionKind::kPlain},
    {"permit_auth_destination", RestrictionKind::kPlain},
    {"reject_unauth_destination", RestrictionKind::kPlain},
    {"defer_unauth_destination", RestrictionKind::kPlain},
    {"permit_sasl_authenticated", RestrictionKind::kPlain},
    {"reject_unknown_recipient_domain", RestrictionKind::kPlain},
    {"reject_non_fqdn_recipient", RestrictionKind::kPlain},
    {"reject_unlisted_recipient", RestrictionKind::kPlain},
    {"check_recipient_maps", RestrictionKind::kPlain},
    {"reject_multi_recipient_bounce", RestrictionKind::kPlain},
    {"check_client_access", RestrictionKind::kTable},
    {"check_reverse_client_access", RestrictionKind::kTable},
    {"check_sasl_access", RestrictionKind::kTable},
    {"check_helo_access", RestrictionKind::kTable},
    {"check_sender_access", RestrictionKind::kTable},
    {"check_recipient_access", RestrictionKind::kTable},
    {"check_etrn_access", RestrictionKind::kTable},
    {"reject_rbl_client", RestrictionKind::kDomain},
    {"reject_rbl", RestrictionKind::kDomain},
    {"permit_dnswl_client", RestrictionKind::kDomain},
    {"permit_rhswl_client", RestrictionKind::kDomain},
    {"reject_rhsbl_client", RestrictionKind::kDomain},
    {"reject_rhsbl_reverse_client", RestrictionKind::kDomain},
    {"reject_rhsbl_helo", RestrictionKind::kDomain},
    {"reject_rhsbl_sender", RestrictionKind::kDomain},
    {"reject_rhsbl_recipient", RestrictionKind::kDomain},
    {"check_policy_service", RestrictionKind::kUnsupported},
    {"reject_unverified_sender", RestrictionKind::kUnsupported},
    {"reject_unverified_recipient", RestrictionKind::kUnsupported},
    {"permit_tls_clientcerts", RestrictionKind::kUnsupported},
    {"permit_tls_all_clientcerts", RestrictionKind::kUnsupported},
    {"check_ccert_access", RestrictionKind::kUnsupported},
    {"check_client_mx_access", RestrictionKind::kUnsupported},
    {"check_client_ns_access", RestrictionKind::kUnsupported},
    {"check_client_a_access", RestrictionKind::kUnsupported},
    {"check_reverse_client_mx_access", RestrictionKind::kUnsupported},
    {"check_reverse_client_ns_access", RestrictionKind::kUnsupported},
    {"check_reverse_client_a_access", RestrictionKind::kUnsupported},
    {"check_helo_mx_access", RestrictionKind::kUnsupported},
    {"check_helo_ns_access", RestrictionKind::kUnsupported},
    {"check_helo_a_access", RestrictionKind::kUnsupported},
    {"check_sender_mx_access", RestrictionKind::kUnsupported},
    {"check_sender_ns_access", RestrictionKind::kUnsupported},
    {"check_sender_a_access", RestrictionKind::kUnsupported},
    {"check_recipient_mx_access", RestrictionKind::kUnsupported},
    {"check_recipient_ns_access", RestrictionKind::kUnsupported},
    {"check_recipient_a_access", RestrictionKind::kUnsupported},
    {"permit_mx_backup", RestrictionKind::kUnsupported},
    {"permit_inet_interfaces", RestrictionKind::kUnsupported},
    {"permit_naked_ip_address", RestrictionKind::kUnsupported},
    {"reject_maps_rbl", RestrictionKind::kUnsupported},
    {"check_relay_domains", RestrictionKind::kUnsupported},
    {"sleep", RestrictionKind::kUnsupported},
};

std::string sv(std::string_view s) { return std::string(s); }

// "$name", "${name}" or "$(name)" and nothing else: the name, else "".
std::string_view whole_reference(std::string_view token) {
    if (token.size() < 2 || token[0] != '$') return {};
    std::string_view body = token.substr(1);
    if ((body.front() == '{' && body.back() == '}') || (body.front() == '(' && body.back() == ')')) {
        body = body.substr(1, body.size() - 2);
    }
    if (body.empty()) return {};
    for (char c : body)
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') return {};
    return body;
}

RawLookup lookup_in(const Config& cfg) {
    return [&cfg](std::string_view n) { return cfg.raw(n); };
}

// The elements of a list value, each expanded; an element that is only a
// reference to a parameter is dropped (validate.h).
Result<std::vector<std::string>> own_elements(const Config& cfg, std::string_view name) {
    std::optional<std::string> raw = cfg.raw(name);
    std::vector<std::string> out;
    if (!raw) return out;
    for (const std::string& token : util::split_list(*raw)) {
        std::string_view ref = whole_reference(token);
        if (!ref.empty() && ref != name && cfg.known(ref)) continue;
        Result<std::string> v = expand_value(token, lookup_in(cfg));
        if (!v) return v.error();
        for (std::string& e : util::split_list(*v)) out.push_back(std::move(e));
    }
    return out;
}

bool looks_like_table(std::string_view element, const TableChecker& tables) {
    size_t colon = element.find(':');
    if (colon == std::string_view::npos || colon == 0) return false;
    return tables.known_type && tables.known_type(element.substr(0, colon));
}

Status check_table(std::string_view name, std::string_view spec, const TableChecker* tables) {
    if (!tables || !tables->check) return ok_status();
    if (Status st = tables->check(spec); !st) return make_error(sv(name) + ": " + st.error().message);
    return ok_status();
}

bool in_choices(std::string_view word, const char* choices) {
    for (const std::string& c : util::split_list(choices ? choices : ""))
        if (util::iequals(word, c)) return true;
    return false;
}

Status check_enum(const Config& cfg, std::string_view name, const ParamSpec& spec) {
    Result<std::string> v = cfg.get(name);
    if (!v) return v.error();
    std::string_view value = util::trim(*v);
    if (spec.type == ParamType::kEnum) {
        bool empty_ok = spec.default_value && !*spec.default_value;
        if ((value.empty() && empty_ok) || in_choices(value, spec.choices)) return ok_status();
        // Postfix's client TLS levels that mailroom does not implement yet.
        if (name.ends_with("_tls_security_level") &&
            (value == "dane" || value == "dane-only"))
            return make_error(format("invalid %s value: \"%s\": DANE is not implemented; use encrypt, verify or "
                                     "secure", sv(name).c_str(), sv(value).c_str()));
        return make_error(format("invalid %s value: \"%s\"", sv(name).c_str(), sv(value).c_str()));
    }
    for (const std::string& word : util::split_list(value)) {
        if (!in_choices(word, spec.choices))
            return make_error(format("invalid %s value: \"%s\"", sv(name).c_str(), word.c_str()));
    }
    return ok_status();
}

Status check_maps(const Config& cfg, std::string_view name, bool all_tables, const TableChecker* tables) {
    Result<std::vector<std::string>> elements = own_elements(cfg, name);
    if (!elements) return elements.error();
    for (const std::string& e : *elements) {
        if (!all_tables && !(tables && looks_like_table(e, *tables))) continue;
        if (all_tables && e.find(':') == std::string::npos)
            return make_error(format("%s: table \"%s\": need type:name", sv(name).c_str(), e.c_str()));
        if (Status st = check_table(name, e, tables); !st) return st;
    }
    return ok_status();
}

Status check_restrictions(const Config& cfg, std::string_view name, const TableChecker* tables) {
    Result<std::string> v = cfg.get(name);
    if (!v) return v.error();
    Result<std::vector<std::string>> classes = cfg.get_list("smtpd_restriction_classes");
    if (!classes) return classes.error();
    std::vector<std::string> list = util::split_list(*v);
    std::string n = sv(name);
    for (size_t i = 0; i < list.size(); ++i) {
        const std::string& r = list[i];
        if (r.find(':') != std::string::npos) {  // an implicit check_*_access table
            if (Status st = check_table(name, r, tables); !st) return st;
            continue;
        }
        if (std::find(classes->begin(), classes->end(), r) != classes->end()) continue;
        switch (restriction_kind(r)) {
            case RestrictionKind::kPlain:
                break;
            case RestrictionKind::kTable:
                if (i + 1 >= list.size())
                    return make_error(format("%s: restriction %s requires a table argument", n.c_str(), r.c_str()));
                if (Status st = check_table(name, list[++i], tables); !st) return st;
                break;
            case RestrictionKind::kDomain:
                if (i + 1 >= list.size())
                    return make_error(
                        format("%s: restriction %s requires domain name argument", n.c_str(), r.c_str()));
                ++i;
                break;
            case RestrictionKind::kUnsupported:
                return make_error(format("%s: smtpd restriction \"%s\" is not supported by this mail system",
                                         n.c_str(), r.c_str()));
            case RestrictionKind::kUnknown:
                return make_error(format("%s: unknown smtpd restriction: \"%s\"", n.c_str(), r.c_str()));
        }
    }
    return ok_status();
}

bool is_restriction_class(const Config& cfg, std::string_view name) {
    Result<std::vector<std::string>> classes = cfg.get_list("smtpd_restriction_classes");
    return classes && std::find(classes->begin(), classes->end(), name) != classes->end();
}

// Checks `name` as `cfg` sees it; a name nothing knows is left to the
// unused-parameter warning.
Status check_named(const Config& cfg, std::string_view name, const TableChecker* tables) {
    if (cfg.known(name)) return validate_param(cfg, name, tables);
    if (is_restriction_class(cfg, name)) return check_restrictions(cfg, name, tables);
    return ok_status();
}

}  // namespace

RestrictionKind restriction_kind(std::string_view name) {
    for (const RestrictionName& r : kRestrictions)
        if (util::iequals(name, r.name)) return r.kind;
    return RestrictionKind::kUnknown;
}

Status validate_param(const Config& cfg, std::string_view name, const TableChecker* tables) {
    const ParamSpec* spec = cfg.spec(name);
    if (!spec) return ok_status();
    switch (spec->type) {
        case ParamType::kInt:
        case ParamType::kSize: {
            Result<long long> v = cfg.get_int(name);
            return v ? ok_status() : Status(v.error());
        }
        case ParamType::kTime: {
            Result<long long> v = cfg.get_time(name);
            return v ? ok_status() : Status(v.error());
        }
        case ParamType::kBool: {
            Result<bool> v = cfg.get_bool(name);
            return v ? ok_status() : Status(v.error());
        }
        case ParamType::kEnum:
        case ParamType::kEnumList:
            return check_enum(cfg, name, *spec);
        case ParamType::kMaps:
            return check_maps(cfg, name, true, tables);
        case ParamType::kList:
            return check_maps(cfg, name, false, tables);
        case ParamType::kRestrictions:
            return check_restrictions(cfg, name, tables);
        case ParamType::kString:
            break;
    }
    Result<std::string> v = cfg.get(name);
    return v ? ok_status() : Status(v.error());
}

Status validate_params(const Config& cfg, const std::vector<std::string_view>& names, const TableChecker* tables) {
    for (std::string_view name : names) {
        std::string where;
        if (std::optional<std::string> o = cfg.override_value(name)) {
            where = format("-o %s=%s", sv(name).c_str(), o->c_str());
        } else {
            const std::vector<MainCfEntry>& entries = cfg.main_cf_entries();
            auto last = std::find_if(entries.rbegin(), entries.rend(), [&](const MainCfEntry& e) { return e.name == name; });
            if (last == entries.rend()) continue;  // a default
            where = format("%s, line %d", cfg.main_cf_path().c_str(), last->line);
        }
        if (Status st = check_named(cfg, name, tables); !st) return make_error(where + ": " + st.error().message);
    }
    return ok_status();
}

std::vector<std::string> validate_config(const Config& cfg, const TableChecker* tables) {
    std::vector<std::string> out;
    const std::vector<MainCfEntry>& entries = cfg.main_cf_entries();
    std::set<std::string, std::less<>> later;  // names defined again further down
    for (size_t i = entries.size(); i-- > 0;) {
        const MainCfEntry& e = entries[i];
        if (!later.insert(e.name).second) continue;  // the last definition wins
        if (Status st = check_named(cfg, e.name, tables); !st)
            out.push_back(format("%s, line %d: %s", cfg.main_cf_path().c_str(), e.line, st.error().message.c_str()));
    }
    std::reverse(out.begin(), out.end());
    std::string master_cf = cfg.config_dir() + "/master.cf";
    for (const MasterService& s : cfg.services()) {
        if (s.overrides.empty()) continue;
        Config with = cfg;
        for (const auto& [n, v] : s.overrides) with.set_override(n, v);
        for (const auto& [n, v] : s.overrides) {
            if (Status st = check_named(with, n, tables); !st)
                out.push_back(format("%s, line %d: service %s: %s", master_cf.c_str(), s.line, s.name.c_str(),
                                     st.error().message.c_str()));
        }
    }
    return out;
}

}  // namespace mailroom::config
