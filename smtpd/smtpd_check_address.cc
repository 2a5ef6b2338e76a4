// smtpd_check_address.cc - address classes, relay permission and recipient
// validation (reject_unauth_destination, reject_unlisted_*), and the
// DomainLists and RecipientTables behind them.
#include "smtpd/smtpd_check_eval.h"

#include <arpa/inet.h>

#include <cctype>
#include <cstdio>
#include <mutex>

#include "lib/config/param_read.h"
#include "lib/log/log.h"
#include "lib/table/access_match.h"
#include "lib/table/addr_find.h"
#include "lib/table/domain_list.h"
#include "lib/table/maps.h"
#include "lib/util/interfaces.h"
#include "lib/util/strings.h"

namespace mailroom::smtpd {

using util::iequals;

namespace check_internal {

std::string domain_of(std::string_view address) {
    size_t at = address.rfind('@');
    if (at == std::string_view::npos) return "";
    return util::lowercase(address.substr(at + 1));
}

std::string local_part_of(std::string_view address) {
    size_t at = address.rfind('@');
    return util::lowercase(at == std::string_view::npos ? address : address.substr(0, at));
}

// Truncates a name ending in one dot (not two), as Postfix does.
std::string_view drop_trailing_dot(std::string_view name) {
    if (name.size() > 1 && name.back() == '.' && name[name.size() - 2] != '.') name.remove_suffix(1);
    return name;
}

}  // namespace check_internal

St Checker::Eval::reject_non_fqdn_address(const std::string& addr, const char* cls) {
    std::string domain = domain_of(addr);
    if (domain.size() > 1 && domain.front() == '[' && domain.back() == ']') return St::kDunno;
    std::string_view d = drop_trailing_dot(domain);
    if (!d.empty() && valid_hostname(d) && d.find('.') != std::string_view::npos) return St::kDunno;
    return reject(ErrClass::kPolicy, cfg().non_fqdn_reject_code, "4.5.2",
                  rejected(addr, cls, "need fully-qualified address"));
}

AddressClass Checker::Eval::classify(const std::string& domain) {
    if (!c.hooks_.classify_domain) return AddressClass::kDefault;
    return c.hooks_.classify_domain(domain);
}

bool Checker::Eval::is_final(AddressClass cls) {
    return cls == AddressClass::kLocal || cls == AddressClass::kVirtualAlias ||
           cls == AddressClass::kVirtualMailbox;
}

std::string Checker::Eval::qualify(const std::string& addr) const {
    if (addr.find('@') != std::string::npos || cfg().myorigin.empty()) return addr;
    return addr + "@" + cfg().myorigin;
}

AddressClass Checker::Eval::classify_address(const std::string& qualified) {
    if (qualified.find('@') == std::string::npos) return AddressClass::kLocal;
    return classify(domain_of(qualified));
}

St Checker::Eval::permit_auth_destination(const std::string& rcpt) {
    AddressClass cls = classify_address(qualify(rcpt));
    if (cls == AddressClass::kTempFail) return dict_retry(rcpt);
    if (cls == AddressClass::kDefault) return St::kDunno;
    return St::kOk;
}

St Checker::Eval::reject_unauth_destination(const std::string& rcpt, int code, const char* dsn) {
    St auth = permit_auth_destination(rcpt);
    if (auth == St::kOk) return St::kDunno;
    if (auth == St::kReject) return auth;
    return reject(ErrClass::kPolicy, code, dsn, "<" + rcpt + ">: Relay access denied");
}

St Checker::Eval::check_rcpt_maps(const std::string& addr, const char* cls) {
    bool sender = std::string_view(cls) == kClassSender;
    std::string full = qualify(addr);
    AddressClass ac = classify_address(full);
    if (ac == AddressClass::kTempFail) return dict_retry(addr);
    // An address that canonical or virtual alias mapping rewrites is
    // assumed deliverable, whatever its class.
    if (c.hooks_.lookup_rewritten) {
        UserLookup r = c.hooks_.lookup_rewritten(full, ac, sender);
        if (r == UserLookup::kTempFail) return dict_retry(addr);
        if (r == UserLookup::kFound) return St::kDunno;
    }
    if (ac == AddressClass::kDefault) return St::kDunno;
    if (ac == AddressClass::kLocal) {
        std::string lp = local_part_of(full);
        if (lp == "postmaster" || lp == "mailer-daemon" || lp == "double-bounce") return St::kDunno;
    }
    UserLookup u = UserLookup::kNoTable;
    if (ac == AddressClass::kVirtualAlias) {
        // Every address of a virtual alias domain must be an alias.
        u = UserLookup::kNotFound;
    } else if (c.hooks_.lookup_user) {
        u = c.hooks_.lookup_user(full, ac);
    }
    if (u == UserLookup::kTempFail) return dict_retry(addr);
    if (u != UserLookup::kNotFound) return St::kDunno;
    int code = cfg().unknown_local_recipient_reject_code;
    const char* table_name = " in local recipient table";
    switch (ac) {
    case AddressClass::kVirtualAlias:
        code = cfg().unknown_virtual_alias_reject_code;
        table_name = " in virtual alias table";
        break;
    case AddressClass::kVirtualMailbox:
        code = cfg().unknown_virtual_mailbox_reject_code;
        table_name = " in virtual mailbox table";
        break;
    case AddressClass::kRelay:
        code = cfg().unknown_relay_recipient_reject_code;
        table_name = " in relay recipient table";
        break;
    default:
        break;
    }
    std::string why = std::string("User unknown") + (cfg().show_user_unknown_table_name ? table_name : "");
    return reject(ErrClass::kBounce, code, sender ? "5.1.0" : "5.1.1", rejected(addr, cls, why));
}

St Checker::Eval::check_recipient_rcpt_maps() {
    // receive_override_options = no_unknown_recipient_checks (after a content filter).
    if (cfg().no_unknown_recipient_checks) return St::kDunno;
    if (rcpt_maps_checked || !s.recipient || s.recipient->empty()) return St::kDunno;
    if (warn_if_reject == 0) rcpt_maps_checked = true;
    return check_rcpt_maps(*s.recipient, kClassRecipient);
}

St Checker::Eval::check_sender_rcpt_maps() {
    if (sender_maps_checked || !s.sender || s.sender->empty()) return St::kDunno;
    if (warn_if_reject == 0) sender_maps_checked = true;
    return check_rcpt_maps(*s.sender, kClassSender);
}

namespace {

bool domain_in_list(const std::vector<std::string>& list, std::string_view domain, bool parent_matches) {
    std::string d = util::lowercase(drop_trailing_dot(domain));
    for (const auto& raw : list) {
        if (raw.find(':') != std::string::npos) continue;  // type:table: not handled here
        std::string e = util::lowercase(raw);
        bool dot = !e.empty() && e.front() == '.';
        std::string_view pat = dot ? std::string_view(e).substr(1) : std::string_view(e);
        if (pat.empty()) continue;
        if (!dot && d == pat) return true;
        if ((dot || parent_matches) && d.size() > pat.size() &&
            d.compare(d.size() - pat.size(), pat.size(), pat) == 0 && d[d.size() - pat.size() - 1] == '.') {
            return true;
        }
    }
    return false;
}

}  // namespace

struct DomainLists::Tables {
    // One entry per list, in classify() order; empty Maps: no tables.
    table::Maps lists[4];
    bool failed[4] = {};  // a table of the list could not be opened
    bool may_block = false;
    mutable std::mutex mu;
};

namespace {
constexpr const char* kDomainListNames[4] = {"mydestination", "virtual_alias_domains", "virtual_mailbox_domains",
                                             "relay_domains"};
}

DomainLists DomainLists::from_config(const config::Config& config) {
    DomainLists l;
    auto list = [&](const char* name) {
        Result<std::string> v = config.get(name);
        std::vector<std::string> warnings;
        auto out = table::expand_list_files(v ? util::split_list(*v) : std::vector<std::string>{}, &warnings);
        for (const auto& w : warnings) log::warn("%s: %s", name, w.c_str());
        return out;
    };
    l.mydestination = list("mydestination");
    l.virtual_alias_domains = list("virtual_alias_domains");
    l.virtual_mailbox_domains = list("virtual_mailbox_domains");
    l.relay_domains = list("relay_domains");
    if (auto ifaces = config.get_list("inet_interfaces")) l.own_addresses = util::interface_addresses(*ifaces);
    Result<std::string> parent = config.get("parent_domain_matches_subdomains");
    l.relay_parent_matches_subdomains =
        parent ? table::parent_domain_matches_subdomains(*parent, "relay_domains") : true;
    auto t = std::make_shared<Tables>();
    const std::vector<std::string>* lists[4] = {&l.mydestination, &l.virtual_alias_domains,
                                                &l.virtual_mailbox_domains, &l.relay_domains};
    bool any = false;
    for (int i = 0; i < 4; ++i) {
        std::string specs;
        for (const auto& e : *lists[i]) {
            if (e.find(':') != std::string::npos && e.front() != '[' && e.front() != '!') specs += e + " ";
        }
        if (specs.empty()) continue;
        any = true;
        auto maps = table::Maps::open(specs);
        if (!maps) {
            log::warn("%s: %s", kDomainListNames[i], maps.error().message.c_str());
            t->failed[i] = true;
            continue;
        }
        if (maps->may_block()) t->may_block = true;
        t->lists[i] = std::move(*maps);
    }
    if (any) l.tables = std::move(t);
    return l;
}

bool DomainLists::may_block() const { return tables && tables->may_block; }

AddressClass DomainLists::classify(std::string_view domain) const {
    static constexpr AddressClass kClasses[4] = {AddressClass::kLocal, AddressClass::kVirtualAlias,
                                                 AddressClass::kVirtualMailbox, AddressClass::kRelay};
    const std::vector<std::string>* lists[4] = {&mydestination, &virtual_alias_domains, &virtual_mailbox_domains,
                                                &relay_domains};
    std::string d = util::lowercase(drop_trailing_dot(domain));
    if (util::is_own_address_literal(d, own_addresses)) return AddressClass::kLocal;
    for (int i = 0; i < 4; ++i) {
        bool parent = i == 3 && relay_parent_matches_subdomains;
        if (domain_in_list(*lists[i], d, parent)) return kClasses[i];
        if (!tables) continue;
        if (tables->failed[i]) return AddressClass::kTempFail;
        const table::Maps& maps = tables->lists[i];
        if (maps.empty()) continue;
        std::lock_guard<std::mutex> lock(tables->mu);
        auto found = table::match_keys(table::access_domain_keys(d, parent),
                                       [&maps](std::string_view key) { return maps.lookup(key); });
        if (!found) {
            log::warn("%s lookup of %s: %s", kDomainListNames[i], d.c_str(), found.error().message.c_str());
            return AddressClass::kTempFail;
        }
        if (found->has_value()) return kClasses[i];
    }
    return AddressClass::kDefault;
}

// RecipientTables

struct RecipientTables::Tables {
    struct Class {
        bool configured = false;
        std::optional<table::Maps> maps;  // empty when the tables could not be opened
    };
    Class local, virtual_mailbox, relay;
    Class canonical, recipient_canonical, sender_canonical, virtual_alias;
    std::string recipient_delimiter;
    mutable std::mutex mu;  // check workers share the tables

    Class open_class(const config::Config& cfg, const char* name, bool* may_block) {
        Class c;
        Result<std::string> value = cfg.get(name);
        if (!value || util::trim(*value).empty()) return c;
        c.configured = true;
        auto maps = table::Maps::open(*value);
        if (!maps) {
            log::warn("%s: %s", name, maps.error().message.c_str());
            return c;
        }
        if (maps->may_block()) *may_block = true;
        c.maps = std::move(*maps);
        return c;
    }

    // kFound, kNotFound, kTempFail, or kNoTable for an empty parameter.
    UserLookup find(const Class& c, std::string_view address, bool local) const {
        if (!c.configured) return UserLookup::kNoTable;
        if (!c.maps) return UserLookup::kTempFail;
        std::string key = util::lowercase(address);
        for (const auto& t : c.maps->tables()) {
            table::AddressLookupOptions opts;
            opts.recipient_delimiter = recipient_delimiter;
            opts.domain_is_local = local;
            opts.pattern_table = t->is_pattern();
            table::Table* raw = t.get();
            auto r = table::find_address(key, opts, [raw](std::string_view k) { return raw->lookup(k); });
            if (!r) return UserLookup::kTempFail;
            if (r->has_value()) return UserLookup::kFound;
        }
        return UserLookup::kNotFound;
    }
};

std::shared_ptr<RecipientTables> RecipientTables::open(const config::Config& config) {
    auto out = std::make_shared<RecipientTables>();
    auto t = std::make_shared<Tables>();
    bool block = false;
    t->local = t->open_class(config, "local_recipient_maps", &block);
    t->virtual_mailbox = t->open_class(config, "virtual_mailbox_maps", &block);
    t->relay = t->open_class(config, "relay_recipient_maps", &block);
    t->canonical = t->open_class(config, "canonical_maps", &block);
    t->recipient_canonical = t->open_class(config, "recipient_canonical_maps", &block);
    t->sender_canonical = t->open_class(config, "sender_canonical_maps", &block);
    t->virtual_alias = t->open_class(config, "virtual_alias_maps", &block);
    if (Result<std::string> d = config.get("recipient_delimiter"); d) t->recipient_delimiter = *d;
    out->t_ = std::move(t);
    out->may_block_ = block;
    return out;
}

UserLookup RecipientTables::lookup_user(std::string_view address, AddressClass cls) const {
    const Tables::Class* c = nullptr;
    switch (cls) {
    case AddressClass::kLocal: c = &t_->local; break;
    case AddressClass::kVirtualMailbox: c = &t_->virtual_mailbox; break;
    case AddressClass::kRelay: c = &t_->relay; break;
    default: return UserLookup::kNoTable;
    }
    std::lock_guard<std::mutex> lock(t_->mu);
    return t_->find(*c, address, cls == AddressClass::kLocal);
}

UserLookup RecipientTables::lookup_rewritten(std::string_view address, AddressClass cls, bool sender) const {
    std::lock_guard<std::mutex> lock(t_->mu);
    bool local = cls == AddressClass::kLocal;
    UserLookup result = UserLookup::kNoTable;
    for (const Tables::Class* c : {sender ? &t_->sender_canonical : &t_->recipient_canonical, &t_->canonical,
                                   &t_->virtual_alias}) {
        UserLookup u = t_->find(*c, address, local);
        if (u == UserLookup::kFound || u == UserLookup::kTempFail) return u;
        if (u == UserLookup::kNotFound) result = u;
    }
    return result;
}

void RecipientTables::install(const std::shared_ptr<RecipientTables>& tables, CheckHooks& hooks) {
    if (!hooks.lookup_user) {
        hooks.lookup_user = [tables](std::string_view address, AddressClass cls) {
            return tables->lookup_user(address, cls);
        };
    }
    if (!hooks.lookup_rewritten) {
        hooks.lookup_rewritten = [tables](std::string_view address, AddressClass cls, bool sender) {
            return tables->lookup_rewritten(address, cls, sender);
        };
    }
}

}  // namespace mailroom::smtpd
