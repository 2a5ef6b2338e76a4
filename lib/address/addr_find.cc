// addr_find.cc - see addr_find.h.
#include "lib/address/addr_find.h"

#include "lib/address/address.h"

namespace mailroom::address {

std::vector<Key> lookup_keys(std::string_view address, const FindOptions& o) {
    std::vector<Key> keys;
    ExtensionRules rules{o.recipient_delimiter, o.owner_request_special, o.double_bounce_sender};
    std::optional<Stripped> bare;
    if (o.strategy & kFindNoExt) bare = strip_extension(address, rules);
    Parts full = split(address);
    if (o.strategy & kFindFull) keys.push_back({std::string(address), false, ""});
    if (bare) keys.push_back({bare->address, true, bare->extension});
    if (!full.has_at) return keys;

    // Local-part keys, with and without the extension.
    auto local_keys = [&](const char* suffix) {
        keys.push_back({std::string(full.local) + suffix, true, ""});
        if (bare) keys.push_back({std::string(split(bare->address).local) + suffix, true, bare->extension});
    };
    if (o.domain_is_local && (o.strategy & kFindLocalpartIfLocal)) local_keys("");
    if (o.domain_is_local && (o.strategy & kFindLocalpartAtIfLocal)) local_keys("@");
    if (o.strategy & kFindAtDomain) keys.push_back({"@" + std::string(full.domain), true, ""});
    if (o.strategy & kFindLocalpartAt) local_keys("@");
    return keys;
}

Result<std::optional<Found>> find(std::string_view address, const FindOptions& options, const KeyLookup& lookup) {
    for (const Key& k : lookup_keys(address, options)) {
        table::LookupResult r = lookup(k.text, k.partial);
        if (!r) return r.error();
        if (!r->has_value()) continue;
        return std::optional<Found>(Found{k.text, **r, k.extension});
    }
    return std::optional<Found>();
}

KeyLookup maps_lookup(const table::Maps& maps) {
    return [&maps](std::string_view key, bool partial) -> table::LookupResult {
        for (const auto& t : maps.tables()) {
            if (partial && t->is_pattern()) continue;
            table::LookupResult r = t->lookup(key);
            if (!r || r->has_value()) return r;
        }
        return std::optional<std::string>();
    };
}

KeyLookup table_lookup(table::Table& table) {
    return [&table](std::string_view key, bool partial) -> table::LookupResult {
        if (partial && table.is_pattern()) return std::optional<std::string>();
        return table.lookup(key);
    };
}

KeyLookup plain_lookup(std::function<table::LookupResult(std::string_view key)> fn) {
    return [fn = std::move(fn)](std::string_view key, bool) { return fn(key); };
}

}  // namespace mailroom::address
