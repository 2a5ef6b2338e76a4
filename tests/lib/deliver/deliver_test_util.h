// deliver_test_util.h - a delivery request with every field set, for the
// codec tests and the agents' answers.
#pragma once

#include "lib/deliver/deliver_proto.h"

namespace mailroom::deliver::testing {

inline DeliveryRequest sample_request() {
    DeliveryRequest r;
    r.queue_name = "active";
    r.queue_id = "D786582E95";
    r.sender = "alice@example.com";
    r.transport = "discard";
    r.nexthop = "example.org";
    r.arrival_time = 1795500000;
    r.active_time_us = 1795500000'500000;
    r.recipients.push_back({"bob@example.org", "bob", "rfc822;bob@example.org", "SUCCESS,FAILURE", 123});
    r.recipients.push_back({"carol@example.org", "", "", "", 456});
    return r;
}

}  // namespace mailroom::deliver::testing
