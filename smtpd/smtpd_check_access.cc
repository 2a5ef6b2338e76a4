// smtpd_check_access.cc - access maps (check_*_access) and their actions
// (Postfix's check_table_result), smtpd_sender_login_maps.
#include "smtpd/smtpd_check_eval.h"

#include <arpa/inet.h>

#include <cctype>
#include <cstdio>
#include <mutex>

#include "lib/address/address.h"
#include "lib/config/param_read.h"
#include "lib/log/log.h"
#include "lib/table/access_match.h"
#include "lib/address/addr_find.h"
#include "lib/table/maps.h"
#include "lib/util/strings.h"

namespace mailroom::smtpd {

using util::iequals;

namespace check_internal {

bool is_header_line(std::string_view s) {
    size_t i = 0;
    while (i < s.size() && s[i] != ':') {
        unsigned char c = static_cast<unsigned char>(s[i]);
        if (c <= ' ' || c >= 0x7f) return false;
        ++i;
    }
    return i > 0 && i < s.size();
}

// Pattern tables (regexp, pcre, cidr) see whole keys only, never the
// parent-domain or address-prefix variants.
bool is_pattern_table(const table::Table& t) { return t.is_pattern(); }

}  // namespace check_internal

table::Table* Checker::Eval::get_table(const std::string& spec) {
    auto it = c.tables_.find(spec);
    if (it != c.tables_.end()) return it->second.get();
    Result<table::TablePtr> t = c.hooks_.open_table ? c.hooks_.open_table(spec) : table::open_table(spec);
    if (!t) {
        log::warn("%s: table lookup problem: %s", spec.c_str(), t.error().message.c_str());
        return nullptr;
    }
    table::Table* raw = t->get();
    c.tables_.emplace(spec, std::move(*t));
    return raw;
}

St Checker::Eval::lookup_keys(const std::string& spec, std::vector<std::string> keys, std::string_view datum,
               std::string_view reply_name, std::string_view reply_class, std::string_view def_acl) {
    table::Table* t = get_table(spec);
    if (t == nullptr) return server_error();
    table::AccessResult r =
        table::match_keys(keys, [t](std::string_view k) { return t->lookup(k); });
    if (!r) {
        if (r.error().temporary()) return dict_retry(reply_name);
        log::warn("%s: table lookup problem: %s", spec.c_str(), r.error().message.c_str());
        return table_result(spec, "451 4.3.5 Server configuration error", datum, reply_name, reply_class,
                            def_acl);
    }
    if (!r->has_value()) return St::kDunno;
    return table_result(spec, (*r)->value, datum, reply_name, reply_class, def_acl);
}

St Checker::Eval::check_client_acl(const std::string& spec, const std::string& name, const std::string& addr,
                    std::string_view reply_name, std::string_view reply_class, std::string_view def_acl) {
    table::Table* t = get_table(spec);
    if (t == nullptr) return server_error();
    std::vector<std::string> keys;
    if (is_pattern_table(*t)) {
        keys = {name, addr};
    } else {
        keys = table::access_client_keys(name, addr, cfg().access_parent_matches_subdomains);
    }
    return lookup_keys(spec, keys, addr, reply_name, reply_class, def_acl);
}

St Checker::Eval::check_domain_acl(const std::string& spec, const std::string& domain, std::string_view reply_name,
                    std::string_view reply_class, std::string_view def_acl) {
    table::Table* t = get_table(spec);
    if (t == nullptr) return server_error();
    std::vector<std::string> keys;
    if (is_pattern_table(*t) || valid_host_address(domain)) {
        keys = {domain};
    } else {
        keys = table::access_domain_keys(domain, cfg().access_parent_matches_subdomains);
    }
    return lookup_keys(spec, keys, domain, reply_name, reply_class, def_acl);
}

St Checker::Eval::check_mail_acl(const std::string& spec, const std::string& addr, std::string_view reply_name,
                  std::string_view reply_class, std::string_view def_acl) {
    table::Table* t = get_table(spec);
    if (t == nullptr) return server_error();
    std::vector<std::string> keys;
    if (addr.empty()) {
        keys = {cfg().null_access_lookup_key};
    } else if (is_pattern_table(*t)) {
        keys = {addr};
    } else {
        keys = table::access_address_keys(addr, cfg().access_parent_matches_subdomains);
    }
    return lookup_keys(spec, keys, addr, reply_name, reply_class, def_acl);
}

Result<std::optional<std::string>> Checker::Eval::sender_owners(const std::string& sender) {
    std::vector<table::Table*> tables;
    for (const auto& spec : cfg().sender_login_maps) {
        table::Table* t = get_table(spec);
        if (t == nullptr) return make_error(spec + ": table unavailable");
        tables.push_back(t);
    }
    // Each key through every table in order, as Postfix's maps do.
    auto lookup = [&tables](std::string_view key, bool partial) -> table::LookupResult {
        for (table::Table* t : tables) {
            auto r = address::table_lookup(*t)(key, partial);
            if (!r || r->has_value()) return r;
        }
        return std::optional<std::string>();
    };
    auto r = c.resolver_.find(qualify(sender), lookup);
    if (!r) return r.error();
    if (r->has_value()) return std::optional<std::string>((*r)->value);
    return std::optional<std::string>();
}

St Checker::Eval::reject_auth_sender_login_mismatch(bool allow_unknown) {
    if (cfg().sender_login_maps.empty() || s.sasl_username.empty()) return St::kDunno;
    auto owners = sender_owners(*s.sender);
    if (!owners) {
        if (owners.error().temporary()) return dict_retry(*s.sender);
        log::warn("smtpd_sender_login_maps: %s", owners.error().message.c_str());
        return server_error();
    }
    if (!owners->has_value()) {
        if (allow_unknown) return St::kDunno;
    } else {
        for (const auto& name : util::split_list(**owners)) {
            if (util::iequals(name, s.sasl_username)) return St::kDunno;
        }
    }
    return reject(ErrClass::kPolicy, 553, "5.7.1",
                  "<" + *s.sender + ">: Sender address rejected: not owned by user " + s.sasl_username);
}

St Checker::Eval::reject_unauth_sender_login_mismatch() {
    if (cfg().sender_login_maps.empty() || !s.sasl_username.empty()) return St::kDunno;
    auto owners = sender_owners(*s.sender);
    if (!owners) {
        if (owners.error().temporary()) return dict_retry(*s.sender);
        log::warn("smtpd_sender_login_maps: %s", owners.error().message.c_str());
        return server_error();
    }
    if (!owners->has_value()) return St::kDunno;
    return reject(ErrClass::kPolicy, 553, "5.7.1", "<" + *s.sender + ">: Sender address rejected: not logged in");
}

bool Checker::Eval::can_delegate(const std::string& spec, std::string_view action) {
    if (where == "ETRN") {
        log::warn("access table %s: action %.*s is unavailable in smtpd_etrn_restrictions", spec.c_str(),
                  static_cast<int>(action.size()), action.data());
        return false;
    }
    if (!s.sender) {
        log::warn("access table %s: with smtpd_delay_reject=no, action %.*s is always skipped in %s or %s "
                  "restrictions",
                  spec.c_str(), static_cast<int>(action.size()), action.data(), kClassClient, kClassHelo);
        return false;
    }
    return true;
}

St Checker::Eval::table_result(const std::string& spec, std::string_view value, std::string_view datum,
                std::string_view reply_name, std::string_view reply_class, std::string_view def_acl) {
    size_t sp = value.find_first_of(" \t");
    std::string_view cmd = value.substr(0, sp);
    std::string_view text = sp == std::string_view::npos ? std::string_view() : util::trim(value.substr(sp));
    std::string dsn, why;
    std::string datum_s(datum);

    if (iequals(cmd, "DUNNO")) return St::kDunno;
    if (iequals(cmd, "REJECT")) {
        dsn_split("5.7.1", text, &dsn, &why);
        return reject(ErrClass::kPolicy, cfg().access_map_reject_code, dsn,
                      rejected(reply_name, reply_class, why.empty() ? "Access denied" : why));
    }
    if (iequals(cmd, "DEFER")) {
        dsn_split("4.7.1", text, &dsn, &why);
        return reject(ErrClass::kPolicy, cfg().access_map_defer_code, dsn,
                      rejected(reply_name, reply_class, why.empty() ? "Access denied" : why));
    }
    if (iequals(cmd, "INFO")) {
        log_whatsup("info", text);
        return St::kDunno;
    }
    if (iequals(cmd, "WARN")) {
        log_whatsup("warn", text);
        return St::kDunno;
    }
    if (iequals(cmd, "FILTER")) {
        if (!can_delegate(spec, "FILTER")) return St::kDunno;
        if (text.empty()) {
            log::warn("access table %s entry \"%s\" has FILTER entry without value", spec.c_str(),
                      datum_s.c_str());
            return St::kDunno;
        }
        if (text.find(':') == std::string_view::npos) {
            log::warn("access table %s entry \"%s\" requires transport:destination", spec.c_str(),
                      datum_s.c_str());
            return St::kDunno;
        }
        log_whatsup("filter", "<" + std::string(reply_name) + ">: " + std::string(reply_class) +
                                  " triggers FILTER " + std::string(text));
        s.effects.filter = std::string(text);
        return St::kDunno;
    }
    if (iequals(cmd, "HOLD")) {
        if (!can_delegate(spec, "HOLD") || s.effects.hold) return St::kDunno;
        log_whatsup("hold", "<" + std::string(reply_name) + ">: " + std::string(reply_class) + " " +
                                (text.empty() ? std::string("triggers HOLD action") : std::string(text)));
        s.effects.hold = true;
        s.effects.hold_reason = std::string(text);
        return St::kDunno;
    }
    if (iequals(cmd, "DISCARD")) {
        if (!can_delegate(spec, "DISCARD")) return St::kDunno;
        log_whatsup("discard", "<" + std::string(reply_name) + ">: " + std::string(reply_class) + " " +
                                   (text.empty() ? std::string("triggers DISCARD action") : std::string(text)));
        s.effects.discard = true;
        return St::kOk;
    }
    if (iequals(cmd, "REDIRECT") || iequals(cmd, "BCC")) {
        std::string upper = iequals(cmd, "BCC") ? "BCC" : "REDIRECT";
        if (!can_delegate(spec, upper)) return St::kDunno;
        if (!address::split(text).has_at) {
            log::warn("access table %s entry \"%s\" requires user@domain target", spec.c_str(),
                      datum_s.c_str());
            return St::kDunno;
        }
        log_whatsup(upper == "BCC" ? "bcc" : "redirect",
                    "<" + std::string(reply_name) + ">: " + std::string(reply_class) + " triggers " + upper +
                        " " + std::string(text));
        if (upper == "BCC") {
            s.effects.bcc.emplace_back(text);
        } else {
            s.effects.redirect = std::string(text);
        }
        return St::kDunno;
    }
    if (iequals(cmd, "DEFER_IF_PERMIT")) {
        dsn_split("4.7.1", text, &dsn, &why);
        set_defer_if_permit(cfg().access_map_defer_code, dsn,
                            rejected(reply_name, reply_class, why.empty() ? "Service unavailable" : why));
        return St::kDunno;
    }
    if (iequals(cmd, "DEFER_IF_REJECT")) {
        dsn_split("4.7.1", text, &dsn, &why);
        set_defer_if_reject(cfg().access_map_defer_code, dsn,
                            rejected(reply_name, reply_class, why.empty() ? "Service unavailable" : why));
        return St::kDunno;
    }
    if (iequals(cmd, "PREPEND")) {
        if (!s.sender) {
            log::warn("access table %s: with smtpd_delay_reject=no, action PREPEND is always skipped in %s "
                      "or %s restrictions",
                      spec.c_str(), kClassClient, kClassHelo);
            return St::kDunno;
        }
        if (where == "END-OF-MESSAGE") {
            log::warn("access table %s: action PREPEND must be used before smtpd_end_of_data_restrictions",
                      spec.c_str());
            return St::kDunno;
        }
        if (text.empty() || !is_header_line(text)) {
            log::warn("access table %s entry \"%s\" requires header: text", spec.c_str(), datum_s.c_str());
            return St::kDunno;
        }
        s.effects.prepend.emplace_back(text);
        return St::kDunno;
    }
    // All-numeric: OK (some out-of-band authentication stores a time stamp).
    if (all_digits(value)) return St::kOk;
    // "4NN text" / "5NN text", optionally with an enhanced status code.
    if (cmd.size() == 3 && !text.empty() && (cmd[0] == '4' || cmd[0] == '5') && all_digits(cmd)) {
        int code = std::stoi(std::string(cmd));
        std::string def = std::string(1, cmd[0]) + ".7.1";
        dsn_split(def, text, &dsn, &why);
        return reject(ErrClass::kPolicy, code, dsn,
                      rejected(reply_name, reply_class, why.empty() ? "Access denied" : why));
    }
    if (iequals(cmd, "OK") || iequals(cmd, "RELAY")) return St::kOk;
    if (value.find(':') != std::string_view::npos) {
        std::string v(value);
        log::warn("access table %s has entry with lookup table: %s", spec.c_str(), v.c_str());
        log::warn("do not specify lookup tables inside SMTPD access maps");
        log::warn("define a restriction class and specify its name instead.");
        return server_error();
    }
    if (recursion > kMaxRecursion) {
        std::string v(value);
        log::warn("access table %s entry %s causes unreasonable recursion", spec.c_str(), v.c_str());
        return server_error();
    }
    // Anything else is a list of restrictions (often a class name).
    std::vector<std::string> list = util::split_list(value);
    if (list.empty()) {
        std::string v(value);
        log::warn("access table %s entry %s has empty value", spec.c_str(), v.c_str());
        return St::kOk;
    }
    return generic(list, reply_name, reply_class, def_acl);
}

}  // namespace mailroom::smtpd
