// anvil_server.cc - see anvil_server.h.
#include "anvil/anvil_server.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "lib/config/common_params.h"
#include "lib/ipc/attr.h"
#include "lib/ipc/ipc_socket.h"
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
        ::fcntl(conn_.fd(), F_SETFL, ::fcntl(conn_.fd(), F_GETFL) | O_NONBLOCK);
        reader_ = event::FdWatcher(server_.loop_, conn_.fd(), event::Interest::kRead, [this] { on_readable(); });
        writer_ = event::FdWatcher(server_.loop_, conn_.fd(), event::Interest::kWrite, [this] { flush(); });
        reader_.enable();
        queue(ipc::make_announcement(ipc::kAnvilProtocol));
    }

private:
    void queue(const ipc::AttrList& record) {
        auto bytes = ipc::encode_record(record);
        if (!bytes) {
            log::warn("anvil reply: %s", bytes.error().message.c_str());
            return close();
        }
        out_ += *bytes;
        flush();
    }

    void flush() {
        if (closed_) return;
        std::string error;
        switch (ipc::send_pending(conn_.fd(), out_, &error)) {
        case ipc::SendStep::kDone:
            writer_.disable();
            reader_.enable();
            break;
        case ipc::SendStep::kWouldBlock:
            // A client that does not read its replies is not served more.
            writer_.enable();
            reader_.disable();
            break;
        case ipc::SendStep::kError: close(); break;
        }
    }

    void on_readable() {
        char buf[16 * 1024];
        ssize_t n = ::read(conn_.fd(), buf, sizeof(buf));
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return;
        if (n <= 0) return close();
        std::string_view data(buf, static_cast<size_t>(n));
        while (!data.empty() && !closed_) {
            size_t used = 0;
            auto step = decoder_.feed(data, &used);
            data.remove_prefix(used);
            if (step == ipc::AttrDecoder::Step::kError) {
                log::warn("anvil request: %s", decoder_.error().message.c_str());
                return close();
            }
            if (step == ipc::AttrDecoder::Step::kNeedMore) return;
            serve(decoder_.take());
        }
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

    void close() {
        if (closed_) return;
        closed_ = true;
        reader_ = event::FdWatcher();
        writer_ = event::FdWatcher();
        server_.state_.drop_local(id_, server_.now());
        conn_.close();
        server_.closed(this);
    }

    AnvilServer& server_;
    server::Connection conn_;
    AnvilState::LocalId id_;
    event::FdWatcher reader_;
    event::FdWatcher writer_;
    ipc::AttrDecoder decoder_;
    std::string out_;
    bool closed_ = false;
};

AnvilServer::AnvilServer(event::Loop& loop, AnvilConfig config, Clock clock)
    : loop_(loop),
      config_(config),
      clock_(clock ? std::move(clock) : Clock([] { return std::time(nullptr); })),
      state_(config.anvil_rate_time_unit) {
    reaper_ = event::Timer(loop_, [this] { dead_.clear(); });
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

AnvilServer::~AnvilServer() {
    peers_.clear();
    dead_.clear();
}

void AnvilServer::accept(server::Connection conn) {
    auto peer = std::make_unique<Peer>(*this, std::move(conn), next_local_++);
    Peer* raw = peer.get();
    peers_.emplace(raw, std::move(peer));
    raw->start();
}

void AnvilServer::closed(Peer* peer) {
    auto it = peers_.find(peer);
    if (it == peers_.end()) return;
    // We may be inside the peer's own callback: free it from the loop.
    dead_.push_back(std::move(it->second));
    peers_.erase(it);
    reaper_.start(std::chrono::milliseconds(0));
}

void AnvilServer::log_statistics() {
    for (const auto& line : state_.take_statistics()) log::info("%s", line.c_str());
}

}  // namespace mailroom::anvil
