// deliver_ipc.h - both ends of one delivery conversation (deliver_proto.h).
//
// Summary
//   request_delivery() is qmgr's side: connect to private/<transport>,
//   check the announcement, send the request, read and check the reply.
//   serve_delivery() is an agent's side for one accepted connection:
//   announce, read the request, call the handler, send its reply. With a
//   ConnectionReuse it may serve more requests on the connection: each
//   reply says more=1 while reuse.more() allows another, and the agent
//   then waits up to reuse.idle_ms for the next request; qmgr's hang-up
//   (or the wait running out) ends the conversation normally.
//   Both block, bounded by timeout_ms per step (ipc_socket.h).
//
// Diagnostics
//   Connection failures, timeouts and a peer that hangs up are temporary
//   errors (qmgr defers the recipients); a malformed record is permanent
//   for the conversation but qmgr still only defers: the message is fine.
#pragma once

#include <functional>
#include <string>

#include "lib/deliver/deliver_proto.h"
#include "lib/util/result.h"

namespace mailroom::deliver {

// How long the two halves of a request took (for the log's delays=).
struct DeliveryTimings {
    double connect_seconds = 0;   // connect + announcement
    double transfer_seconds = 0;  // request sent -> reply received
};

Result<DeliveryReply> request_delivery(const std::string& queue_directory, const DeliveryRequest& request,
                                       int timeout_ms, DeliveryTimings* timings = nullptr);

using DeliveryHandler = std::function<DeliveryReply(const DeliveryRequest&)>;

// Several requests on one connection (agent side).
struct ConnectionReuse {
    int idle_ms = 0;             // the longest wait for the next request
    std::function<bool()> more;  // after each request: may another one follow?
};

Status serve_delivery(int fd, int timeout_ms, const DeliveryHandler& handler,
                      const ConnectionReuse* reuse = nullptr);

// serve_delivery() for agents whose answer needs no message content
// (discard, error): logs Postfix's delivery line for every recipient of
// the reply `answer` gives, with the request's timings.
Status serve_logged_delivery(int fd, int timeout_ms, const DeliveryHandler& answer,
                             const ConnectionReuse* reuse = nullptr);

}  // namespace mailroom::deliver
