// error_agent.cc - see error_agent.h.
#include "error/error_agent.h"

#include "lib/address/address.h"

namespace mailroom::error_agent {

namespace {

std::string domain_of(const std::string& address) {
    address::Parts parts = address::split(address);
    return parts.has_at ? parts.domain : address;
}

}  // namespace

deliver::DeliveryReply error_reply(const deliver::DeliveryRequest& request) {
    deliver::DeliveryReply reply;
    std::string dsn = "5.0.0";
    std::string text = request.nexthop_explicit ? request.nexthop : std::string();
    // "4.3.0 text" or "5.1.1 text": the code comes from the nexthop.
    auto space = text.find(' ');
    if (space != std::string::npos) {
        std::string code = text.substr(0, space);
        if (deliver::dsn_matches_status(code, deliver::DeliveryStatus::kDeferred) ||
            deliver::dsn_matches_status(code, deliver::DeliveryStatus::kBounced)) {
            dsn = code;
            text = text.substr(space + 1);
        }
    }
    auto status = dsn[0] == '4' ? deliver::DeliveryStatus::kDeferred : deliver::DeliveryStatus::kBounced;
    for (const auto& r : request.recipients) {
        std::string reason = text.empty() ? "mail for " + domain_of(r.address) + " is not deliverable" : text;
        reply.results.push_back({status, dsn, "none", reason});
    }
    return reply;
}

}  // namespace mailroom::error_agent
