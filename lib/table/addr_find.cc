// addr_find.cc - see addr_find.h.
#include "lib/table/addr_find.h"

namespace mailroom::table {

namespace {

struct Split {
    std::string local;      // with extension
    std::string base;       // without extension ("" when none was split)
    std::string extension;  // without the delimiter
    std::string domain;     // "" when the address has no '@'
    bool has_at = false;
};

Split split(std::string_view address, const std::string& delimiters) {
    Split s;
    size_t at = address.rfind('@');
    s.has_at = at != std::string_view::npos;
    s.local = std::string(s.has_at ? address.substr(0, at) : address);
    if (s.has_at) s.domain = std::string(address.substr(at + 1));
    if (!delimiters.empty() && s.local.size() > 1) {
        size_t d = s.local.find_first_of(delimiters, 1);  // never at the start
        if (d != std::string::npos) {
            s.base = s.local.substr(0, d);
            s.extension = s.local.substr(d + 1);
        }
    }
    return s;
}

}  // namespace

std::vector<std::string> address_lookup_keys(std::string_view address, const AddressLookupOptions& options) {
    std::vector<std::string> keys;
    keys.emplace_back(address);
    if (options.pattern_table) return keys;
    Split s = split(address, options.recipient_delimiter);
    bool split_off = !s.base.empty();
    if (s.has_at && split_off) keys.push_back(s.base + "@" + s.domain);
    if (s.has_at && options.domain_is_local) {
        keys.push_back(s.local);
        if (split_off) keys.push_back(s.base);
    }
    if (s.has_at && !s.domain.empty()) keys.push_back("@" + s.domain);
    if (!s.has_at && split_off) keys.push_back(s.base);
    return keys;
}

AccessResult find_address(std::string_view address, const AddressLookupOptions& options, const LookupFn& lookup,
                          std::string* extension) {
    if (extension) extension->clear();
    Split s = split(address, options.pattern_table ? std::string() : options.recipient_delimiter);
    for (const std::string& k : address_lookup_keys(address, options)) {
        LookupResult r = lookup(k);
        if (!r) return r.error();
        if (!r->has_value()) continue;
        if (extension && !s.base.empty() && (k == s.base || k == s.base + "@" + s.domain)) {
            *extension = s.extension;
        }
        return std::optional<AccessMatch>(AccessMatch{k, **r});
    }
    return std::optional<AccessMatch>();
}

}  // namespace mailroom::table
