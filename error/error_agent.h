// error_agent.h - what the error delivery agent answers (pure).
//
// Summary
//   error_reply() reports every recipient of a request as bounced, with
//   status 5.0.0 and the nexthop text as the reason ("error:mail for this
//   domain is disabled"), or "mail for DOMAIN is not deliverable" when the
//   transport has no explicit nexthop. A nexthop that starts with an RFC
//   3463 code ("4.3.0 try again later") sets the code; a 4.x.x code
//   defers the recipients instead of bouncing them.
#pragma once

#include "lib/deliver/deliver_proto.h"

namespace mailroom::error_agent {

deliver::DeliveryReply error_reply(const deliver::DeliveryRequest& request);

}  // namespace mailroom::error_agent
