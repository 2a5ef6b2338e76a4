// discard_agent.h - what the discard delivery agent answers (pure).
//
// Summary
//   discard_reply() reports every recipient of a request as sent (2.0.0,
//   relay=none) without delivering anything. The reason text is the
//   nexthop when the transport was given one explicitly
//   ("discard:silently dropped"), otherwise "discarded".
#pragma once

#include "lib/deliver/deliver_proto.h"

namespace mailroom::discard {

deliver::DeliveryReply discard_reply(const deliver::DeliveryRequest& request);

}  // namespace mailroom::discard
