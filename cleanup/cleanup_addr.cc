// cleanup_addr.cc - see cleanup_addr.h.
#include "cleanup/cleanup_addr.h"

#include <set>

#include "lib/address/address.h"
#include "lib/submit/address_list.h"
#include "cleanup/cleanup_header.h"
#include "lib/util/strings.h"

namespace mailroom::cleanup {

namespace {

bool ends_with_icase(std::string_view s, std::string_view suffix) {
    return s.size() >= suffix.size() && util::iequals(s.substr(s.size() - suffix.size()), suffix);
}

}  // namespace

Result<unsigned> parse_address_classes(std::string_view list) {
    unsigned mask = 0;
    for (const auto& name : util::split_list(list)) {
        if (util::iequals(name, "envelope_sender")) mask |= kEnvelopeSender;
        else if (util::iequals(name, "envelope_recipient")) mask |= kEnvelopeRecipient;
        else if (util::iequals(name, "header_sender")) mask |= kHeaderSender;
        else if (util::iequals(name, "header_recipient")) mask |= kHeaderRecipient;
        else return make_error("unknown address class \"" + name + "\"");
    }
    return mask;
}

namespace {

// The table's answer for `address` ("@domain" answers keep the user part)
// and the extension cut off to find it.
Result<std::optional<std::pair<std::string, std::string>>> lookup_rewrite(std::string_view address,
                                                                          const address::Resolver& resolver,
                                                                          const KeyLookup& lookup) {
    using Answer = std::optional<std::pair<std::string, std::string>>;
    if (address.empty()) return Answer();  // the null sender is never rewritten
    auto found = resolver.find(address, lookup);
    if (!found) return found.error();
    if (!found->has_value()) return Answer();
    std::string value(util::trim((*found)->value));
    if (!value.empty() && value[0] == '@') value = std::string(address::split(address).local) + value;
    return Answer(std::make_pair(std::move(value), (*found)->extension));
}

}  // namespace

table::LookupResult canonical_lookup(std::string_view address, const address::Resolver& resolver,
                                     const KeyLookup& lookup, bool propagate_extension) {
    auto r = lookup_rewrite(address, resolver, lookup);
    if (!r) return r.error();
    if (!r->has_value()) return std::optional<std::string>();
    auto& [value, extension] = **r;
    if (propagate_extension && !value.empty()) value = address::add_extension(value, extension);
    return std::optional<std::string>(std::move(value));
}

std::string masquerade_address(std::string_view address, const Masquerade& rules) {
    address::Parts parts = address::split(address);
    std::string_view user = parts.local, domain = parts.domain;
    if (domain.empty()) return std::string(address);
    for (const auto& e : rules.exceptions) {
        if (util::iequals(e, user)) return std::string(address);
    }
    for (const auto& entry : rules.domains) {
        bool exception = !entry.empty() && entry[0] == '!';
        std::string_view d = exception ? std::string_view(entry).substr(1) : std::string_view(entry);
        if (d.empty()) continue;
        if (util::iequals(domain, d)) return std::string(address);  // already the masquerade domain
        if (!ends_with_icase(domain, "." + std::string(d))) continue;
        if (exception) return std::string(address);
        return std::string(user) + "@" + std::string(d);
    }
    return std::string(address);
}

namespace {

struct Expander {
    const address::Resolver& resolver;
    const KeyLookup& lookup;
    const AliasLimits& limits;
    std::string_view myorigin;
    bool propagate;
    std::string top;
    std::set<std::string> seen;
    std::vector<std::string> out;

    void keep(std::string addr) {
        for (const auto& o : out) {
            if (util::iequals(o, addr)) return;
        }
        out.push_back(std::move(addr));
    }

    Status expand(const std::string& addr, int depth) {
        if (depth > limits.recursion_limit)
            return make_temp_error("unreasonable virtual_alias_maps map nesting for " + top);
        auto r = lookup_rewrite(addr, resolver, lookup);
        if (!r) return make_temp_error("virtual_alias_maps lookup failure: " + r.error().message);
        if (!r->has_value()) {
            keep(addr);
        } else {
            const auto& [value, extension] = **r;
            for (const auto& piece : util::split(value, ", \t\r\n")) {
                std::string q = submit::qualify_address(piece, myorigin);
                if (propagate) q = address::add_extension(q, extension);
                if (util::iequals(q, addr)) {
                    keep(std::move(q));  // an alias of itself is delivered as is
                    continue;
                }
                if (!seen.insert(util::lowercase(q)).second) continue;  // duplicate or loop
                if (auto st = expand(q, depth + 1); !st) return st;
            }
        }
        if (limits.expansion_limit > 0 && static_cast<long>(out.size()) > limits.expansion_limit)
            return make_temp_error("unreasonable virtual_alias_maps map expansion size for " + top);
        return ok_status();
    }
};

}  // namespace

KeyLookup maps_lookup(const std::shared_ptr<const table::Maps>& maps) {
    return [maps](std::string_view key, bool partial) -> table::LookupResult {
        if (!maps) return std::optional<std::string>();
        return address::maps_lookup(*maps)(key, partial);
    };
}

const address::Resolver& RewriteConfig::resolver_or_default() const {
    static const address::Resolver kNone(address::ResolveOptions{}, nullptr);
    return resolver ? *resolver : kNone;
}

Result<std::string> rewrite_address(std::string_view address, AddressClass cls, const RewriteConfig& config) {
    std::string out(address);
    auto apply = [&](const std::shared_ptr<const table::Maps>& maps, unsigned classes, const char* param) -> Status {
        if (!maps || maps->empty() || !(classes & cls)) return ok_status();
        auto r = canonical_lookup(out, config.resolver_or_default(), maps_lookup(maps), config.propagate_canonical);
        if (!r) return make_temp_error(std::string(param) + " lookup failure: " + r.error().message);
        if (r->has_value() && !(*r)->empty()) out = **r;
        return ok_status();
    };
    bool sender = cls == kEnvelopeSender || cls == kHeaderSender;
    if (sender) {
        if (auto st = apply(config.sender_canonical, config.sender_canonical_classes, "sender_canonical_maps"); !st)
            return st.error();
    } else {
        if (auto st = apply(config.recipient_canonical, config.recipient_canonical_classes,
                            "recipient_canonical_maps");
            !st)
            return st.error();
    }
    if (auto st = apply(config.canonical, config.canonical_classes, "canonical_maps"); !st) return st.error();
    if (config.masquerade_classes & cls) out = masquerade_address(out, config.masquerade);
    return out;
}

unsigned header_address_class(std::string_view name) {
    static constexpr std::string_view kSenders[] = {"From",        "Sender",        "Resent-From",
                                                    "Resent-Sender", "Reply-To",    "Resent-Reply-To",
                                                    "Errors-To",   "Return-Receipt-To"};
    static constexpr std::string_view kRecipients[] = {"To", "Cc", "Bcc", "Resent-To", "Resent-Cc", "Resent-Bcc",
                                                       "Apparently-To"};
    for (auto h : kSenders)
        if (util::iequals(name, h)) return kHeaderSender;
    for (auto h : kRecipients)
        if (util::iequals(name, h)) return kHeaderRecipient;
    return 0;
}

Result<std::string> rewrite_header_addresses(std::string_view header, const RewriteConfig& config) {
    unsigned cls = header_address_class(header_name(header));
    if (cls == 0) return std::string(header);
    std::size_t colon = header.find(':');
    std::string_view value = header.substr(colon + 1);
    std::string out(header.substr(0, colon + 1));
    std::size_t copied = 0;
    for (const auto& m : submit::split_address_list(value)) {
        std::string_view addr = value.substr(m.addr_begin, m.addr_end - m.addr_begin);
        if (addr.empty() || addr == "<>") continue;
        auto r = rewrite_address(addr, static_cast<AddressClass>(cls), config);
        if (!r) return r.error();
        if (*r == addr) continue;
        out.append(value.substr(copied, m.addr_begin - copied));
        out.append(*r);
        copied = m.addr_end;
    }
    out.append(value.substr(copied));
    return out;
}

Result<std::vector<std::string>> expand_virtual_alias(std::string_view address, const address::Resolver& resolver,
                                                      const KeyLookup& lookup, const AliasLimits& limits,
                                                      std::string_view myorigin, bool propagate_extension) {
    Expander ex{resolver, lookup, limits, myorigin, propagate_extension, std::string(address), {}, {}};
    ex.seen.insert(util::lowercase(address));
    if (auto st = ex.expand(std::string(address), 0); !st) return st.error();
    // A loop that leads nowhere else (a -> b -> a) keeps the recipient rather than losing it.
    if (ex.out.empty()) ex.out.emplace_back(address);
    return std::move(ex.out);
}

}  // namespace mailroom::cleanup
