// qmgr_schedule.cc - see qmgr_schedule.h.
#include "qmgr/qmgr_schedule.h"

#include <algorithm>

#include "lib/address/address.h"
#include "lib/deliver/deliver_proto.h"
#include "lib/util/strings.h"

namespace mailroom::qmgr {

const TransportPolicy& SchedulePolicy::of(const std::string& transport) const {
    auto it = transports.find(transport);
    return it == transports.end() ? defaults : it->second;
}

std::size_t SchedulePolicy::recipient_limit(const std::string& transport) const {
    int limit = of(transport).destination_recipient_limit;
    std::size_t max = deliver::kMaxRecipientsPerRequest;
    return limit <= 0 ? max : std::min<std::size_t>(static_cast<std::size_t>(limit), max);
}

std::string SchedulePolicy::destination(const Route& route, std::string_view recipient) const {
    if (of(route.transport).destination_recipient_limit != 1 || route.transport == "error" ||
        route.transport == "retry")
        return route.transport + ":" + route.nexthop;
    // One queue per recipient: its local part without the extension, at the nexthop.
    std::string local = address::split_extension(address::split(recipient).local, extension.rules()).user;
    return route.transport + ":" + util::lowercase(local + "@" + route.nexthop);
}

std::vector<Batch> make_batches(const SchedulePolicy& policy, const std::vector<RoutedRecipient>& recipients) {
    std::vector<Batch> out;
    for (std::size_t i = 0; i < recipients.size(); ++i) {
        const RoutedRecipient& r = recipients[i];
        std::string dest = policy.destination(r.route, r.address);
        std::size_t limit = policy.recipient_limit(r.route.transport);
        // The first open batch of the same route and destination takes it.
        auto it = std::find_if(out.begin(), out.end(), [&](const Batch& b) {
            return b.route == r.route && b.destination == dest && b.members.size() < limit;
        });
        if (it == out.end()) {
            out.push_back({r.route, dest, {}});
            it = out.end() - 1;
        }
        it->members.push_back(i);
    }
    return out;
}

bool ConcurrencyTracker::may_start(const Batch& batch, double now) const {
    const TransportPolicy& p = policy_->of(batch.route.transport);
    if (p.destination_rate_delay > 0) {
        // One at a time, and not before the pause after the previous one.
        if (destination_busy(batch.destination) > 0) return false;
        auto it = last_finished_.find(batch.destination);
        if (it != last_finished_.end() && now < it->second + static_cast<double>(p.destination_rate_delay))
            return false;
    }
    if (p.destination_concurrency_limit > 0 && destination_busy(batch.destination) >= p.destination_concurrency_limit)
        return false;
    if (p.process_limit > 0 && transport_busy(batch.route.transport) >= p.process_limit) return false;
    return true;
}

void ConcurrencyTracker::started(const Batch& batch) {
    ++destinations_[batch.destination];
    ++transports_[batch.route.transport];
}

double ConcurrencyTracker::ready_at(const Batch& batch) const {
    const TransportPolicy& p = policy_->of(batch.route.transport);
    auto it = last_finished_.find(batch.destination);
    if (p.destination_rate_delay <= 0 || it == last_finished_.end()) return 0;
    return it->second + static_cast<double>(p.destination_rate_delay);
}

void ConcurrencyTracker::finished(const Batch& batch, double now) {
    if (policy_->of(batch.route.transport).destination_rate_delay > 0) last_finished_[batch.destination] = now;
    if (--destinations_[batch.destination] <= 0) destinations_.erase(batch.destination);
    if (--transports_[batch.route.transport] <= 0) transports_.erase(batch.route.transport);
}

int ConcurrencyTracker::destination_busy(const std::string& destination) const {
    auto it = destinations_.find(destination);
    return it == destinations_.end() ? 0 : it->second;
}

int ConcurrencyTracker::transport_busy(const std::string& transport) const {
    auto it = transports_.find(transport);
    return it == transports_.end() ? 0 : it->second;
}

}  // namespace mailroom::qmgr
