// addr_find.h - the lookup order for envelope addresses in address maps
// (virtual_alias_maps, virtual_mailbox_maps, canonical_maps, ...).
//
// Summary
//   address_lookup_keys() lists, in Postfix's order, the keys tried for
//   "user+ext@domain":
//     1. user+ext@domain
//     2. user@domain            (only when an extension was split off)
//     3. user+ext               (only when the domain is local)
//     4. user                   (local domain, extension split off)
//     5. @domain                (catch-all)
//   The extension starts at the first character of the local part that is
//   in recipient_delimiter (empty = no extensions). Pattern tables (regexp,
//   pcre, cidr) see only the whole address, once.
//   find_address() walks the keys over a lookup function; the first answer
//   wins and an error stops the search and is returned.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "lib/table/access_match.h"
#include "lib/table/table.h"

namespace mailroom::table {

struct AddressLookupOptions {
    std::string recipient_delimiter;  // e.g. "+" or "+-"; "" = none
    bool domain_is_local = false;     // domain in mydestination etc.
    bool pattern_table = false;       // regexp/pcre/cidr: whole address only
};

std::vector<std::string> address_lookup_keys(std::string_view address, const AddressLookupOptions& options);

// `extension` (when not null) receives the split-off extension ("ext" for
// user+ext@domain) when the match used a key without it, else "".
AccessResult find_address(std::string_view address, const AddressLookupOptions& options, const LookupFn& lookup,
                          std::string* extension = nullptr);

}  // namespace mailroom::table
