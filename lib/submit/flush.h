// flush.h - deliver the deferred mail of one site now (postqueue -s, ETRN).
//
// Summary
//   flush_site() is what Postfix's fast flush service does for
//   `postqueue -s site` and SMTP `ETRN site`: when the site is eligible
//   (in fast_flush_domains, default $relay_domains), every message in
//   deferred/ with a recipient still pending at that domain is made due
//   now (its mtime, the next attempt time, is set to the present) and qmgr
//   is asked to scan the deferred queue. Other deferred mail keeps its
//   retry time.
//
// Description
//   A site is a host name or an address literal in brackets; anything
//   else is kBad. A site not in fast_flush_domains is kDeny (Postfix:
//   "Flush service is not configured for destination"); a domain-list
//   table that cannot be read, or a qmgr that cannot be woken, is kFail.
//   Matching compares the recipient's domain with the site without
//   regard to case. The deferred queue is read file by file (envelopes
//   only), so callers on an event loop run this off the loop.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "lib/config/config.h"
#include "lib/queue/queue_dirs.h"
#include "lib/util/result.h"

namespace mailroom::submit {

enum class FlushStatus { kOk, kBad, kDeny, kFail };

struct FlushPolicy {
    queue::QueueLayout layout;
    std::vector<std::string> fast_flush_domains;
    bool parent_matches_subdomains = true;  // parent_domain_matches_subdomains names fast_flush_domains
};

Result<FlushPolicy> load_flush_policy(const config::Config& config);

// `flushed`, when given, receives how many messages were made due.
FlushStatus flush_site(const FlushPolicy& policy, std::string_view site, std::size_t* flushed = nullptr);

}  // namespace mailroom::submit
