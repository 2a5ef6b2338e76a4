// smtpd_dns.h - the DNS questions of the SMTP server, answered by lib/dns.
//
// Summary
//   LibDnsResolver implements smtpd_check's DnsResolver with blocking
//   lib/dns lookups (each on its own private loop), so it is called only
//   from the check workers, never from the session loop. dns_options()
//   reads dns_servers into lib/dns options.
//
// Description
//   lookup_host: A, then AAAA, then MX of a host name (Postfix's "no DNS A
//   or MX record" test of reject_unknown_helo_hostname).
//   lookup_mail_domain: MX first (a null MX gives kNullMx), else A, else
//   AAAA; not found only when every answer is not found, temporary when
//   nothing was found and one failed temporarily.
//   lookup_dnsxl: the A records of a DNS list query and, when listed, its
//   TXT records joined with " / ".
//
// Thread safety
//   Every method may be called from any thread.
#pragma once

#include <string_view>

#include "lib/config/config.h"
#include "lib/dns/dns.h"
#include "lib/util/result.h"
#include "smtpd/smtpd_check.h"

namespace mailroom::smtpd {

// dns_servers ("127.0.0.1:5353, [::1]:53"; empty = /etc/resolv.conf).
Result<dns::Options> dns_options(const config::Config& config);

class LibDnsResolver : public DnsResolver {
public:
    explicit LibDnsResolver(dns::Options options) : options_(std::move(options)) {}
    DnsStatus lookup_host(std::string_view name) override;
    DnsStatus lookup_mail_domain(std::string_view domain) override;
    DnsListAnswer lookup_dnsxl(std::string_view query) override;

private:
    dns::Options options_;
};

}  // namespace mailroom::smtpd
