// qmgr_transport.cc - see qmgr_transport.h.
#include "qmgr/qmgr_transport.h"

#include "lib/table/domain_list.h"
#include "lib/util/interfaces.h"
#include "lib/util/strings.h"

namespace mailroom::qmgr {

TransportValue parse_transport_value(std::string_view value) {
    value = util::trim(value);
    TransportValue out;
    // "[host]:port" has colons of its own: only the first colon splits.
    auto colon = value.find(':');
    if (colon == std::string_view::npos) {
        out.transport = std::string(value);
        return out;
    }
    out.transport = std::string(value.substr(0, colon));
    out.nexthop = std::string(value.substr(colon + 1));
    return out;
}

std::string address_domain(std::string_view address) {
    auto at = address.rfind('@');
    if (at == std::string_view::npos) return {};
    return util::lowercase(address.substr(at + 1));
}

Result<bool> in_domain_list(const RoutingConfig& config, const std::vector<std::string>& list,
                            std::string_view domain, bool match_subdomains) {
    return table::in_domain_list(list, domain, match_subdomains, config.domain_table);
}

Result<Route> resolve_route(const RoutingConfig& config, std::string_view recipient, const TransportLookup& lookup) {
    std::string domain = address_domain(recipient);

    // The address class decides the default transport.
    std::string class_value;
    bool non_local = false;  // the relay or default class
    auto in = [&](const std::vector<std::string>& list, bool subdomains) {
        return in_domain_list(config, list, domain, subdomains);
    };
    Result<bool> local = domain.empty() || util::is_own_address_literal(domain, config.own_addresses)
                             ? Result<bool>(true)
                             : in(config.mydestination, false);
    if (!local) return local.error();
    if (*local) {
        class_value = config.local_transport;
    } else {
        Result<bool> alias = in(config.virtual_alias_domains, false);
        if (!alias) return alias.error();
        Result<bool> mailbox = *alias ? Result<bool>(false) : in(config.virtual_mailbox_domains, false);
        if (!mailbox) return mailbox.error();
        Result<bool> relay = (*alias || *mailbox) ? Result<bool>(false) : in(config.relay_domains, true);
        if (!relay) return relay.error();
        if (*alias) class_value = "error:5.1.1 User unknown in virtual alias table";
        else if (*mailbox) class_value = config.virtual_transport;
        else if (*relay) class_value = config.relay_transport;
        else class_value = config.default_transport;
        non_local = !*alias && !*mailbox;
    }
    TransportValue chosen = parse_transport_value(class_value);
    // relayhost replaces the recipient domain of non-local mail (relay and
    // default classes); a nexthop in the class's transport value or in
    // transport_maps overrides it.
    if (non_local && chosen.nexthop.empty() && !config.relayhost.empty()) chosen.nexthop = config.relayhost;

    if (lookup) {
        std::vector<std::string> keys;
        keys.push_back(util::lowercase(recipient));
        if (!domain.empty()) {
            keys.push_back(domain);
            for (auto dot = domain.find('.'); dot != std::string::npos; dot = domain.find('.', dot + 1))
                keys.push_back(domain.substr(dot));
        }
        keys.push_back("*");
        for (const auto& key : keys) {
            auto hit = lookup(key);
            if (!hit) return hit.error();
            if (!*hit) continue;
            TransportValue v = parse_transport_value(**hit);
            if (!v.transport.empty()) chosen.transport = v.transport;
            // A table entry without nexthop keeps the class's nexthop only
            // when it also kept the class's transport.
            if (!v.nexthop.empty() || !v.transport.empty()) chosen.nexthop = v.nexthop;
            break;
        }
    }
    if (chosen.transport.empty()) return make_error("empty transport for recipient " + std::string(recipient));
    Route route;
    route.transport = chosen.transport;
    route.nexthop_explicit = !chosen.nexthop.empty();
    route.nexthop = route.nexthop_explicit ? chosen.nexthop : domain;
    return route;
}

}  // namespace mailroom::qmgr
