// qmgr_transport.cc - see qmgr_transport.h.
#include "qmgr/qmgr_transport.h"

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

Result<Route> resolve_route(const RoutingConfig& config, std::string_view recipient, const TransportLookup& lookup) {
    static const address::Resolver kNoDomains(address::ResolveOptions{}, nullptr);
    const address::Resolver& resolver = config.resolver ? *config.resolver : kNoDomains;
    auto resolved = resolver.resolve(recipient);
    if (!resolved) return resolved.error();
    const std::string& domain = resolved->domain;

    // The address class decides the default transport.
    std::string class_value;
    switch (resolved->cls) {
    case address::AddressClass::kLocal: class_value = config.local_transport; break;
    case address::AddressClass::kVirtualAlias:
        class_value = "error:5.1.1 User unknown in virtual alias table";
        break;
    case address::AddressClass::kVirtualMailbox: class_value = config.virtual_transport; break;
    case address::AddressClass::kRelay: class_value = config.relay_transport; break;
    case address::AddressClass::kDefault: class_value = config.default_transport; break;
    }
    if (resolved->bad_syntax) {
        Route r{"error", "5.1.3 bad address syntax", true, resolved->recipient};
        return r;
    }
    TransportValue chosen = parse_transport_value(class_value);

    if (lookup) {
        std::vector<std::string> keys;
        keys.push_back(util::lowercase(resolved->recipient));
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
    route.recipient = resolved->recipient;
    return route;
}

}  // namespace mailroom::qmgr
