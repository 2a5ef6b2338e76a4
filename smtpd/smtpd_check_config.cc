// smtpd_check_config.cc - CheckConfig::from_config: the restriction lists,
// flags and reply codes from main.cf.
#include "smtpd/smtpd_check_eval.h"

#include <arpa/inet.h>

#include <cctype>
#include <cstdio>
#include <mutex>

#include "lib/config/param_read.h"
#include "lib/log/log.h"
#include "lib/table/access_match.h"
#include "lib/table/maps.h"
#include "lib/util/strings.h"

namespace mailroom::smtpd {

using util::iequals;

Result<CheckConfig> CheckConfig::from_config(const config::Config& config) {
    CheckConfig c;
    auto list = [&](const char* name, std::vector<std::string>* out) -> Status {
        Result<std::string> v = config.get(name);
        if (!v) return v.error();
        *out = util::split_list(*v);
        return ok_status();
    };
    struct ListParam {
        const char* name;
        std::vector<std::string>* field;
    };
    const ListParam lists[] = {
        {"smtpd_client_restrictions", &c.client_restrictions},
        {"smtpd_helo_restrictions", &c.helo_restrictions},
        {"smtpd_sender_restrictions", &c.sender_restrictions},
        {"smtpd_relay_restrictions", &c.relay_restrictions},
        {"smtpd_recipient_restrictions", &c.recipient_restrictions},
        {"smtpd_data_restrictions", &c.data_restrictions},
        {"smtpd_end_of_data_restrictions", &c.end_of_data_restrictions},
        {"smtpd_etrn_restrictions", &c.etrn_restrictions},
    };
    for (const auto& l : lists) {
        if (Status st = list(l.name, l.field); !st) return st.error();
    }
    if (Status st = list("smtpd_sender_login_maps", &c.sender_login_maps); !st) return st.error();
    struct FlagParam {
        const char* name;
        bool* field;
    };
    const FlagParam flags[] = {
        {"smtpd_delay_reject", &c.delay_reject},
        {"smtpd_relay_before_recipient_restrictions", &c.relay_before_recipient},
        {"smtpd_reject_unlisted_recipient", &c.reject_unlisted_recipient},
        {"smtpd_reject_unlisted_sender", &c.reject_unlisted_sender},
        {"show_user_unknown_table_name", &c.show_user_unknown_table_name},
    };
    for (const auto& f : flags) {
        if (Status st = config::read_param(config, f.name, f.field); !st) return st.error();
    }
    struct CodeParam {
        const char* name;
        int* field;
    };
    const CodeParam codes[] = {
        {"reject_code", &c.reject_code},
        {"defer_code", &c.defer_code},
        {"access_map_reject_code", &c.access_map_reject_code},
        {"access_map_defer_code", &c.access_map_defer_code},
        {"relay_domains_reject_code", &c.relay_domains_reject_code},
        {"unknown_client_reject_code", &c.unknown_client_reject_code},
        {"unknown_hostname_reject_code", &c.unknown_hostname_reject_code},
        {"unknown_address_reject_code", &c.unknown_address_reject_code},
        {"invalid_hostname_reject_code", &c.invalid_hostname_reject_code},
        {"non_fqdn_reject_code", &c.non_fqdn_reject_code},
        {"maps_rbl_reject_code", &c.maps_rbl_reject_code},
        {"plaintext_reject_code", &c.plaintext_reject_code},
        {"unknown_local_recipient_reject_code", &c.unknown_local_recipient_reject_code},
        {"unknown_virtual_mailbox_reject_code", &c.unknown_virtual_mailbox_reject_code},
        {"unknown_virtual_alias_reject_code", &c.unknown_virtual_alias_reject_code},
        {"unknown_relay_recipient_reject_code", &c.unknown_relay_recipient_reject_code},
    };
    for (const auto& p : codes) {
        if (Status st = config::read_param(config, p.name, p.field); !st) return st.error();
    }
    Result<std::string> key = config.get("smtpd_null_access_lookup_key");
    if (!key) return key.error();
    c.null_access_lookup_key = *key;
    Result<std::string> origin = config.get("myorigin");
    if (!origin) return origin.error();
    c.myorigin = util::lowercase(util::trim(*origin));
    auto resolve = address::ResolveOptions::from_config(config);
    if (!resolve) return resolve.error();
    c.resolve = std::move(*resolve);
    Result<std::string> parent = config.get("parent_domain_matches_subdomains");
    if (!parent) return parent.error();
    c.access_parent_matches_subdomains = table::parent_domain_matches_subdomains(*parent, "smtpd_access_maps");

    std::vector<std::string> classes;
    if (Status st = list("smtpd_restriction_classes", &classes); !st) return st.error();
    for (const auto& name : classes) {
        Result<std::string> v = config.get(name);
        std::vector<std::string> items = v ? util::split_list(*v) : std::vector<std::string>{};
        if (items.empty()) return make_error("restriction class `" + name + "' needs a definition");
        c.restriction_classes[name] = std::move(items);
    }
    return c;
}

}  // namespace mailroom::smtpd
