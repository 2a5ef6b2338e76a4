// cleanup_addr.h - address rewriting in cleanup: canonical maps,
// masquerading and virtual alias expansion (pure, over lookup functions).
//
// Summary
//   AddressClass and parse_address_classes() read canonical_classes,
//   masquerade_classes and friends (envelope_sender, envelope_recipient,
//   header_sender, header_recipient).
//   canonical_lookup() finds an address in a canonical or virtual table
//   with lib/address's key sequence (Postfix's mail_addr_find: user+ext@domain,
//   user@domain, user+ext and user when the domain is local, @domain);
//   a "@domain" answer keeps the user part; an extension that had to be
//   cut off to match is put back into the answer when
//   propagate_unmatched_extensions says so (canonical, virtual: the
//   default). masquerade_address() strips host parts as masquerade_domains
//   says ("!domain" entries are exceptions, masquerade_exceptions lists
//   users left alone). expand_virtual_alias() expands one envelope
//   recipient through virtual_alias_maps.
//
// Description
//   Alias expansion is breadth of a tree: each answer is split on commas
//   and white space; an address that is not found, or that expands to
//   itself, is kept; an address met before is dropped (duplicates and
//   loops). Nesting deeper than the recursion limit, or more results than
//   the expansion limit, and every table error, are temporary failures: the
//   message must not be accepted now, never delivered half-expanded.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lib/address/resolve.h"
#include "lib/table/maps.h"
#include "lib/table/table.h"

namespace mailroom::cleanup {

enum AddressClass : unsigned {
    kEnvelopeSender = 1,
    kEnvelopeRecipient = 2,
    kHeaderSender = 4,
    kHeaderRecipient = 8,
};

// Bit mask of the class names in a list value; unknown names are errors.
Result<unsigned> parse_address_classes(std::string_view list);

// Looks up one key (address/addr_find.h: pattern tables skip partial keys).
using KeyLookup = address::KeyLookup;

// The rewritten address, or nullopt when no key matched. `resolver`
// answers "is the domain local" and holds recipient_delimiter.
table::LookupResult canonical_lookup(std::string_view address, const address::Resolver& resolver,
                                     const KeyLookup& lookup, bool propagate_extension = true);

struct Masquerade {
    std::vector<std::string> domains;     // masquerade_domains, "!x" = exception
    std::vector<std::string> exceptions;  // masquerade_exceptions (local parts)
};

// The masqueraded address (unchanged when no rule applies).
std::string masquerade_address(std::string_view address, const Masquerade& rules);

struct AliasLimits {
    int recursion_limit = 1000;
    long expansion_limit = 1000;
};

// The recipients `address` expands to (itself when not an alias).
// `qualify` completes an unqualified result (user -> user@myorigin).
Result<std::vector<std::string>> expand_virtual_alias(std::string_view address, const address::Resolver& resolver,
                                                      const KeyLookup& lookup, const AliasLimits& limits,
                                                      std::string_view myorigin, bool propagate_extension = true);

// Everything cleanup needs to rewrite addresses; null maps are empty.
struct RewriteConfig {
    std::shared_ptr<const table::Maps> canonical;
    std::shared_ptr<const table::Maps> sender_canonical;
    std::shared_ptr<const table::Maps> recipient_canonical;
    std::shared_ptr<const table::Maps> virtual_alias;
    unsigned canonical_classes = kEnvelopeSender | kEnvelopeRecipient | kHeaderSender | kHeaderRecipient;
    unsigned sender_canonical_classes = kEnvelopeSender | kHeaderSender;
    unsigned recipient_canonical_classes = kEnvelopeRecipient | kHeaderRecipient;
    Masquerade masquerade;
    unsigned masquerade_classes = kEnvelopeSender | kHeaderSender | kHeaderRecipient;
    // recipient_delimiter, myorigin and the local domains (null: no
    // extensions, nothing local).
    std::shared_ptr<const address::Resolver> resolver;
    bool propagate_canonical = true;  // propagate_unmatched_extensions
    bool propagate_virtual = true;
    AliasLimits alias_limits;

    const address::Resolver& resolver_or_default() const;
};

// KeyLookup over a Maps (never found when maps is null).
KeyLookup maps_lookup(const std::shared_ptr<const table::Maps>& maps);

// One address of class `cls` (a single AddressClass bit) through
// sender/recipient_canonical_maps, canonical_maps and masquerading, in
// Postfix's order. Table errors come back as temporary errors.
Result<std::string> rewrite_address(std::string_view address, AddressClass cls, const RewriteConfig& config);

// kHeaderSender, kHeaderRecipient, or 0 for a header name.
unsigned header_address_class(std::string_view name);

// The header (whole, continuation lines joined by "\n") with every address
// of its value replaced by fn(address); other headers come back unchanged.
Result<std::string> rewrite_header_addresses(std::string_view header, const RewriteConfig& config);

}  // namespace mailroom::cleanup
