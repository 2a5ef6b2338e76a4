// smtpd_dns.cc - smtpd_check's DNS questions on lib/dns (see smtpd_dns.h).
#include "smtpd/smtpd_dns.h"

#include <string>

#include "lib/log/log.h"

namespace mailroom::smtpd {

Result<dns::Options> dns_options(const config::Config& config) {
    dns::Options options;
    auto servers = config.get_list("dns_servers");
    if (!servers) return servers.error();
    for (const auto& s : *servers) {
        if (!options.servers.empty()) options.servers += ",";
        options.servers += s;
    }
    return options;
}

namespace {

// Folds answers of several questions: found wins, then temporary failure.
class Fold {
public:
    void add(const dns::Answer& a) {
        if (a.found()) found_ = true;
        if (a.outcome == dns::Outcome::kTempFail) temp_ = true;
    }
    bool found() const { return found_; }
    DnsStatus status() const {
        if (found_) return DnsStatus::kOk;
        return temp_ ? DnsStatus::kTempFail : DnsStatus::kNotFound;
    }

private:
    bool found_ = false;
    bool temp_ = false;
};

}  // namespace

DnsStatus LibDnsResolver::lookup_host(std::string_view name) {
    Fold fold;
    for (dns::Type t : {dns::Type::kA, dns::Type::kAAAA, dns::Type::kMX}) {
        fold.add(dns::lookup_blocking(name, t, options_));
        if (fold.found()) break;
    }
    return fold.status();
}

DnsStatus LibDnsResolver::lookup_mail_domain(std::string_view domain) {
    dns::Answer mx = dns::lookup_blocking(domain, dns::Type::kMX, options_);
    if (mx.found()) return mx.null_mx ? DnsStatus::kNullMx : DnsStatus::kOk;
    Fold fold;
    fold.add(mx);
    for (dns::Type t : {dns::Type::kA, dns::Type::kAAAA}) {
        fold.add(dns::lookup_blocking(domain, t, options_));
        if (fold.found()) break;
    }
    return fold.status();
}

DnsListAnswer LibDnsResolver::lookup_dnsxl(std::string_view query) {
    DnsListAnswer out;
    dns::Answer a = dns::lookup_blocking(query, dns::Type::kA, options_);
    if (a.outcome == dns::Outcome::kTempFail) {
        out.status = DnsStatus::kTempFail;
        return out;
    }
    if (!a.found()) {
        out.status = DnsStatus::kNotFound;
        return out;
    }
    out.status = DnsStatus::kOk;
    out.addresses = a.addresses;
    dns::Answer txt = dns::lookup_blocking(query, dns::Type::kTXT, options_);
    for (const auto& t : txt.txt) {
        if (!out.txt.empty()) out.txt += " / ";
        out.txt += t;
    }
    return out;
}

}  // namespace mailroom::smtpd
