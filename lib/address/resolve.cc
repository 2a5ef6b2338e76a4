// resolve.cc - see resolve.h.
#include "lib/address/resolve.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>

#include "lib/address/address.h"
#include "lib/config/param_read.h"
#include "lib/log/log.h"
#include "lib/table/access_match.h"
#include "lib/table/domain_list.h"
#include "lib/util/hostname.h"
#include "lib/util/strings.h"

namespace mailroom::address {

const char* class_name(AddressClass cls) {
    switch (cls) {
    case AddressClass::kLocal: return "local";
    case AddressClass::kVirtualAlias: return "virtual alias";
    case AddressClass::kVirtualMailbox: return "virtual mailbox";
    case AddressClass::kRelay: return "relay";
    case AddressClass::kDefault: break;
    }
    return "default";
}

namespace {

// inet_pton/inet_ntop round trip, so "::0001" and "::1" compare equal.
std::optional<std::string> normal_address(std::string_view text) {
    std::string s(text);
    unsigned char buf[sizeof(struct in6_addr)];
    char out[INET6_ADDRSTRLEN];
    if (inet_pton(AF_INET, s.c_str(), buf) == 1) return std::string(inet_ntop(AF_INET, buf, out, sizeof(out)));
    if (inet_pton(AF_INET6, s.c_str(), buf) == 1) return std::string(inet_ntop(AF_INET6, buf, out, sizeof(out)));
    return std::nullopt;
}

void add_sockaddr(const struct sockaddr* sa, std::vector<std::string>* out) {
    char buf[INET6_ADDRSTRLEN];
    if (sa == nullptr) return;
    if (sa->sa_family == AF_INET) {
        auto* in = reinterpret_cast<const struct sockaddr_in*>(sa);
        out->push_back(inet_ntop(AF_INET, &in->sin_addr, buf, sizeof(buf)));
    } else if (sa->sa_family == AF_INET6) {
        auto* in6 = reinterpret_cast<const struct sockaddr_in6*>(sa);
        out->push_back(inet_ntop(AF_INET6, &in6->sin6_addr, buf, sizeof(buf)));
    }
}

// The addresses one inet_interfaces / proxy_interfaces element stands for.
void interface_addresses(const std::string& element, std::vector<std::string>* out) {
    std::string e = element;
    if (e.size() > 2 && e.front() == '[' && e.back() == ']') e = e.substr(1, e.size() - 2);
    if (util::iequals(e, "all")) {
        struct ifaddrs* list = nullptr;
        if (getifaddrs(&list) != 0) return;
        for (struct ifaddrs* i = list; i != nullptr; i = i->ifa_next) add_sockaddr(i->ifa_addr, out);
        freeifaddrs(list);
        return;
    }
    if (util::iequals(e, "loopback-only")) {
        out->push_back("127.0.0.1");
        out->push_back("::1");
        return;
    }
    if (auto n = normal_address(e)) {
        out->push_back(*n);
        return;
    }
    struct addrinfo hints = {};
    hints.ai_socktype = SOCK_STREAM;
    struct addrinfo* res = nullptr;
    if (getaddrinfo(e.c_str(), nullptr, &hints, &res) != 0) {
        log::warn("interface %s: cannot find its address", e.c_str());
        return;
    }
    for (struct addrinfo* a = res; a != nullptr; a = a->ai_next) add_sockaddr(a->ai_addr, out);
    freeaddrinfo(res);
}

// Text of the address (local part and optional domain), kept in the form
// it was written.
struct Work {
    std::string local;
    std::string domain;
    bool has_domain = false;

    void set(std::string_view address) {
        Parts p = split(address);
        local = std::string(p.local);
        domain = std::string(p.domain);
        has_domain = p.has_at;
    }
};

}  // namespace

Result<ExtensionSettings> read_extension_settings(const config::Config& config) {
    ExtensionSettings s;
    if (Status st = config::read_param(config, "recipient_delimiter", &s.delimiters); !st) return st.error();
    if (Status st = config::read_param(config, "owner_request_special", &s.owner_request_special); !st)
        return st.error();
    if (Status st = config::read_param(config, "double_bounce_sender", &s.double_bounce_sender); !st)
        return st.error();
    return s;
}

Result<ResolveOptions> ResolveOptions::from_config(const config::Config& config) {
    ResolveOptions o;
    struct Text {
        const char* name;
        std::string* field;
    };
    for (const Text& t : {Text{"myhostname", &o.myhostname}, Text{"myorigin", &o.myorigin},
                          Text{"empty_address_recipient", &o.empty_address_recipient},
                          Text{"recipient_delimiter", &o.recipient_delimiter},
                          Text{"double_bounce_sender", &o.double_bounce_sender}}) {
        if (Status st = config::read_param(config, t.name, t.field); !st) return st.error();
    }
    o.myhostname = util::lowercase(util::trim(o.myhostname));
    o.myorigin = util::lowercase(util::trim(o.myorigin));
    struct Flag {
        const char* name;
        bool* field;
    };
    for (const Flag& f : {Flag{"allow_percent_hack", &o.allow_percent_hack}, Flag{"swap_bangpath", &o.swap_bangpath},
                          Flag{"resolve_dequoted_address", &o.resolve_dequoted_address},
                          Flag{"resolve_numeric_domain", &o.resolve_numeric_domain},
                          Flag{"allow_untrusted_routing", &o.allow_untrusted_routing},
                          Flag{"owner_request_special", &o.owner_request_special}}) {
        if (Status st = config::read_param(config, f.name, f.field); !st) return st.error();
    }
    for (const char* name : {"inet_interfaces", "proxy_interfaces"}) {
        std::vector<std::string> list;
        if (Status st = config::read_param(config, name, &list); !st) return st.error();
        for (const auto& e : list) interface_addresses(e, &o.own_addresses);
    }
    return o;
}

Resolver::Resolver(ResolveOptions options, DomainClassFn classify, DomainLocalFn local)
    : options_(std::move(options)), classify_(std::move(classify)), local_(std::move(local)) {
    for (auto& a : options_.own_addresses) {
        if (auto n = normal_address(a)) a = *n;
    }
}

bool Resolver::own_literal(std::string_view domain) const {
    auto bare = address_literal(domain);
    if (!bare) return false;
    auto n = normal_address(*bare);
    return n && std::find(options_.own_addresses.begin(), options_.own_addresses.end(), *n) !=
                    options_.own_addresses.end();
}

Result<AddressClass> Resolver::classify_domain(std::string_view domain) const {
    std::string d = util::lowercase(strip_trailing_dot(domain));
    if (d.empty() || d.back() == '.') return AddressClass::kDefault;
    if (own_literal(d)) return AddressClass::kLocal;
    if (!classify_) return AddressClass::kDefault;
    return classify_(d);
}

Result<bool> Resolver::domain_is_local(std::string_view domain) const {
    if (local_) {
        std::string d = util::lowercase(strip_trailing_dot(domain));
        if (d.empty() || d.back() == '.') return false;
        if (own_literal(d)) return true;
        return local_(d);
    }
    auto c = classify_domain(domain);
    if (!c) return c.error();
    return *c == AddressClass::kLocal;
}

Result<Resolution> Resolver::resolve(std::string_view address) const {
    const ResolveOptions& o = options_;
    Work w;
    w.set(address);
    std::string saved_domain;
    bool have_saved = false;
    std::optional<AddressClass> remote;  // the class of the domain that ended the loop
    const size_t max_rounds = address.size() + 100;
    for (size_t round = 0; round < max_rounds; ++round) {
        if (w.has_domain) {
            w.domain = std::string(strip_trailing_dot(w.domain));
            if (w.domain.empty()) w.has_domain = false;  // "user@"
        }
        if (w.has_domain) {
            auto c = classify_domain(w.domain);
            if (!c) return c.error();
            if (*c != AddressClass::kLocal) {
                remote = *c;
                break;
            }
            saved_domain = w.domain;
            have_saved = true;
            w.has_domain = false;
            w.domain.clear();
        }
        // Routing operators in what is left of the address.
        if (is_dot_atom(w.local)) {
            size_t bang = o.swap_bangpath ? w.local.find('!') : std::string::npos;
            if (bang != std::string::npos) {  // site!user -> user@site
                std::string site = w.local.substr(0, bang);
                w.local = w.local.substr(bang + 1);
                w.domain = site;
                w.has_domain = true;
                continue;
            }
            size_t pct = o.allow_percent_hack ? w.local.rfind('%') : std::string::npos;
            if (pct != std::string::npos) {  // user%site -> user@site
                w.domain = w.local.substr(pct + 1);
                w.local = w.local.substr(0, pct);
                w.has_domain = true;
                continue;
            }
        } else if (o.resolve_dequoted_address && !w.local.empty()) {
            std::string text = unquote_local_part(w.local);
            size_t op = text.rfind('@');
            char kind = '@';
            if (op == std::string::npos && o.allow_percent_hack && (op = text.rfind('%')) != std::string::npos)
                kind = '%';
            if (op == std::string::npos && o.swap_bangpath && (op = text.find('!')) != std::string::npos) kind = '!';
            if (op != std::string::npos) {
                std::string before = text.substr(0, op), after = text.substr(op + 1);
                w.local = quote_local_part(kind == '!' ? after : before);
                w.domain = kind == '!' ? before : after;
                w.has_domain = true;
                continue;
            }
        }
        break;
    }
    if (w.local.empty() || w.local == "\"\"") w.local = o.empty_address_recipient;

    Resolution r;
    if (remote) {
        r.cls = *remote;
    } else {
        r.cls = AddressClass::kLocal;
        w.domain = have_saved ? saved_domain : o.myhostname;
    }
    r.recipient = w.local + "@" + w.domain;
    r.domain = util::lowercase(w.domain);

    // Syntax of the final domain.
    if (!r.domain.empty() && r.domain.front() == '[') {
        if (!address_literal(r.domain)) r.bad_syntax = true;
    } else if (!util::valid_hostname(r.domain)) {
        if (o.resolve_numeric_domain && util::valid_host_address(r.domain)) {
            r.recipient = w.local + "@[" + w.domain + "]";
            r.domain = "[" + r.domain + "]";
            if (own_literal(r.domain)) r.cls = AddressClass::kLocal;
        } else {
            r.bad_syntax = true;
        }
    }
    if (r.bad_syntax) {
        r.cls = AddressClass::kDefault;
        return r;
    }
    // Routing operators left in the local part (whatever the local
    // settings: the next hop may honour them).
    std::string text = unquote_local_part(w.local);
    r.routed = text.find_first_of("@!%") != std::string::npos;
    return r;
}

Result<FindOptions> Resolver::find_options(std::string_view address, unsigned strategy) const {
    FindOptions f;
    f.recipient_delimiter = options_.recipient_delimiter;
    f.owner_request_special = options_.owner_request_special;
    f.double_bounce_sender = options_.double_bounce_sender;
    f.strategy = strategy;
    Parts p = split(address);
    if (p.has_at && (strategy & (kFindLocalpartIfLocal | kFindLocalpartAtIfLocal))) {
        std::string d = util::lowercase(strip_trailing_dot(p.domain));
        if (d == options_.myorigin) {
            f.domain_is_local = true;
        } else {
            // A failed lookup of the domain must not look like "not local".
            auto local = domain_is_local(d);
            if (!local) return local.error();
            f.domain_is_local = *local;
        }
    }
    return f;
}

Result<std::optional<Found>> Resolver::find(std::string_view address, const KeyLookup& lookup,
                                            unsigned strategy) const {
    auto options = find_options(address, strategy);
    if (!options) return options.error();
    return address::find(address, *options, lookup);
}

// DomainLists

namespace {
constexpr const char* kListNames[4] = {"mydestination", "virtual_alias_domains", "virtual_mailbox_domains",
                                       "relay_domains"};
}

std::shared_ptr<DomainLists> DomainLists::from_config(const config::Config& config) {
    auto l = std::make_shared<DomainLists>();
    std::vector<std::string>* lists[4] = {&l->mydestination, &l->virtual_alias_domains, &l->virtual_mailbox_domains,
                                          &l->relay_domains};
    for (int i = 0; i < 4; ++i) {
        Result<std::string> v = config.get(kListNames[i]);
        if (!v) continue;
        std::vector<std::string> warnings;  // "/file/name" elements become the file's names
        *lists[i] = table::expand_list_files(util::split_list(*v), &warnings);
        for (const auto& w : warnings) log::warn("%s: %s", kListNames[i], w.c_str());
    }
    Result<std::string> parent = config.get("parent_domain_matches_subdomains");
    l->relay_parent_matches_subdomains =
        parent ? table::parent_domain_matches_subdomains(*parent, "relay_domains") : true;
    for (int i = 0; i < 4; ++i) {
        for (const auto& raw : *lists[i]) {
            std::string_view e = raw;
            while (!e.empty() && e.front() == '!') e.remove_prefix(1);
            if (e.find(':') == std::string_view::npos || e.front() == '[') continue;
            auto t = l->tables_.open(e);
            if (!t) {
                log::warn("%s: %s", kListNames[i], t.error().message.c_str());
                continue;
            }
            if ((*t)->may_block()) l->may_block_ = true;
        }
    }
    return l;
}

Result<AddressClass> DomainLists::classify(std::string_view domain) const {
    static constexpr AddressClass kClasses[4] = {AddressClass::kLocal, AddressClass::kVirtualAlias,
                                                 AddressClass::kVirtualMailbox, AddressClass::kRelay};
    const std::vector<std::string>* lists[4] = {&mydestination, &virtual_alias_domains, &virtual_mailbox_domains,
                                                &relay_domains};
    std::string d = util::lowercase(strip_trailing_dot(domain));
    domain = d;
    std::lock_guard<std::mutex> lock(mu_);
    auto lookup = tables_.lookup_function();
    for (int i = 0; i < 4; ++i) {
        bool parents = i == 3 && relay_parent_matches_subdomains;
        Result<bool> in = table::in_domain_list(*lists[i], domain, parents, lookup);
        if (!in) {
            std::string d(domain);
            log::warn("%s lookup of %s: %s", kListNames[i], d.c_str(), in.error().message.c_str());
            return make_temp_error(std::string(kListNames[i]) + " lookup failure");
        }
        if (*in) return kClasses[i];
    }
    return AddressClass::kDefault;
}

Result<bool> DomainLists::is_local(std::string_view domain) const {
    std::string d = util::lowercase(strip_trailing_dot(domain));
    std::lock_guard<std::mutex> lock(mu_);
    Result<bool> in = table::in_domain_list(mydestination, d, false, tables_.lookup_function());
    if (!in) {
        log::warn("%s lookup of %s: %s", kListNames[0], d.c_str(), in.error().message.c_str());
        return make_temp_error(std::string(kListNames[0]) + " lookup failure");
    }
    return *in;
}

DomainLocalFn DomainLists::local_tester(std::shared_ptr<const DomainLists> lists) {
    return [lists = std::move(lists)](std::string_view domain) { return lists->is_local(domain); };
}

DomainClassFn DomainLists::classifier(std::shared_ptr<const DomainLists> lists) {
    return [lists = std::move(lists)](std::string_view domain) { return lists->classify(domain); };
}

Result<std::shared_ptr<Resolver>> resolver_from_config(const config::Config& config,
                                                       std::shared_ptr<DomainLists>* lists_out) {
    auto options = ResolveOptions::from_config(config);
    if (!options) return options.error();
    auto lists = DomainLists::from_config(config);
    if (lists_out) *lists_out = lists;
    return std::make_shared<Resolver>(std::move(*options), DomainLists::classifier(lists),
                                      DomainLists::local_tester(lists));
}

}  // namespace mailroom::address
