// flush.cc - see flush.h.
#include "lib/submit/flush.h"

#include <sys/time.h>


#include "lib/address/address.h"
#include "lib/log/log.h"
#include "lib/queue/queue_file.h"
#include "lib/submit/trigger.h"
#include "lib/table/access_match.h"
#include "lib/table/domain_list.h"
#include "lib/table/table.h"
#include "lib/util/hostname.h"
#include "lib/util/strings.h"

namespace mailroom::submit {

Result<FlushPolicy> load_flush_policy(const config::Config& config) {
    FlushPolicy p;
    auto q = config.get("queue_directory");
    if (!q) return q.error();
    p.layout.queue_directory = *q;
    auto list = config.get_list("fast_flush_domains");
    if (!list) return list.error();
    p.fast_flush_domains = *list;
    auto parent = config.get("parent_domain_matches_subdomains");
    if (!parent) return parent.error();
    p.parent_matches_subdomains = table::parent_domain_matches_subdomains(*parent, "fast_flush_domains");
    return p;
}

namespace {

bool valid_site(std::string_view site) {
    if (site.size() > 2 && site.front() == '[' && site.back() == ']')
        return util::valid_host_address(site.substr(1, site.size() - 2));
    return util::valid_hostname(site);
}

}  // namespace

FlushStatus flush_site(const FlushPolicy& policy, std::string_view raw_site, std::size_t* flushed) {
    if (flushed) *flushed = 0;
    if (!valid_site(raw_site)) return FlushStatus::kBad;
    std::string site = util::lowercase(raw_site);
    // Tables of the list are opened for this one question.
    table::DomainTables tables;
    auto eligible = table::in_domain_list(policy.fast_flush_domains, site, policy.parent_matches_subdomains,
                                          tables.lookup_function());
    if (!eligible) {
        log::warn("fast_flush_domains: %s", eligible.error().message.c_str());
        return FlushStatus::kFail;
    }
    if (!*eligible) return FlushStatus::kDeny;
    auto ids = queue::list_queue(policy.layout, queue::kQueueDeferred);
    if (!ids) {
        log::warn("scan deferred: %s", ids.error().message.c_str());
        return FlushStatus::kFail;
    }
    std::size_t count = 0;
    for (const auto& id : *ids) {
        std::string path = policy.layout.file_path(queue::kQueueDeferred, id);
        auto file = queue::QueueFile::open(path, false);
        if (!file) continue;  // delivered or moved meanwhile
        auto env = file->read_envelope();
        if (!env) continue;
        bool wanted = false;
        for (const auto* r : env->pending_recipients()) {
            address::Parts parts = address::split(r->address);
            if (parts.has_at && util::lowercase(parts.domain) == site) {
                wanted = true;
                break;
            }
        }
        // Due now: qmgr's deferred scan takes files whose time has come.
        if (wanted && ::utimes(path.c_str(), nullptr) == 0) ++count;
    }
    if (flushed) *flushed = count;
    if (auto st = trigger_service(policy.layout.queue_directory, ipc::ServiceClass::kPublic, "qmgr",
                                  std::string(1, kQmgrScanDeferred));
        !st) {
        log::warn("cannot wake qmgr: %s", st.error().message.c_str());
        return FlushStatus::kFail;
    }
    return FlushStatus::kOk;
}

}  // namespace mailroom::submit
