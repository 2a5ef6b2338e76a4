// agent_event_server.cc - see agent_event_server.h.
#include "lib/agent/agent_event_server.h"

#include <chrono>

#include "lib/config/common_params.h"
#include "lib/deliver/deliver_log.h"
#include "lib/ipc/attr_channel.h"
#include "lib/ipc/protocol.h"
#include "lib/log/log.h"

namespace mailroom::agent {

struct EventAgentServer::Session {
    server::Connection conn;
    std::unique_ptr<ipc::AttrChannel> channel;
    bool requested = false;
    bool replied = false;
    std::shared_ptr<bool> alive = std::make_shared<bool>(true);
};

EventAgentServer::EventAgentServer(event::Loop& loop, const config::Config& config, EventCore core)
    : loop_(loop), core_(std::move(core)) {
    auto ipc = config::ipc_timeout_ms(config);
    timeout_ms_ = ipc ? *ipc : 3600 * 1000;
    queue_dir_ = config.get("queue_directory").ok() ? *config.get("queue_directory") : "";
}

EventAgentServer::~EventAgentServer() {
    *alive_ = false;
    for (auto& s : sessions_) *s->alive = false;
}

void EventAgentServer::finish(Session* session) {
    for (auto it = sessions_.begin(); it != sessions_.end(); ++it) {
        if (it->get() != session) continue;
        *session->alive = false;
        std::unique_ptr<Session> gone = std::move(*it);
        sessions_.erase(it);
        // Freed after the current callback (it may be the channel's own).
        loop_.defer([holder = std::shared_ptr<Session>(std::move(gone))]() mutable { holder.reset(); });
        return;
    }
}

void EventAgentServer::serve(server::Connection conn) {
    auto session = std::make_unique<Session>();
    Session* s = session.get();
    s->channel = ipc::AttrChannel::create(loop_, conn.fd(), {.read_timeout = std::chrono::milliseconds(timeout_ms_),
                                                             .write_timeout = std::chrono::milliseconds(timeout_ms_)});
    if (!s->channel) return;
    s->conn = std::move(conn);
    sessions_.push_back(std::move(session));

    s->channel->on_close([this, s](ipc::AttrChannel::Close, const std::string& why) {
        if (!s->replied && !why.empty()) log::warn("delivery request: %s", why.c_str());
        finish(s);
    });
    s->channel->on_record([this, s](ipc::AttrList record) {
        if (s->requested) return;  // one request per conversation
        s->requested = true;
        auto request = deliver::decode_request(record);
        if (!request) {
            log::warn("malformed delivery request: %s", request.error().message.c_str());
            finish(s);
            return;
        }
        double started = deliver::now_seconds();
        auto req = std::make_shared<deliver::DeliveryRequest>(std::move(*request));
        auto reply = [this, s, req, started, alive = s->alive](std::vector<deliver::RecipientResult> results,
                                                                 double session_ready) {
            if (!*alive) return;
            if (results.size() != req->recipients.size()) {
                log::warn("%s: internal error: %zu results for %zu recipients", req->queue_id.c_str(), results.size(),
                          req->recipients.size());
                results.assign(req->recipients.size(),
                               {deliver::DeliveryStatus::kDeferred, "4.3.0", "none", "internal delivery agent error"});
            }
            double now = deliver::now_seconds();
            auto times = deliver::request_times(*req, started, now);
            if (session_ready > started && session_ready <= now) {
                times.setup += session_ready - started;
                times.transmit = now - session_ready;
            }
            deliver::DeliveryReply out;
            for (std::size_t i = 0; i < results.size(); ++i) {
                deliver::log_delivery(*req, req->recipients[i], results[i], times);
                out.results.push_back(std::move(results[i]));
            }
            s->replied = true;
            if (auto st = s->channel->send(deliver::encode_reply(out)); !st) {
                log::warn("%s: cannot send the delivery reply: %s", req->queue_id.c_str(), st.error().message.c_str());
                finish(s);
                return;
            }
            s->channel->on_drained([this, s] { finish(s); });
        };
        auto message = MessageCopy::from_queue_file(queue_dir_ + "/" + req->queue_name + "/" + req->queue_id);
        if (!message) {
            log::warn("%s: cannot read queue file: %s", req->queue_id.c_str(), message.error().message.c_str());
            reply(std::vector<deliver::RecipientResult>(
                req->recipients.size(), {deliver::DeliveryStatus::kDeferred, "4.3.0", "none",
                                         "cannot read queue file: " + message.error().message}),
                  0);
            return;
        }
        core_(*req, std::make_shared<const MessageCopy>(std::move(*message)), std::move(reply));
    });
    if (auto st = s->channel->send(ipc::make_announcement(ipc::kDeliverProtocol)); !st) finish(s);
}

}  // namespace mailroom::agent
