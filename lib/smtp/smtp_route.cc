// smtp_route.cc - the Router: MX and address lookups, ordering, loop
// detection and Postfix's error texts (see smtp_route.h).
#include "lib/smtp/smtp_route.h"

#include <arpa/inet.h>

#include <algorithm>
#include <optional>
#include <random>

#include "lib/event/offload.h"
#include "lib/log/log.h"
#include "lib/util/strings.h"

namespace mailroom::smtp_route {

namespace {

// inet_ntop form of an address, or nullopt when `s` is not one.
std::optional<std::string> normal_address(const std::string& s) {
    unsigned char buf[16];
    char out[INET6_ADDRSTRLEN];
    if (inet_pton(AF_INET, s.c_str(), buf) == 1) return std::string(inet_ntop(AF_INET, buf, out, sizeof(out)));
    if (inet_pton(AF_INET6, s.c_str(), buf) == 1) return std::string(inet_ntop(AF_INET6, buf, out, sizeof(out)));
    return std::nullopt;
}

// Calls `done` with `value` on the next loop turn (never from inside the
// caller, as a lookup's callback would run).
template <class T>
void post(event::Loop& loop, std::function<void(T)> done, T value) {
    loop.defer([done = std::move(done), value = std::move(value)]() mutable { done(std::move(value)); });
}

// A lookup that could not be asked: a temporary failure saying why.
void post_failure(event::Loop& loop, std::function<void(dns::Answer)> done, const Error& why) {
    dns::Answer a;
    a.error = why.message;
    post(loop, std::move(done), std::move(a));
}

bool family_enabled(const RouterConfig& c, const std::string& address) {
    return address.find(':') != std::string::npos ? c.ipv6 : c.ipv4;
}

// Postfix's dsb state: the latest failure text, and whether any failure so
// far was temporary (a soft error dominates past and future hard ones).
struct Why {
    bool set = false;
    bool soft = false;
    std::string dsn;
    std::string text;

    void note(std::string dsn_hard, std::string dsn_soft, std::string t, bool temporary) {
        soft = soft || temporary;
        dsn = (soft ? std::move(dsn_soft) : std::move(dsn_hard));
        text = std::move(t);
        set = true;
    }
    void simple(std::string d, std::string t) {
        soft = soft || (!d.empty() && d[0] == '4');
        dsn = std::move(d);
        text = std::move(t);
        set = true;
    }
};

// The result of one host's address lookup.
struct HostAnswer {
    std::vector<std::string> addresses;
    Why why;
};

// The result of one nexthop (site).
struct SiteResult {
    std::vector<Address> addresses;
    Why why;
    bool i_am_mx = false;   // we are an MX host of the destination
    bool loops = false;     // mail for it loops back (5.4.6) or no primary relay
    uint32_t best_pref = 0; // the nexthop's best MX preference
};

}  // namespace

LookupError dns_error(const std::string& name, dns::Type type, const dns::Answer& answer) {
    LookupError e;
    const char* what = "Host not found";
    if (answer.outcome == dns::Outcome::kTempFail) {
        e.temporary = true;
        what = "Host not found, try again";
    } else if (!answer.nxdomain) {
        what = "Host found but no data record of requested type";
    }
    e.dsn = e.temporary ? "4.4.3" : "5.4.4";
    e.text = util::format("Host or domain name not found. Name service error for name=%s type=%s: %s", name.c_str(),
                          dns::type_name(type), what);
    return e;
}

void order_addresses(std::vector<Address>* list, AddressPreference pref, const std::function<uint32_t()>* random) {
    if (list->size() < 2) return;
    if (random != nullptr && *random) {
        for (size_t i = list->size() - 1; i > 0; --i) {
            size_t j = (*random)() % (i + 1);
            std::swap((*list)[i], (*list)[j]);
        }
    }
    auto rank = [pref](const Address& a) {
        if (pref == AddressPreference::kAny) return 0;
        bool want6 = pref == AddressPreference::kIPv6;
        return a.ipv6() == want6 ? 0 : 1;
    };
    std::stable_sort(list->begin(), list->end(), [&](const Address& a, const Address& b) {
        if (a.preference != b.preference) return a.preference < b.preference;
        return rank(a) < rank(b);
    });
}

void balance_families(std::vector<Address>* list, unsigned limit) {
    if (limit == 0 || list->size() <= limit) return;
    unsigned v4 = 0, v6 = 0;
    for (const auto& a : *list) (a.ipv6() ? v6 : v4)++;
    if (v4 == 0 || v6 == 0) return;
    // How many of each family to keep: a family with no more than half the
    // limit keeps all it has and the other gets the rest; otherwise half
    // each, the odd one going to the family of the first address.
    unsigned keep4, keep6;
    if (v6 <= limit / 2) {
        keep6 = v6;
        keep4 = limit - keep6;
    } else if (v4 <= limit / 2) {
        keep4 = v4;
        keep6 = limit - keep4;
    } else {
        keep4 = (limit + (list->front().ipv6() ? 0 : 1)) / 2;
        keep6 = limit - keep4;
    }
    std::vector<Address> out;
    for (auto& a : *list) {
        unsigned& left = a.ipv6() ? keep6 : keep4;
        if (left > 0) {
            --left;
            out.push_back(std::move(a));
        }
    }
    *list = std::move(out);
}

struct Router::Impl : std::enable_shared_from_this<Router::Impl> {
    event::Loop& loop;
    RouterConfig config;  // a copy: deferred callbacks may outlive the Router
    Lookups lookups;
    std::unique_ptr<dns::Resolver> resolver;
    std::unique_ptr<event::Offload> offload;
    std::function<uint32_t()> random;
    std::shared_ptr<bool> alive = std::make_shared<bool>(true);

    Impl(event::Loop& l, RouterConfig c) : loop(l), config(std::move(c)) {}

    // The lookups, unless the Router is gone.
    void ask_dns(const std::string& name, dns::Type type, std::function<void(dns::Answer)> done) {
        if (*alive) lookups.dns(name, type, std::move(done));
    }
    void ask_native(const std::string& name, std::function<void(dns::Answer)> done) {
        if (*alive) lookups.native(name, std::move(done));
    }

    bool is_self(const std::string& hostname, const std::string& address) const {
        if (!config.myhostname.empty() && util::iequals(hostname, config.myhostname)) return true;
        auto n = normal_address(address);
        if (!n) return false;
        for (const auto& own : config.own_addresses) {
            auto o = normal_address(own);
            if (o && *o == *n) return true;
        }
        return false;
    }

    // --- one host name to addresses (Postfix's smtp_addr_one) ---------------

    void host_addresses(const std::string& host, std::function<void(HostAnswer)> done) {
        HostAnswer out;
        if (auto n = normal_address(host)) {
            if (family_enabled(config, *n)) {
                out.addresses.push_back(*n);
            } else {
                out.why.simple("5.4.4", util::format("Name service error for %s: invalid host or domain name",
                                                     host.c_str()));
            }
            return post(loop, std::move(done), std::move(out));
        }
        if (config.host_lookup_dns) {
            dns_addresses(host, std::move(done));
        } else {
            native_addresses(host, HostAnswer{}, std::move(done));
        }
    }

    // A and/or AAAA, as inet_protocols asks; a temporary failure of either
    // dominates, else the last question's text stands.
    void dns_addresses(const std::string& host, std::function<void(HostAnswer)> done) {
        std::vector<dns::Type> types;
        if (config.ipv4) types.push_back(dns::Type::kA);
        if (config.ipv6) types.push_back(dns::Type::kAAAA);
        struct State {
            std::vector<std::optional<dns::Answer>> answers;
            size_t left = 0;
        };
        auto state = std::make_shared<State>();
        state->answers.resize(types.size());
        state->left = types.size();
        auto self = shared_from_this();
        for (size_t i = 0; i < types.size(); ++i) {
            dns::Type t = types[i];
            ask_dns(host, t, [self, state, types, i, host, done](dns::Answer a) mutable {
                state->answers[i] = std::move(a);
                if (--state->left > 0) return;
                HostAnswer out;
                std::optional<LookupError> temp, last;
                for (size_t k = 0; k < types.size(); ++k) {
                    const dns::Answer& ans = *state->answers[k];
                    if (ans.found()) {
                        for (const auto& addr : ans.addresses) out.addresses.push_back(addr);
                        continue;
                    }
                    LookupError e = dns_error(host, types[k], ans);
                    if (e.temporary && !temp) temp = e;
                    last = e;
                }
                if (!out.addresses.empty()) return done(std::move(out));
                const LookupError& e = temp ? *temp : *last;
                out.why.note("5.4.4", "4.4.4", e.text, e.temporary);
                if (e.temporary) out.why.dsn = "4.4.3";
                // Not found in DNS: the system resolver may still know it.
                if (!e.temporary && self->config.host_lookup_native) {
                    return self->native_addresses(host, std::move(out), std::move(done));
                }
                done(std::move(out));
            });
        }
    }

    void native_addresses(const std::string& host, HostAnswer prior, std::function<void(HostAnswer)> done) {
        auto self = shared_from_this();
        ask_native(host, [self, host, prior = std::move(prior), done = std::move(done)](dns::Answer a) mutable {
            HostAnswer out;
            out.why = prior.why;
            if (a.found()) {
                for (const auto& addr : a.addresses) {
                    if (family_enabled(self->config, addr)) out.addresses.push_back(addr);
                }
                if (out.addresses.empty()) out.why.note("5.4.4", "4.4.4", host + ": host not found", false);
            } else {
                bool temp = a.outcome == dns::Outcome::kTempFail;
                out.why.note("5.4.4", "4.4.4",
                             util::format("unable to look up host %s: %s", host.c_str(), a.error.c_str()), temp);
            }
            done(std::move(out));
        });
    }

    // --- a nexthop to its address list ---------------------------------------

    // Postfix's smtp_host_addr: the host's own addresses.
    void host_site(const Nexthop& n, bool loop_detect, std::function<void(SiteResult)> done) {
        auto self = shared_from_this();
        host_addresses(n.host, [self, n, loop_detect, done = std::move(done)](HostAnswer h) {
            SiteResult r;
            r.why = h.why;
            for (const auto& a : h.addresses) r.addresses.push_back(Address{n.host, a, 0});
            if (!r.addresses.empty() && loop_detect) {
                for (const auto& a : r.addresses) {
                    if (self->is_self(a.hostname, a.address)) {
                        r.addresses.clear();
                        r.loops = true;
                        r.why.simple("5.4.6", util::format("mail for %s loops back to myself", n.host.c_str()));
                        return done(std::move(r));
                    }
                }
            }
            // Several addresses: shuffled, then by family when both are on.
            const auto* shuffle = self->config.randomize_addresses ? &self->random : nullptr;
            AddressPreference pref = self->config.ipv4 && self->config.ipv6 ? self->config.address_preference
                                                                               : AddressPreference::kAny;
            order_addresses(&r.addresses, pref, shuffle);
            if (self->config.balance_inet_protocols) balance_families(&r.addresses, self->config.mx_address_limit);
            done(std::move(r));
        });
    }

    // Postfix's smtp_domain_addr: the MX hosts' addresses.
    void domain_site(const Nexthop& n, bool loop_detect, std::function<void(SiteResult)> done) {
        if (normal_address(n.host)) return host_site(n, loop_detect, std::move(done));
        auto self = shared_from_this();
        ask_dns(n.host, dns::Type::kMX, [self, n, loop_detect, done = std::move(done)](dns::Answer mx) mutable {
            if (mx.outcome == dns::Outcome::kNotFound) return self->host_site(n, loop_detect, std::move(done));
            if (mx.outcome == dns::Outcome::kTempFail) {
                if (self->config.ignore_mx_lookup_error) return self->host_site(n, loop_detect, std::move(done));
                SiteResult r;
                r.why.simple("4.4.3", dns_error(n.host, dns::Type::kMX, mx).text);
                return done(std::move(r));
            }
            bool null_mx = mx.null_mx;
            for (const auto& m : mx.mx) null_mx = null_mx || m.exchange.empty();
            if (null_mx) {
                SiteResult r;
                r.why.simple("5.1.0", util::format("Domain %s does not accept mail (nullMX)", n.host.c_str()));
                return done(std::move(r));
            }
            self->mx_hosts(n, loop_detect, std::move(mx.mx), std::move(done));
        });
    }

    void mx_hosts(const Nexthop& n, bool loop_detect, std::vector<dns::Mx> mx, std::function<void(SiteResult)> done) {
        if (mx.empty()) return host_site(n, loop_detect, std::move(done));
        std::stable_sort(mx.begin(), mx.end(), [](const dns::Mx& a, const dns::Mx& b) {
            return a.preference < b.preference;
        });
        struct State {
            std::vector<dns::Mx> mx;
            std::vector<HostAnswer> answers;
            size_t left = 0;
        };
        auto state = std::make_shared<State>();
        state->mx = std::move(mx);
        state->answers.resize(state->mx.size());
        state->left = state->mx.size();
        auto self = shared_from_this();
        for (size_t i = 0; i < state->mx.size(); ++i) {
            host_addresses(state->mx[i].exchange, [self, state, i, n, loop_detect, done](HostAnswer h) {
                state->answers[i] = std::move(h);
                if (--state->left > 0) return;
                done(self->fold_mx(n, loop_detect, state->mx, state->answers));
            });
        }
    }

    SiteResult fold_mx(const Nexthop& n, bool loop_detect, const std::vector<dns::Mx>& mx,
                       const std::vector<HostAnswer>& answers) {
        SiteResult r;
        r.best_pref = mx.front().preference;
        for (size_t i = 0; i < mx.size(); ++i) {
            const HostAnswer& h = answers[i];
            if (h.why.set) r.why.note(h.why.dsn, h.why.soft ? h.why.dsn : "4" + h.why.dsn.substr(1), h.why.text,
                                      h.why.soft);
            for (const auto& a : h.addresses) r.addresses.push_back(Address{mx[i].exchange, a, mx[i].preference});
        }
        if (r.addresses.empty()) {
            if (config.defer_if_no_mx_address_found && r.why.set && !r.why.soft) {
                r.why.soft = true;
                r.why.dsn[0] = '4';
            }
            log::warn("no MX host for %s has a valid address record", n.host.c_str());
            return r;
        }
        uint32_t best_found = r.addresses.front().preference;
        if (loop_detect) {
            auto it = std::find_if(r.addresses.begin(), r.addresses.end(),
                                   [&](const Address& a) { return is_self(a.hostname, a.address); });
            if (it != r.addresses.end()) {
                r.i_am_mx = true;
                uint32_t mine = it->preference;
                auto cut = std::find_if(r.addresses.begin(), r.addresses.end(),
                                        [&](const Address& a) { return a.preference == mine; });
                r.addresses.erase(cut, r.addresses.end());
                if (r.addresses.empty()) {
                    r.loops = true;
                    if (r.best_pref != best_found) {
                        r.why.simple("4.4.4", util::format("unable to find primary relay for %s", n.host.c_str()));
                    } else {
                        r.why.simple("5.4.6", util::format("mail for %s loops back to myself", n.host.c_str()));
                    }
                    return r;
                }
            }
        }
        order_addresses(&r.addresses, config.address_preference, config.randomize_addresses ? &random : nullptr);
        if (config.balance_inet_protocols) balance_families(&r.addresses, config.mx_address_limit);
        return r;
    }

    // The sites' answers in order, as Postfix's smtp_connect_inet walks
    // them: targets of every site until one says we are its MX host or
    // that mail loops; without any target, the last failure, a permanent
    // one of a fallback relay or of the relayhost made temporary.
    RouteResult finish(const std::vector<Nexthop>& sites, size_t primary, const std::vector<SiteResult>& results) {
        RouteResult out;
        Why last;
        size_t last_site = 0;
        for (size_t i = 0; i < sites.size(); ++i) {
            const Nexthop& n = sites[i];
            const SiteResult& r = results[i];
            if (n.kind == Nexthop::Kind::kUnix) {
                Target t;
                t.hostname = config.myhostname;
                t.path = n.path;
                t.best_mx = true;
                t.site = static_cast<unsigned>(i);
                out.targets.push_back(std::move(t));
                continue;
            }
            size_t count = 0;
            for (const auto& a : r.addresses) {
                if (config.mx_address_limit > 0 && count == config.mx_address_limit) break;
                ++count;
                Target t;
                t.hostname = a.hostname;
                t.address = a.address;
                t.port = n.port;
                t.preference = a.preference;
                t.best_mx = a.preference == r.addresses.front().preference;
                t.site = static_cast<unsigned>(i);
                t.fallback = i >= primary;
                out.targets.push_back(std::move(t));
            }
            if (r.addresses.empty()) {
                last = r.why;
                last_site = i;
            }
            if (r.i_am_mx || r.loops) break;
        }
        if (!out.targets.empty()) {
            out.ok = true;
            return out;
        }
        if (!last.set) last.simple("4.3.0", "server unavailable or unable to receive mail");
        if (!last.soft) {
            if (last_site >= primary) {
                log::warn("%sfallback_relay configuration problem", config.lmtp ? "lmtp_" : "smtp_");
                last.dsn = "4.3.5";
            } else if (!config.lmtp && !config.relayhosts.empty() &&
                       util::iequals(sites.front().destination, config.relayhosts.front().destination)) {
                log::warn("relayhost configuration problem");
                last.dsn = "4.3.5";
            }
        }
        out.dsn = last.dsn;
        out.reason = last.text;
        out.status = out.dsn[0] == '5' ? deliver::DeliveryStatus::kBounced : deliver::DeliveryStatus::kDeferred;
        return out;
    }

    void site(const Nexthop& n, std::function<void(SiteResult)> done) {
        if (n.kind == Nexthop::Kind::kUnix) {
            return post(loop, std::move(done), SiteResult{});
        }
        if (!config.ipv4 && !config.ipv6) {
            SiteResult r;
            r.why.simple("4.4.4", "all network protocols are disabled");
            return post(loop, std::move(done), std::move(r));
        }
        // Loops are looked for on the SMTP port only (another port is
        // another service, perhaps a content filter on this very host).
        bool loop_detect = !config.lmtp && n.port == 25;
        bool lookup_mx = !config.lmtp && config.dns_enabled && n.mx_lookup;
        if (lookup_mx) {
            domain_site(n, loop_detect, std::move(done));
        } else {
            host_site(n, loop_detect, std::move(done));
        }
    }
};

namespace {

Lookups default_lookups(Router::Impl* impl) {
    Lookups l;
    Router::Impl* r = impl;
    l.dns = [r](const std::string& name, dns::Type type, std::function<void(dns::Answer)> done) {
        if (!r->resolver) {
            auto created = dns::Resolver::create(r->loop, r->config.dns);
            if (!created) return post_failure(r->loop, std::move(done), created.error());
            r->resolver = std::move(*created);
        }
        r->resolver->lookup(name, type, std::move(done));
    };
    l.native = [r](const std::string& name, std::function<void(dns::Answer)> done) {
        if (!r->offload) {
            auto created = event::Offload::create(r->loop.base(), 1);
            if (!created) return post_failure(r->loop, std::move(done), created.error());
            r->offload = std::move(*created);
        }
        bool v4 = r->config.ipv4, v6 = r->config.ipv6;
        r->offload->submit_value<dns::Answer>(
            [name, v4, v6]() {
                dns::Answer out;
                out.outcome = dns::Outcome::kNotFound;
                for (bool six : {false, true}) {
                    if (six ? !v6 : !v4) continue;
                    dns::Answer a = dns::system_forward(name, six);
                    if (a.found()) {
                        out.outcome = dns::Outcome::kFound;
                        for (auto& x : a.addresses) out.addresses.push_back(std::move(x));
                    } else if (out.outcome != dns::Outcome::kFound) {
                        if (a.outcome == dns::Outcome::kTempFail) out.outcome = dns::Outcome::kTempFail;
                        if (out.error.empty() || a.outcome == dns::Outcome::kTempFail) out.error = a.error;
                    }
                }
                return out;
            },
            std::move(done));
    };
    return l;
}

}  // namespace

Router::Router(event::Loop& loop, RouterConfig config) : config_(std::move(config)) {
    impl_ = std::make_shared<Impl>(loop, config_);
    impl_->lookups = default_lookups(impl_.get());
    impl_->random = config_.random;
    if (!impl_->random) {
        auto engine = std::make_shared<std::mt19937>(std::random_device{}());
        impl_->random = [engine]() { return static_cast<uint32_t>((*engine)()); };
    }
}

Router::Router(event::Loop& loop, RouterConfig config, Lookups lookups) : Router(loop, std::move(config)) {
    if (lookups.dns) impl_->lookups.dns = std::move(lookups.dns);
    if (lookups.native) impl_->lookups.native = std::move(lookups.native);
}

Router::~Router() {
    // Outstanding lookups hold the Impl; dropping the resolver and the
    // worker cancels theirs, and a callback already queued on the loop
    // finds `alive` false and does not report.
    *impl_->alive = false;
    impl_->resolver.reset();
    impl_->offload.reset();
    impl_->lookups = Lookups{};
}

void Router::resolve(const Nexthop& nexthop, std::function<void(RouteResult)> done) {
    resolve(std::vector<Nexthop>{nexthop}, std::move(done));
}

void Router::resolve(const std::vector<Nexthop>& nexthops, std::function<void(RouteResult)> done) {
    auto impl = impl_;
    auto sites = std::make_shared<std::vector<Nexthop>>(nexthops);
    size_t primary = sites->size();
    bool local = std::any_of(sites->begin(), sites->end(),
                             [](const Nexthop& n) { return n.kind == Nexthop::Kind::kUnix; });
    if (!local) {
        for (const auto& f : config_.fallback_relays) sites->push_back(f);
    } else if (!config_.fallback_relays.empty()) {
        log::warn("ignoring \"%sfallback_relay\" setting for non-TCP connections", config_.lmtp ? "lmtp_" : "smtp_");
    }
    if (sites->empty()) {
        RouteResult r;
        r.dsn = "4.3.5";
        r.reason = "server configuration error";
        return post(impl->loop, std::move(done), std::move(r));
    }
    struct State {
        std::vector<SiteResult> results;
        size_t left = 0;
    };
    auto state = std::make_shared<State>();
    state->results.resize(sites->size());
    state->left = sites->size();
    auto alive = impl->alive;
    for (size_t i = 0; i < sites->size(); ++i) {
        impl->site((*sites)[i], [impl, alive, sites, primary, state, i, done](SiteResult r) {
            state->results[i] = std::move(r);
            if (--state->left > 0 || !*alive) return;
            done(impl->finish(*sites, primary, state->results));
        });
    }
}

}  // namespace mailroom::smtp_route
