// deliver_ipc.cc - see deliver_ipc.h.
#include "lib/deliver/deliver_ipc.h"

#include <unistd.h>

#include <chrono>

#include "lib/deliver/deliver_log.h"
#include "lib/ipc/ipc_socket.h"
#include "lib/ipc/protocol.h"

namespace mailroom::deliver {

Result<DeliveryReply> request_delivery(const std::string& queue_directory, const DeliveryRequest& request,
                                       int timeout_ms, DeliveryTimings* timings) {
    using Clock = std::chrono::steady_clock;
    auto t0 = Clock::now();
    auto fd = ipc::connect_service(queue_directory, ipc::ServiceClass::kPrivate, request.transport, timeout_ms);
    if (!fd) return make_temp_error(fd.error().message);
    ipc::IpcStream stream(std::move(*fd), timeout_ms);
    if (auto st = stream.expect_announcement(ipc::kDeliverProtocol, ipc::kProtocolVersion); !st)
        return make_temp_error(st.error().message);
    auto t1 = Clock::now();
    if (auto st = stream.send(encode_request(request)); !st) return make_temp_error(st.error().message);
    auto record = stream.receive();
    if (timings) {
        timings->connect_seconds = std::chrono::duration<double>(t1 - t0).count();
        timings->transfer_seconds = std::chrono::duration<double>(Clock::now() - t1).count();
    }
    if (!record) return make_temp_error(record.error().message);
    return decode_reply(*record, request.recipients.size());
}

Status serve_delivery(int fd, int timeout_ms, const DeliveryHandler& handler, const ConnectionReuse* reuse) {
    int dup = ::dup(fd);
    if (dup < 0) return make_temp_error("dup: cannot duplicate the connection");
    ipc::IpcStream stream(util::UniqueFd(dup), timeout_ms);
    if (auto st = stream.announce(ipc::kDeliverProtocol, ipc::kProtocolVersion); !st) return st;
    for (bool first = true;; first = false) {
        auto record = stream.receive();
        // After a reply that offered more, the client's hang-up (or the
        // idle wait running out) is the normal end of the conversation.
        if (!record) return first ? Status(record.error()) : ok_status();
        auto request = decode_request(*record);
        if (!request) return request.error();
        DeliveryReply reply = handler(*request);
        reply.more = reuse && reuse->more && reuse->more();
        if (auto st = stream.send(encode_reply(reply)); !st) return st;
        if (!reply.more) return ok_status();
        stream.set_timeout(reuse->idle_ms);
    }
}

Status serve_logged_delivery(int fd, int timeout_ms, const DeliveryHandler& answer, const ConnectionReuse* reuse) {
    return serve_delivery(fd, timeout_ms, [&answer](const DeliveryRequest& request) {
        double started = now_seconds();
        DeliveryReply reply = answer(request);
        auto times = request_times(request, started, now_seconds());
        for (std::size_t i = 0; i < reply.results.size() && i < request.recipients.size(); ++i)
            log_delivery(request, request.recipients[i], reply.results[i], times);
        return reply;
    }, reuse);
}

}  // namespace mailroom::deliver
