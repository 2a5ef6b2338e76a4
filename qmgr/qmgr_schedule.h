// qmgr_schedule.h - how recipients become delivery requests, and when a
// request may start (pure).
//
// Summary
//   SchedulePolicy holds each transport's limits, as Postfix's qmgr reads
//   them: TRANSPORT_destination_recipient_limit (the most recipients of
//   one message in one request, default $default_destination_recipient_limit),
//   TRANSPORT_destination_concurrency_limit (the most requests in flight to
//   one destination, default $default_destination_concurrency_limit) and
//   the master.cf maxproc of the transport (all its destinations together).
//   make_batches() splits a message's recipients into requests: the same
//   route (transport and nexthop), at most the recipient limit each, in file
//   order. ConcurrencyTracker counts the requests in flight.
//
// Description
//   A destination is the transport and the nexthop; when the transport's
//   recipient limit is 1 (and it is not error or retry) it is the transport
//   and "localpart@nexthop", the local part without its address extension
//   (recipient_delimiter), lower case, so that the concurrency limit then
//   counts deliveries to the same recipient (Postfix's meaning: different
//   recipients of a domain are delivered in parallel, up to maxproc). A
//   limit of 0 means no limit; every request also carries at most
//   deliver::kMaxRecipientsPerRequest recipients.
//   TRANSPORT_destination_rate_delay (default $default_destination_rate_delay)
//   makes a destination take one delivery at a time, each starting at least
//   that long after the previous one ended, as Postfix's qmgr does.
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "lib/address/address.h"
#include "qmgr/qmgr_transport.h"

namespace mailroom::qmgr {

struct TransportPolicy {
    int destination_concurrency_limit = 20;  // 0 = no limit
    int destination_recipient_limit = 50;    // 0 = no limit
    int process_limit = 100;                 // master.cf maxproc; 0 = no limit
    long long destination_rate_delay = 0;    // seconds between deliveries to one destination
};

struct SchedulePolicy {
    TransportPolicy defaults;                         // for transports not listed
    std::map<std::string, TransportPolicy> transports;  // by master.cf service name
    address::ExtensionSettings extension;            // recipient_delimiter and its exceptions

    const TransportPolicy& of(const std::string& transport) const;
    // The recipients one request may carry (never 0, never above the protocol's limit).
    std::size_t recipient_limit(const std::string& transport) const;
    // The key the destination concurrency limit counts.
    std::string destination(const Route& route, std::string_view recipient) const;
};

// One delivery request to be: the route, its destination key, and the
// indexes (into make_batches()'s input) of its recipients.
struct Batch {
    Route route;
    std::string destination;
    std::vector<std::size_t> members;
};

// A recipient to schedule: its route and the address it is delivered to.
struct RoutedRecipient {
    Route route;
    std::string address;
};

std::vector<Batch> make_batches(const SchedulePolicy& policy, const std::vector<RoutedRecipient>& recipients);

// Requests in flight per destination and per transport.
class ConcurrencyTracker {
public:
    explicit ConcurrencyTracker(const SchedulePolicy& policy) : policy_(&policy) {}

    // True when one more request for `batch` stays within both limits and
    // the destination's rate delay has passed at `now` (seconds, any epoch).
    bool may_start(const Batch& batch, double now = 0) const;
    void started(const Batch& batch);
    void finished(const Batch& batch, double now = 0);
    // When a destination held back only by its rate delay may start again;
    // 0 when nothing waits for a rate delay.
    double ready_at(const Batch& batch) const;
    int destination_busy(const std::string& destination) const;
    int transport_busy(const std::string& transport) const;

private:
    const SchedulePolicy* policy_;
    std::map<std::string, int> destinations_;
    std::map<std::string, int> transports_;
    std::map<std::string, double> last_finished_;  // destinations with a rate delay
};

}  // namespace mailroom::qmgr
