// addr_find.h - the keys an address is looked up with in an address
// table (virtual_alias_maps, canonical_maps, local_recipient_maps,
// virtual_mailbox_maps, smtpd_sender_login_maps, ...): Postfix's
// mail_addr_find(), written once.
//
// Summary
//   lookup_keys() lists the keys for "user+ext@domain", in this order,
//   each one only when its strategy bit is set:
//     kFindFull               user+ext@domain
//     kFindNoExt              user@domain          (an extension was split off)
//     kFindLocalpartIfLocal   user+ext, user       (the domain is local: see below)
//     kFindLocalpartAtIfLocal user+ext@, user@     (ditto)
//     kFindAtDomain           @domain
//     kFindLocalpartAt        user+ext@, user@     (whatever the domain)
//   The extension is cut off as address.h's strip_extension() says
//   (recipient_delimiter, several characters allowed, owner-/-request).
//   "The domain is local" is the caller's answer (Resolver::
//   domain_is_local(): $myorigin, $mydestination, or an address literal of
//   inet_interfaces / proxy_interfaces). An address without '@' is looked
//   up as itself, then without its extension.
//   Only the first key is "full"; the others are partial, and pattern
//   tables (regexp, pcre, cidr) never see partial keys, as in Postfix.
//   kFindDefault is the strategy of canonical(5), virtual(5) and the
//   recipient tables; kFindVirtualMailbox that of virtual(8)
//   (virtual_mailbox_maps, virtual_uid_maps, ...: no local-part keys).
//
//   find() walks the keys over a KeyLookup; the first answer wins and an
//   error stops the search (it is returned). Found::extension is the
//   extension (with its delimiter) that had to be cut off to match, for
//   propagate_unmatched_extensions; "" when the match kept it.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lib/table/maps.h"
#include "lib/table/table.h"

namespace mailroom::address {

enum FindStrategy : unsigned {
    kFindFull = 1u << 0,
    kFindNoExt = 1u << 1,
    kFindLocalpartIfLocal = 1u << 2,
    kFindLocalpartAtIfLocal = 1u << 3,
    kFindAtDomain = 1u << 4,
    kFindLocalpartAt = 1u << 5,
};
constexpr unsigned kFindDefault = kFindFull | kFindNoExt | kFindLocalpartIfLocal | kFindAtDomain;
constexpr unsigned kFindVirtualMailbox = kFindFull | kFindNoExt | kFindAtDomain;

struct FindOptions {
    std::string recipient_delimiter;       // "" = no extensions
    bool owner_request_special = true;
    std::string double_bounce_sender = "double-bounce";
    bool domain_is_local = false;          // for the kFind*IfLocal keys
    unsigned strategy = kFindDefault;
};

struct Key {
    std::string text;
    bool partial = false;         // not the whole address: pattern tables skip it
    std::string extension;        // cut off to make this key ("+ext"), "" if none
};

std::vector<Key> lookup_keys(std::string_view address, const FindOptions& options);

// One key through a table or a list of tables; `partial` as in Key.
using KeyLookup = std::function<table::LookupResult(std::string_view key, bool partial)>;

struct Found {
    std::string key;        // the key that matched
    std::string value;      // the table's answer
    std::string extension;  // see the file comment
};

Result<std::optional<Found>> find(std::string_view address, const FindOptions& options, const KeyLookup& lookup);

// KeyLookup adapters. The tables must outlive the function.
KeyLookup maps_lookup(const table::Maps& maps);      // every table in order, per key
KeyLookup table_lookup(table::Table& table);         // one table
// Every key to `fn`, pattern table or not (for tests and callers whose
// tables are never pattern tables).
KeyLookup plain_lookup(std::function<table::LookupResult(std::string_view key)> fn);

}  // namespace mailroom::address
