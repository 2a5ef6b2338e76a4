// qmgr_transport.h - which transport and nexthop deliver a recipient (pure).
//
// Summary
//   resolve_route() maps a recipient address to a Route as Postfix's
//   trivial-rewrite does for qmgr: the address is resolved by lib/address
//   (address/resolve.h: trailing dot, percent hack, bang path, quoted
//   local parts, address literals of our own addresses, the domain lists
//   with their "!" exclusions and type:table elements); the class decides
//   the default transport: local to $local_transport, virtual alias to the
//   error transport ("User unknown in virtual alias table": cleanup
//   rewrote every alias it knew), virtual mailbox to $virtual_transport,
//   relay to $relay_transport, everything else to $default_transport; an
//   address whose domain is not valid bounces ("bad address syntax").
//   transport_maps comes first (keys: the full address, the domain, each
//   parent domain as ".parent", then "*"). Route::recipient is the resolved
//   address, the one delivered to.
//
// Description
//   A transport value is "transport:nexthop" (parse_transport_value()).
//   An empty transport in a transport_maps result means "the default of
//   the address class"; an empty nexthop means the recipient's domain,
//   and the Route says the nexthop was not explicit (discard and error use
//   the nexthop as their reason text only when it was). A table lookup
//   failure is returned as an error (temporary for a temporary failure):
//   the recipient is deferred, never sent elsewhere.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lib/address/resolve.h"
#include "lib/util/result.h"

namespace mailroom::qmgr {

struct Route {
    std::string transport;
    std::string nexthop;
    bool nexthop_explicit = false;
    std::string recipient = {};  // the resolved address ("" = as queued)

    // The same way out (transport and nexthop), whatever the recipient.
    bool operator==(const Route& o) const {
        return transport == o.transport && nexthop == o.nexthop && nexthop_explicit == o.nexthop_explicit;
    }
};

struct RoutingConfig {
    // The address resolver (null: nothing is local but unqualified names).
    std::shared_ptr<const address::Resolver> resolver;
    std::string local_transport = "local";
    std::string virtual_transport = "virtual";
    std::string relay_transport = "relay";
    std::string default_transport = "smtp";
};

// One lookup through every transport_maps table in order (first hit wins).
using TransportLookup = std::function<Result<std::optional<std::string>>(std::string_view key)>;

struct TransportValue {
    std::string transport;  // "" = not given
    std::string nexthop;    // "" = not given
};
TransportValue parse_transport_value(std::string_view value);

Result<Route> resolve_route(const RoutingConfig& config, std::string_view recipient, const TransportLookup& lookup);

}  // namespace mailroom::qmgr
