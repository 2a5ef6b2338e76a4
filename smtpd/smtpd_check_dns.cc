// smtpd_check_dns.cc - client and HELO name checks and the DNS-based
// restrictions (reject_unknown_*, reject_rbl_*, reject_rhsbl_*,
// permit_dnswl_client, permit_rhswl_client).
#include "smtpd/smtpd_check_eval.h"

#include <arpa/inet.h>

#include <cctype>
#include <cstdio>
#include <mutex>

#include "lib/config/param_read.h"
#include "lib/log/log.h"
#include "lib/table/access_match.h"
#include "lib/table/maps.h"
#include "lib/util/strings.h"

namespace mailroom::smtpd {

using util::iequals;

namespace check_internal {

// Matches one octet against "N", "[a..b]", "[a;b;c..d]".
bool octet_matches(std::string_view pat, int value) {
    if (pat.size() >= 2 && pat.front() == '[' && pat.back() == ']') {
        std::string_view body = pat.substr(1, pat.size() - 2);
        for (const std::string& item : util::split(body, ";")) {
            size_t dots = item.find("..");
            if (dots == std::string::npos) {
                if (all_digits(item) && item.size() <= 3 && std::stoi(item) == value) return true;
            } else {
                std::string lo = item.substr(0, dots), hi = item.substr(dots + 2);
                if (all_digits(lo) && all_digits(hi) && lo.size() <= 3 && hi.size() <= 3 && value >= std::stoi(lo) &&
                    value <= std::stoi(hi)) {
                    return true;
                }
            }
        }
        return false;
    }
    return all_digits(pat) && pat.size() <= 3 && std::stoi(std::string(pat)) == value;
}

// reject_rbl_client domain=pattern: does any A record match?
bool rbl_address_matches(std::string_view pattern, const std::string& address) {
    // Split on dots outside [...] ("127.0.0.[1..3]" has dots inside).
    std::vector<std::string> pp;
    std::string cur;
    int depth = 0;
    for (char ch : pattern) {
        if (ch == '[') ++depth;
        if (ch == ']') --depth;
        if (ch == '.' && depth == 0) {
            pp.push_back(cur);
            cur.clear();
        } else {
            cur.push_back(ch);
        }
    }
    pp.push_back(cur);
    std::vector<std::string> ap = util::split(address, ".");
    if (pp.size() != 4 || ap.size() != 4) return false;
    for (size_t i = 0; i < 4; ++i) {
        if (!all_digits(ap[i]) || ap[i].size() > 3) return false;
        if (!octet_matches(pp[i], std::stoi(ap[i]))) return false;
    }
    return true;
}

// Reversed-address DNSBL query name prefix ("4.3.2.1." or IPv6 nibbles).
std::optional<std::string> reverse_query(std::string_view addr) {
    std::string a(addr);
    in_addr v4{};
    in6_addr v6{};
    if (inet_pton(AF_INET, a.c_str(), &v4) == 1) {
        std::vector<std::string> o = util::split(a, ".");
        std::string q;
        for (size_t i = o.size(); i-- > 0;) q += o[i] + ".";
        return q;
    }
    if (inet_pton(AF_INET6, a.c_str(), &v6) == 1) {
        std::string q;
        char buf[8];
        for (int i = 15; i >= 0; --i) {
            std::snprintf(buf, sizeof(buf), "%x.%x.", v6.s6_addr[i] & 0xf, v6.s6_addr[i] >> 4);
            q += buf;
        }
        return q;
    }
    return std::nullopt;
}

}  // namespace check_internal

St Checker::Eval::reject_unknown_client() {
    if (s.client_name_status == PeerStatus::kOk) return St::kDunno;
    int code = s.client_name_status == PeerStatus::kPermFail ? cfg().unknown_client_reject_code : 450;
    return reject(ErrClass::kPolicy, code, "4.7.25",
                  "Client host rejected: cannot find your hostname, [" + s.client_addr + "]");
}

St Checker::Eval::reject_unknown_reverse_client() {
    if (s.reverse_client_name_status == PeerStatus::kOk) return St::kDunno;
    int code = s.reverse_client_name_status == PeerStatus::kPermFail ? cfg().unknown_client_reject_code : 450;
    return reject(ErrClass::kPolicy, code, "4.7.1",
                  "Client host rejected: cannot find your reverse hostname, [" + s.client_addr + "]");
}

St Checker::Eval::reject_invalid_hostaddr(const std::string& helo) {
    std::string_view a = helo;
    if (a.size() > 2 && a.front() == '[' && a.back() == ']') a = a.substr(1, a.size() - 2);
    if (valid_host_address(a)) return St::kDunno;
    return reject(ErrClass::kPolicy, cfg().invalid_hostname_reject_code, "5.5.2",
                  rejected(helo, kClassHelo, "invalid ip address"));
}

St Checker::Eval::reject_invalid_helo() {
    const std::string& h = *s.helo_name;
    if (!h.empty() && h.front() == '[') return reject_invalid_hostaddr(h);
    std::string_view name = address::strip_trailing_dot(h);
    if (valid_hostname(name) || valid_host_address(name)) return St::kDunno;
    return reject(ErrClass::kPolicy, cfg().invalid_hostname_reject_code, "5.5.2",
                  rejected(h, kClassHelo, "Invalid name"));
}

St Checker::Eval::reject_non_fqdn_helo() {
    const std::string& h = *s.helo_name;
    if (!h.empty() && h.front() == '[') return reject_invalid_hostaddr(h);
    std::string_view name = address::strip_trailing_dot(h);
    if (valid_hostname(name) && name.find('.') != std::string_view::npos) return St::kDunno;
    return reject(ErrClass::kPolicy, cfg().non_fqdn_reject_code, "5.5.2",
                  rejected(h, kClassHelo, "need fully-qualified hostname"));
}

St Checker::Eval::reject_unknown_helo() {
    const std::string& h = *s.helo_name;
    if (!h.empty() && h.front() == '[') return reject_invalid_hostaddr(h);
    if (c.hooks_.dns == nullptr) {
        log::warn("reject_unknown_helo_hostname: no DNS resolver configured");
        return St::kDunno;
    }
    DnsStatus st = c.hooks_.dns->lookup_host(address::strip_trailing_dot(h));
    switch (st) {
    case DnsStatus::kOk:
    case DnsStatus::kNullMx:
        return St::kDunno;
    case DnsStatus::kTempFail:
        set_defer_if_permit(450, "4.7.1", rejected(h, kClassHelo, "Host not found"));
        return St::kDunno;
    case DnsStatus::kMalformed:
        return reject(ErrClass::kPolicy, cfg().unknown_hostname_reject_code, "4.7.1",
                      rejected(h, kClassHelo, "Malformed DNS server reply"));
    case DnsStatus::kNotFound:
        break;
    }
    return reject(ErrClass::kPolicy, cfg().unknown_hostname_reject_code, "4.7.1",
                  rejected(h, kClassHelo, "Host not found"));
}

St Checker::Eval::reject_unknown_address(const std::string& addr, const char* cls) {
    if (!address::split(addr).has_at) return St::kDunno;
    // The domain the address resolves to (trailing dot, percent hack, ...).
    auto resolved = resolve(addr);
    if (!resolved) return dict_retry(addr);
    if (resolved->final()) return St::kDunno;
    std::string domain = resolved->domain;
    if (domain.empty() || domain.front() == '[') return St::kDunno;
    bool sender = std::string_view(cls) == kClassSender;
    const char* dsn = sender ? "4.1.8" : "4.1.2";
    if (c.hooks_.dns == nullptr) {
        log::warn("reject_unknown_%s_domain: no DNS resolver configured", sender ? "sender" : "recipient");
        return St::kDunno;
    }
    DnsStatus st = c.hooks_.dns->lookup_mail_domain(address::strip_trailing_dot(domain));
    switch (st) {
    case DnsStatus::kOk:
        return St::kDunno;
    case DnsStatus::kNullMx:
        return reject(ErrClass::kPolicy, sender ? 550 : 556, sender ? "4.7.27" : "4.1.10",
                      rejected(addr, cls, "Domain " + domain + " does not accept mail (nullMX)"));
    case DnsStatus::kTempFail:
        set_defer_if_permit(450, dsn, rejected(addr, cls, "Domain not found"));
        return St::kDunno;
    case DnsStatus::kMalformed:
        return reject(ErrClass::kPolicy, cfg().unknown_address_reject_code, dsn,
                      rejected(addr, cls, "Malformed DNS server reply"));
    case DnsStatus::kNotFound:
        break;
    }
    return reject(ErrClass::kPolicy, cfg().unknown_address_reject_code, dsn,
                  rejected(addr, cls, "Domain not found"));
}

St Checker::Eval::rbl_reply(std::string_view rbl_domain, const DnsListAnswer& a, std::string_view what, const char* cls) {
    std::string text = "Service unavailable; " + std::string(cls) + " [" + std::string(what) +
                       "] blocked using " + std::string(rbl_domain);
    if (!a.txt.empty()) text += "; " + a.txt.substr(0, 500);
    return reject(ErrClass::kPolicy, cfg().maps_rbl_reject_code, "4.7.1", text);
}

std::optional<DnsListAnswer> Checker::Eval::dnsxl(const std::string& prefix, const std::string& list_spec,
                                   std::string* rbl_domain) {
    size_t eq = list_spec.find('=');
    *rbl_domain = list_spec.substr(0, eq);
    if (c.hooks_.dns == nullptr) {
        log::warn("%s: no DNS resolver configured", rbl_domain->c_str());
        return std::nullopt;
    }
    std::string query = prefix + *rbl_domain;
    DnsListAnswer a = c.hooks_.dns->lookup_dnsxl(query);
    if (a.status == DnsStatus::kTempFail) {
        log::warn("%s: RBL lookup error", query.c_str());
        return std::nullopt;
    }
    if (a.status != DnsStatus::kOk) return std::nullopt;
    if (eq != std::string::npos) {
        std::string pattern = list_spec.substr(eq + 1);
        bool any = false;
        for (const auto& ip : a.addresses) any = any || rbl_address_matches(pattern, ip);
        if (!any) return std::nullopt;
    }
    return a;
}

St Checker::Eval::permit_dnswl(const std::string& list_spec, const std::optional<std::string>& prefix,
                const std::string& reply_name, const std::string& reply_class) {
    if (!prefix) return St::kDunno;
    if (where == "RCPT" && s.recipient && permit_auth_destination(*s.recipient) != St::kOk) return St::kDunno;
    size_t eq = list_spec.find('=');
    std::string domain = list_spec.substr(0, eq);
    if (c.hooks_.dns == nullptr) return St::kDunno;
    DnsListAnswer a = c.hooks_.dns->lookup_dnsxl(*prefix + domain);
    if (a.status == DnsStatus::kTempFail) {
        set_defer_if_reject(450, "4.7.1", rejected(reply_name, reply_class, "Service unavailable"));
        return St::kDunno;
    }
    if (a.status != DnsStatus::kOk) return St::kDunno;
    if (eq != std::string::npos) {
        bool any = false;
        for (const auto& ip : a.addresses) any = any || rbl_address_matches(list_spec.substr(eq + 1), ip);
        if (!any) return St::kDunno;
    }
    return St::kOk;
}

St Checker::Eval::reject_rbl_addr(const std::string& list_spec, const std::string& addr, const char* cls) {
    auto prefix = reverse_query(addr);
    if (!prefix) return St::kDunno;
    std::string rbl_domain;
    auto a = dnsxl(*prefix, list_spec, &rbl_domain);
    if (!a) return St::kDunno;
    return rbl_reply(rbl_domain, *a, addr, cls);
}

St Checker::Eval::reject_rbl_domain(const std::string& list_spec, std::string what, const char* cls) {
    if (address::Parts p = address::split(what); p.has_at) what = std::string(p.domain);
    if (what.empty() || what.front() == '[') return St::kDunno;
    std::string rbl_domain;
    auto a = dnsxl(util::lowercase(what) + ".", list_spec, &rbl_domain);
    if (!a) return St::kDunno;
    return rbl_reply(rbl_domain, *a, what, cls);
}

}  // namespace mailroom::smtpd
