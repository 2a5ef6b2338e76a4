// smtpd_check_address.cc - address classes, relay permission and recipient
// validation (reject_unauth_destination, reject_unlisted_*) over
// lib/address's resolver, and the RecipientTables behind them.
#include "smtpd/smtpd_check_eval.h"

#include <arpa/inet.h>

#include <cctype>
#include <cstdio>
#include <mutex>

#include "lib/config/param_read.h"
#include "lib/log/log.h"
#include "lib/table/access_match.h"
#include "lib/address/addr_find.h"
#include "lib/address/address.h"
#include "lib/address/resolve.h"
#include "lib/table/maps.h"
#include "lib/util/strings.h"

namespace mailroom::smtpd {

using util::iequals;

St Checker::Eval::reject_non_fqdn_address(const std::string& addr, const char* cls) {
    std::string domain = address::domain_lower(addr);
    if (domain.size() > 1 && domain.front() == '[' && domain.back() == ']') return St::kDunno;
    std::string_view d = address::strip_trailing_dot(domain);
    if (!d.empty() && valid_hostname(d) && d.find('.') != std::string_view::npos) return St::kDunno;
    return reject(ErrClass::kPolicy, cfg().non_fqdn_reject_code, "4.5.2",
                  rejected(addr, cls, "need fully-qualified address"));
}

std::string Checker::Eval::qualify(const std::string& addr) const {
    if (address::split(addr).has_at || cfg().myorigin.empty()) return addr;
    return addr + "@" + cfg().myorigin;
}

Result<address::Resolution> Checker::Eval::resolve(const std::string& addr) {
    return c.resolver_.resolve(qualify(addr));
}

St Checker::Eval::permit_auth_destination(const std::string& rcpt) {
    auto r = resolve(rcpt);
    if (!r) return dict_retry(rcpt);
    // Source-routed mail (user%host@us, host!user@us, "user@host"@us)
    // has an uncertain destination: never relayed for an untrusted client.
    if (r->routed && !c.resolver_.options().allow_untrusted_routing) return St::kDunno;
    if (r->final() || r->cls == AddressClass::kRelay) return St::kOk;
    return St::kDunno;
}

St Checker::Eval::reject_unauth_destination(const std::string& rcpt, int code, const char* dsn) {
    St auth = permit_auth_destination(rcpt);
    if (auth == St::kOk) return St::kDunno;
    if (auth == St::kReject) return auth;
    return reject(ErrClass::kPolicy, code, dsn, "<" + rcpt + ">: Relay access denied");
}

St Checker::Eval::check_rcpt_maps(const std::string& addr, const char* cls) {
    bool sender = std::string_view(cls) == kClassSender;
    auto resolved = resolve(addr);
    if (!resolved) return dict_retry(addr);
    const std::string& full = resolved->recipient;
    AddressClass ac = resolved->cls;
    // An address that canonical or virtual alias mapping rewrites is
    // assumed deliverable, whatever its class.
    if (c.hooks_.lookup_rewritten) {
        UserLookup r = c.hooks_.lookup_rewritten(full, ac, sender);
        if (r == UserLookup::kTempFail) return dict_retry(addr);
        if (r == UserLookup::kFound) return St::kDunno;
    }
    if (ac == AddressClass::kDefault) return St::kDunno;
    if (ac == AddressClass::kLocal) {
        std::string lp = util::lowercase(address::unquote_local_part(address::split(full).local));
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

// RecipientTables

struct RecipientTables::Tables {
    struct Class {
        bool configured = false;
        std::optional<table::Maps> maps;  // empty when the tables could not be opened
    };
    Class local, virtual_mailbox, relay;
    Class canonical, recipient_canonical, sender_canonical, virtual_alias;
    address::FindOptions find;  // recipient_delimiter and its exceptions
    std::string myorigin;
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
    // `local`: the address is in a local domain (it resolved to the local
    // class), so the local-part keys apply; so they do in $myorigin.
    UserLookup find_in(const Class& c, std::string_view address, bool local) const {
        if (!c.configured) return UserLookup::kNoTable;
        if (!c.maps) return UserLookup::kTempFail;
        address::FindOptions o = find;
        o.domain_is_local = local || address::domain_lower(address) == myorigin;
        auto r = address::find(util::lowercase(address), o, address::maps_lookup(*c.maps));
        if (!r) return UserLookup::kTempFail;
        return r->has_value() ? UserLookup::kFound : UserLookup::kNotFound;
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
    if (Result<address::ExtensionSettings> e = address::read_extension_settings(config); e) {
        t->find.recipient_delimiter = e->delimiters;
        t->find.owner_request_special = e->owner_request_special;
        t->find.double_bounce_sender = e->double_bounce_sender;
    }
    if (Result<std::string> o = config.get("myorigin"); o) t->myorigin = util::lowercase(util::trim(*o));
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
    return t_->find_in(*c, address, cls == AddressClass::kLocal);
}

UserLookup RecipientTables::lookup_rewritten(std::string_view address, AddressClass cls, bool sender) const {
    std::lock_guard<std::mutex> lock(t_->mu);
    bool local = cls == AddressClass::kLocal;
    UserLookup result = UserLookup::kNoTable;
    for (const Tables::Class* c : {sender ? &t_->sender_canonical : &t_->recipient_canonical, &t_->canonical,
                                   &t_->virtual_alias}) {
        UserLookup u = t_->find_in(*c, address, local);
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
