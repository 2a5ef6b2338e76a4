// anvil_server.cc - see anvil_server.h.
#include "anvil/anvil_server.h"

#include <algorithm>

#include "lib/config/common_params.h"
#include "lib/ipc/attr_channel.h"
#include "lib/ipc/protocol.h"
#include "lib/log/log.h"

namespace mailroom::anvil {

Result<AnvilConfig> AnvilConfig::from_config(const config::Config& cfg) {
    AnvilConfig c;
    auto unit = cfg.get_time("anvil_rate_time_unit");
    if (!unit) return unit.error();
    c.anvil_rate_time_unit = std::max<long long>(*unit, 1);
    auto stat = cfg.get_time("anvil_status_update_time");
    if (!stat) return stat.error();
    c.anvil_status_update_time = std::max<long long>(*stat, 1);
    auto ipc = config::ipc_timeout_ms(cfg);
    if (!ipc) return ipc.error();
    c.ipc_timeout_ms = *ipc;
    return c;
}

class AnvilServer::Peer {
public:
    Peer(AnvilServer& server, server::Connection conn, AnvilState::LocalId id)
        : server_(server), conn_(std::move(conn)), id_(id) {}

    void start() {
        channel_ = ipc::AttrChannel::create(server_.loop_, conn_.fd());
        if (!channel_) return close();
        channel_->on_record([this](ipc::AttrList record) { serve(record); });
        channel_->on_close([this](ipc::AttrChannel::Close kind, const std::string& reason) {
            if (kind == ipc::AttrChannel::Close::kMalformed) log::warn("anvil request: %s", reason.c_str());
            close();
        });
        // A client that does not read its replies is not served more.
        channel_->on_drained([this] { channel_->resume(); });
        queue(ipc::make_announcement(ipc::kAnvilProtocol));
    }

private:
    static constexpr std::size_t kMaxUnsent = 64 * 1024;

    void queue(const ipc::AttrList& record) {
        if (auto st = channel_->send(record); !st) {
            log::warn("anvil reply: %s", st.error().message.c_str());
            return close();
        }
        if (channel_->output_size() > kMaxUnsent) channel_->pause();
    }

    void serve(const ipc::AttrList& record) {
        std::string unknown;
        auto request = decode_request(record, &unknown);
        if (!request) {
            if (unknown.empty()) {
                log::warn("%s", request.error().message.c_str());
                return close();
            }
            log::warn("unrecognized request: \"%s\", ignored", log::log_printable(unknown).c_str());
            ipc::AttrList fail;
            fail.add_int(std::string(kAttrStatus), kStatusFail);
            return queue(fail);
        }
        Reply reply = server_.state_.handle(id_, *request, server_.now());
        if (reply.status != kStatusOk && server_.state_.dropped() % 1000 == 1)
            log::warn("table full (%zu entries): %s not counted", server_.state_.size(),
                      log::log_printable(request->ident).c_str());
        queue(encode_reply(request->type, reply));
    }

    // Called from the channel's handlers: the server frees us on the loop
    // once this callback has returned.
    void close() {
        if (closed_) return;
        closed_ = true;
        server_.state_.drop_local(id_, server_.now());
        server_.closed(this);
    }

    AnvilServer& server_;
    server::Connection conn_;
    AnvilState::LocalId id_;
    std::unique_ptr<ipc::AttrChannel> channel_;
    bool closed_ = false;
};

AnvilServer::AnvilServer(event::Loop& loop, AnvilConfig config, Clock clock)
    : loop_(loop),
      config_(config),
      clock_(clock ? std::move(clock) : Clock([] { return std::time(nullptr); })),
      state_(config.anvil_rate_time_unit) {
    // Expired entries go at least once per time unit (and at most every second).
    auto sweep = std::chrono::seconds(std::clamp<std::time_t>(config_.anvil_rate_time_unit / 4, 1, 60));
    expire_timer_ = event::Timer(loop_, [this, sweep] {
        state_.expire(now());
        expire_timer_.start(sweep);
    });
    expire_timer_.start(sweep);
    status_timer_ = event::Timer(loop_, [this] {
        log_statistics();
        status_timer_.start(std::chrono::seconds(config_.anvil_status_update_time));
    });
    status_timer_.start(std::chrono::seconds(config_.anvil_status_update_time));
}

AnvilServer::~AnvilServer() { peers_.clear(); }

void AnvilServer::accept(server::Connection conn) {
    auto peer = std::make_unique<Peer>(*this, std::move(conn), next_local_++);
    Peer* raw = peer.get();
    peers_.emplace(raw, std::move(peer));
    raw->start();
}

void AnvilServer::closed(Peer* peer) {
    auto it = peers_.find(peer);
    if (it == peers_.end()) return;
    // We are inside the peer's own callback: free it from the loop.
    loop_.release_later(std::move(it->second));
    peers_.erase(it);
}

void AnvilServer::log_statistics() {
    for (const auto& line : state_.take_statistics()) log::info("%s", line.c_str());
}

}  // namespace mailroom::anvil
