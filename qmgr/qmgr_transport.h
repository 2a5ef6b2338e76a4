// qmgr_transport.h - which transport and nexthop deliver a recipient (pure).
//
// Summary
//   resolve_route() maps a recipient address to a Route as Postfix's
//   trivial-rewrite does for qmgr: transport_maps first (keys: the full
//   address, the domain, each parent domain as ".parent", then "*"); then
//   the address class, in Postfix's order: a domain in $mydestination (or
//   no domain at all) goes to $local_transport; a domain in
//   $virtual_alias_domains to the error transport ("User unknown in
//   virtual alias table": cleanup rewrote every alias it knew); a domain in
//   $virtual_mailbox_domains to $virtual_transport; a domain in
//   $relay_domains (subdomains included) to $relay_transport; everything
//   else to $default_transport. Domain list elements are names, ".domain"
//   (subdomains), "!pattern" (excludes) or "type:table" (the domain, and
//   for relay_domains its parents, looked up through `domain_table`).
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
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lib/table/domain_list.h"
#include "lib/util/result.h"

namespace mailroom::qmgr {

struct Route {
    std::string transport;
    std::string nexthop;
    bool nexthop_explicit = false;

    bool operator==(const Route&) const = default;
};

// Looks `key` up in the table named by `table_spec` ("type:name").
using DomainTableLookup = table::DomainTableLookup;

struct RoutingConfig {
    std::vector<std::string> mydestination;
    std::vector<std::string> virtual_alias_domains;
    std::vector<std::string> virtual_mailbox_domains;
    std::vector<std::string> relay_domains;
    std::string local_transport = "local";
    std::string virtual_transport = "virtual";
    std::string relay_transport = "relay";
    std::string default_transport = "smtp";
    std::string relayhost;  // the nexthop of the relay and default classes, when set
    std::vector<std::string> own_addresses;  // inet_interfaces: [addr] literals of these are local
    DomainTableLookup domain_table;  // for type:table list elements; unset = no tables
};

// One lookup through every transport_maps table in order (first hit wins).
using TransportLookup = std::function<Result<std::optional<std::string>>(std::string_view key)>;

// True when `domain` (lower case) is in the domain list.
Result<bool> in_domain_list(const RoutingConfig& config, const std::vector<std::string>& list,
                            std::string_view domain, bool match_subdomains);

struct TransportValue {
    std::string transport;  // "" = not given
    std::string nexthop;    // "" = not given
};
TransportValue parse_transport_value(std::string_view value);

// The domain part of an address, lower-cased ("" when there is none).
std::string address_domain(std::string_view address);

Result<Route> resolve_route(const RoutingConfig& config, std::string_view recipient, const TransportLookup& lookup);

}  // namespace mailroom::qmgr
