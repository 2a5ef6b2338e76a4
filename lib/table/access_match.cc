// access_match.cc - check_*_access key order (see access_match.h).
#include "lib/address/address.h"
#include "lib/table/access_match.h"

#include "lib/util/strings.h"

namespace mailroom::table {

std::vector<std::string> access_domain_keys(std::string_view domain, bool parent_matches_subdomains) {
    std::vector<std::string> keys;
    std::string d(domain);
    while (!d.empty() && d.back() == '.') d.pop_back();
    if (d.empty()) return keys;
    keys.push_back(d);
    size_t pos = 0;
    while ((pos = d.find('.', pos + 1)) != std::string::npos) {
        std::string parent = d.substr(pos);  // ".example.com"
        if (parent.size() <= 1) break;
        keys.push_back(parent_matches_subdomains ? parent.substr(1) : parent);
    }
    return keys;
}

std::vector<std::string> access_address_keys(std::string_view address, bool parent_matches_subdomains) {
    std::vector<std::string> keys;
    if (address.empty()) {
        keys.push_back("<>");
        return keys;
    }
    keys.emplace_back(address);
    address::Parts parts = address::split(address);
    if (!parts.has_at) return keys;
    for (std::string& k : access_domain_keys(parts.domain, parent_matches_subdomains)) {
        keys.push_back(std::move(k));
    }
    if (!parts.local.empty()) keys.push_back(parts.local + "@");
    return keys;
}

std::vector<std::string> access_client_keys(std::string_view hostname, std::string_view ip,
                                            bool parent_matches_subdomains) {
    std::vector<std::string> keys = access_domain_keys(hostname, parent_matches_subdomains);
    std::string a(ip);
    if (a.size() >= 2 && a.front() == '[' && a.back() == ']') a = a.substr(1, a.size() - 2);
    if (a.empty()) return keys;
    char delim = a.find(':') != std::string::npos ? ':' : '.';
    for (;;) {
        keys.push_back(a);
        size_t cut = a.rfind(delim);
        if (cut == std::string::npos || cut == 0) break;
        a.resize(cut);
    }
    return keys;
}

AccessResult match_keys(const std::vector<std::string>& keys, const LookupFn& lookup) {
    for (const std::string& k : keys) {
        LookupResult r = lookup(k);
        if (!r) return r.error();
        if (r->has_value()) return std::optional<AccessMatch>(AccessMatch{k, **r});
    }
    return std::optional<AccessMatch>();
}

namespace {
LookupFn of(Table& t) {
    return [&t](std::string_view k) { return t.lookup(k); };
}
}  // namespace

AccessResult match_address_access(Table& table, std::string_view address, bool parent_matches_subdomains) {
    return match_keys(access_address_keys(address, parent_matches_subdomains), of(table));
}

AccessResult match_domain_access(Table& table, std::string_view domain, bool parent_matches_subdomains) {
    return match_keys(access_domain_keys(domain, parent_matches_subdomains), of(table));
}

AccessResult match_client_access(Table& table, std::string_view hostname, std::string_view ip,
                                 bool parent_matches_subdomains) {
    return match_keys(access_client_keys(hostname, ip, parent_matches_subdomains), of(table));
}

bool parent_domain_matches_subdomains(std::string_view param_value, std::string_view feature) {
    for (const std::string& item : util::split_list(param_value)) {
        if (item == feature) return true;
    }
    return false;
}

}  // namespace mailroom::table
