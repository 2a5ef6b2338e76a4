// agent_job.h - one delivery request as the agents' cores see it.
//
// Summary
//   Job carries what qmgr's request says (queue ID, sender, nexthop,
//   recipients with their original addresses) plus the service name the
//   agent runs as. The daemons convert the wire request (lib/deliver) into
//   a Job and each Outcome back into a wire result, so the delivery cores
//   (local_deliver, virtual_deliver, pipe_deliver) test without sockets.
#pragma once

#include <string>
#include <vector>

namespace mailroom::agent {

struct JobRecipient {
    std::string address;
    std::string orig_recipient;  // "" = same as address

    const std::string& original() const { return orig_recipient.empty() ? address : orig_recipient; }
};

struct Job {
    std::string queue_id;
    std::string queue_name;  // "active"
    std::string sender;      // "" = null sender
    std::string nexthop;
    std::string service;     // master.cf service name ("local", "maildrop")
    std::vector<JobRecipient> recipients;
};

}  // namespace mailroom::agent
