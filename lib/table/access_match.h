// access_match.h - the lookup order of check_*_access restrictions.
//
// Summary
//   match_address_access() looks up an envelope address in an access table
//   the way Postfix's check_sender_access/check_recipient_access do:
//     1. the whole address "user@domain" ("<>" for the null sender);
//     2. "domain", then its parent domains - "example.com", "com" when
//        parent_matches_subdomains is true, else ".example.com", ".com";
//     3. "user@".
//   match_client_access() does check_client_access: the client host name
//   and its parent domains (same two styles), then the IP address and its
//   shorter forms ("1.2.3.4", "1.2.3", "1.2", "1"; IPv6 drops one
//   ':'-separated part at a time).
//   The first key found wins. An error (temporary or not) from any step
//   stops the search and is returned: a caller must answer "try again
//   later", never treat it as "no match".
//
// Description
//   access_address_keys() and access_client_keys() return the keys in
//   order, for tests and for callers that look up several tables.
//   parent_domain_matches_subdomains() tells whether a feature (e.g.
//   "smtpd_access_maps") is listed in that parameter's value.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lib/table/table.h"

namespace mailroom::table {

using LookupFn = std::function<LookupResult(std::string_view key)>;

struct AccessMatch {
    std::string key;    // the key that matched
    std::string value;  // the table's answer (e.g. "REJECT", "OK")
};

using AccessResult = Result<std::optional<AccessMatch>>;

std::vector<std::string> access_domain_keys(std::string_view domain, bool parent_matches_subdomains);
std::vector<std::string> access_address_keys(std::string_view address, bool parent_matches_subdomains);
std::vector<std::string> access_client_keys(std::string_view hostname, std::string_view ip,
                                            bool parent_matches_subdomains);

AccessResult match_keys(const std::vector<std::string>& keys, const LookupFn& lookup);
AccessResult match_address_access(Table& table, std::string_view address, bool parent_matches_subdomains);
AccessResult match_domain_access(Table& table, std::string_view domain, bool parent_matches_subdomains);
AccessResult match_client_access(Table& table, std::string_view hostname, std::string_view ip,
                                 bool parent_matches_subdomains);

// True when `feature` appears in the value of parent_domain_matches_subdomains.
bool parent_domain_matches_subdomains(std::string_view param_value, std::string_view feature);

}  // namespace mailroom::table
