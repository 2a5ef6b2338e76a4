// discard_agent.cc - see discard_agent.h.
#include "discard/discard_agent.h"

namespace mailroom::discard {

deliver::DeliveryReply discard_reply(const deliver::DeliveryRequest& request) {
    deliver::DeliveryReply reply;
    std::string reason = request.nexthop_explicit && !request.nexthop.empty() ? request.nexthop : "discarded";
    for (std::size_t i = 0; i < request.recipients.size(); ++i)
        reply.results.push_back({deliver::DeliveryStatus::kSent, "2.0.0", "none", reason});
    return reply;
}

}  // namespace mailroom::discard
