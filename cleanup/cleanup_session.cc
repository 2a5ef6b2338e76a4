// cleanup_session.cc - see cleanup_session.h.
#include "cleanup/cleanup_session.h"

#include <poll.h>
#include <sys/socket.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <map>
#include <memory>
#include <vector>

#include "lib/config/common_params.h"
#include "lib/ipc/attr.h"
#include "lib/ipc/protocol.h"
#include "lib/log/log.h"
#include "lib/queue/record.h"
#include "lib/submit/trigger.h"

namespace mailroom::cleanup {

namespace {

using submit::CleanupStatus;

// Writes a small reply, waiting for room at most timeout_ms.
bool send_all(int fd, std::string_view bytes, int timeout_ms) {
    std::size_t done = 0;
    while (done < bytes.size()) {
        ssize_t n = ::send(fd, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
        if (n > 0) {
            done += static_cast<std::size_t>(n);
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            pollfd p{fd, POLLOUT, 0};
            if (::poll(&p, 1, timeout_ms) <= 0) return false;
        } else {
            return false;
        }
    }
    return true;
}

bool send_record(int fd, const ipc::AttrList& list, int timeout_ms) {
    auto bytes = ipc::encode_record(list);
    return bytes && send_all(fd, *bytes, timeout_ms);
}

class Session {
public:
    Session(server::ServerContext& ctx, const CleanupConfig& config, server::Connection conn);
    void start();

private:
    void on_readable();
    void process();
    void reply_and_close(CleanupStatus status);
    void close();

    server::ServerContext& ctx_;
    const CleanupConfig& config_;
    server::Connection conn_;
    event::FdWatcher watcher_;
    event::Timer timer_;
    enum class State { kRequest, kRecords, kDone } state_ = State::kRequest;
    ipc::AttrDecoder request_;
    std::string buf_;
    std::unique_ptr<CleanupMessage> msg_;
};

std::map<Session*, std::unique_ptr<Session>> g_sessions;
std::vector<std::unique_ptr<Session>> g_dead;  // closed, freed by g_reaper
event::Timer g_reaper;

Session::Session(server::ServerContext& ctx, const CleanupConfig& config, server::Connection conn)
    : ctx_(ctx), config_(config), conn_(std::move(conn)) {}

void Session::start() {
    ::fcntl(conn_.fd(), F_SETFL, ::fcntl(conn_.fd(), F_GETFL) | O_NONBLOCK);
    if (!send_record(conn_.fd(), ipc::make_announcement(ipc::kCleanupProtocol), config_.ipc_timeout_ms)) {
        close();
        return;
    }
    watcher_ = event::FdWatcher(ctx_.loop(), conn_.fd(), event::Interest::kRead, [this] { on_readable(); });
    watcher_.enable();
    timer_ = event::Timer(ctx_.loop(), [this] {
        log::warn("%s: timeout after %d s reading from the client",
                  msg_ ? msg_->queue_id().c_str() : "cleanup", config_.ipc_timeout_ms / 1000);
        if (msg_) msg_->fail(CleanupStatus::kTimeout, "timeout");
        close();
    });
    timer_.start(std::chrono::milliseconds(config_.ipc_timeout_ms));
}

void Session::close() {
    if (state_ == State::kDone && !conn_.valid()) return;  // already closed
    if (msg_ && !msg_->failed() && state_ != State::kDone) msg_->fail(CleanupStatus::kBad, "client went away");
    if (msg_) (void)msg_->finish();
    msg_.reset();
    state_ = State::kDone;
    watcher_ = event::FdWatcher();
    timer_.cancel();
    conn_.close();
    // We may be inside one of our own callbacks: the reaper frees us later.
    auto it = g_sessions.find(this);
    if (it != g_sessions.end()) {
        g_dead.push_back(std::move(it->second));
        g_sessions.erase(it);
        if (g_reaper.empty()) g_reaper = event::Timer(ctx_.loop(), [] { g_dead.clear(); });
        g_reaper.start(std::chrono::milliseconds(0));
    }
}

void Session::on_readable() {
    char tmp[64 * 1024];
    for (;;) {
        ssize_t n = ::read(conn_.fd(), tmp, sizeof(tmp));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
        if (n <= 0) {
            close();
            return;
        }
        if (state_ == State::kDone) return;
        timer_.start(std::chrono::milliseconds(config_.ipc_timeout_ms));
        buf_.append(tmp, static_cast<std::size_t>(n));
        process();
        if (state_ == State::kDone) return;  // closed; freed by the reaper, members still valid
        if (buf_.size() > 2 * queue::kMaxPayload) break;  // bounded: let the loop turn
    }
}

void Session::process() {
    std::size_t used = 0;
    if (state_ == State::kRequest) {
        std::size_t consumed = 0;
        auto step = request_.feed(buf_, &consumed);
        used += consumed;
        if (step == ipc::AttrDecoder::Step::kError) {
            log::warn("cleanup request: %s", request_.error().message.c_str());
            close();
            return;
        }
        if (step == ipc::AttrDecoder::Step::kNeedMore) {
            buf_.clear();
            return;
        }
        // The client's receive_override_options turn off parts of cleanup.
        CleanupParams params = config_.params;
        const ipc::AttrList req = request_.take();
        std::int64_t flags = 0;
        if (const ipc::Attr* f = req.find(submit::kAttrFlags); f && f->type() == ipc::AttrType::kInteger) {
            flags = std::get<std::int64_t>(f->value);
            if (flags & submit::kCleanupFlagNoAddressMappings) {
                params.rewrite.canonical = params.rewrite.sender_canonical = nullptr;
                params.rewrite.recipient_canonical = params.rewrite.virtual_alias = nullptr;
                params.rewrite.masquerade_classes = 0;
            }
            if (flags & submit::kCleanupFlagNoHeaderBodyChecks)
                params.header_checks = params.mime_header_checks = params.nested_header_checks =
                    params.body_checks = nullptr;
        }
        auto msg = CleanupMessage::start(params, flags);
        if (!msg) {
            log::warn("cannot create a queue file: %s", msg.error().message.c_str());
            close();
            return;
        }
        msg_ = std::move(*msg);
        ipc::AttrList reply;
        reply.add(std::string(submit::kAttrQueueId), msg_->queue_id());
        if (!send_record(conn_.fd(), reply, config_.ipc_timeout_ms)) {
            close();
            return;
        }
        state_ = State::kRecords;
    }
    while (state_ == State::kRecords) {
        queue::DecodedRecord rec;
        std::string error;
        auto step = queue::decode_record(std::string_view(buf_).substr(used), &rec, &error);
        if (step == queue::DecodeStep::kNeedMore) break;
        if (step == queue::DecodeStep::kError) {
            msg_->fail(CleanupStatus::kBad, error);
            reply_and_close(CleanupStatus::kBad);
            return;
        }
        used += rec.length;
        msg_->feed(rec.type, rec.payload);
        if (msg_->complete()) {
            reply_and_close(msg_->finish());
            return;
        }
    }
    buf_.erase(0, used);
}

void Session::reply_and_close(CleanupStatus status) {
    auto text = submit::cleanup_status_text(status);
    std::string reason = msg_->reason().empty() ? text.text : msg_->reason();
    if (status != CleanupStatus::kOk && status != CleanupStatus::kContent) {
        log::info("%s: reject: %s; from=<%s>", msg_->queue_id().c_str(), log::log_printable(reason).c_str(),
                  log::log_printable(msg_->sender()).c_str());
    }
    ipc::AttrList reply;
    reply.add_int(std::string(submit::kAttrStatus), static_cast<std::int64_t>(status))
        .add(std::string(submit::kAttrDsn), msg_->dsn().empty() ? std::string(text.dsn) : msg_->dsn())
        .add(std::string(submit::kAttrReason), reason);
    (void)send_record(conn_.fd(), reply, config_.ipc_timeout_ms);
    if (status == CleanupStatus::kOk) {
        // Wake qmgr; if that fails its wakeup timer finds the file.
        (void)submit::trigger_service(config_.params.layout.queue_directory, ipc::ServiceClass::kPublic, "qmgr",
                                      std::string(1, submit::kQmgrScanIncoming), 100);
    }
    state_ = State::kDone;
    msg_.reset();
    close();
}

// Opens the tables of a list parameter (null when the list is empty).
Status open_maps(const config::Config& cfg, const char* name, std::shared_ptr<const table::Maps>* out) {
    auto value = cfg.get(name);
    if (!value) return value.error();
    auto maps = table::Maps::open(*value);
    if (!maps) return make_error(std::string(name) + ": " + maps.error().message);
    if (!maps->empty()) *out = std::make_shared<const table::Maps>(std::move(*maps));
    return ok_status();
}

Status load_classes(const config::Config& cfg, const char* name, unsigned* out) {
    auto value = cfg.get(name);
    if (!value) return value.error();
    auto mask = parse_address_classes(*value);
    if (!mask) return make_error(std::string(name) + ": " + mask.error().message);
    *out = *mask;
    return ok_status();
}

Status load_rewrite_config(const config::Config& cfg, CleanupParams* params) {
    RewriteConfig& rw = params->rewrite;
    struct MapsParam {
        const char* name;
        std::shared_ptr<const table::Maps>* target;
    };
    const MapsParam maps[] = {
        {"canonical_maps", &rw.canonical},
        {"sender_canonical_maps", &rw.sender_canonical},
        {"recipient_canonical_maps", &rw.recipient_canonical},
        {"virtual_alias_maps", &rw.virtual_alias},
        {"header_checks", &params->header_checks},
        {"mime_header_checks", &params->mime_header_checks},
        {"nested_header_checks", &params->nested_header_checks},
        {"body_checks", &params->body_checks},
    };
    for (const auto& m : maps) {
        if (auto st = open_maps(cfg, m.name, m.target); !st) return st;
    }
    struct ClassParam {
        const char* name;
        unsigned* target;
    };
    const ClassParam classes[] = {
        {"canonical_classes", &rw.canonical_classes},
        {"sender_canonical_classes", &rw.sender_canonical_classes},
        {"recipient_canonical_classes", &rw.recipient_canonical_classes},
        {"masquerade_classes", &rw.masquerade_classes},
    };
    for (const auto& c : classes) {
        if (auto st = load_classes(cfg, c.name, c.target); !st) return st;
    }
    auto domains = cfg.get_list("masquerade_domains");
    if (!domains) return domains.error();
    rw.masquerade.domains = *domains;
    auto exceptions = cfg.get_list("masquerade_exceptions");
    if (!exceptions) return exceptions.error();
    rw.masquerade.exceptions = *exceptions;
    rw.local.domains = {params->myorigin};
    auto dest = cfg.get_list("mydestination");
    if (!dest) return dest.error();
    for (const auto& d : *dest) {
        // Table entries (type:name) and paths are not domain names.
        if (d.find(':') == std::string::npos && d.find('/') == std::string::npos) rw.local.domains.push_back(d);
    }
    auto recursion = cfg.get_int("virtual_alias_recursion_limit");
    if (!recursion) return recursion.error();
    rw.alias_limits.recursion_limit = static_cast<int>(*recursion);
    auto expansion = cfg.get_int("virtual_alias_expansion_limit");
    if (!expansion) return expansion.error();
    rw.alias_limits.expansion_limit = static_cast<long>(*expansion);
    return ok_status();
}

}  // namespace

Result<CleanupConfig> load_cleanup_config(const config::Config& cfg) {
    CleanupConfig out;
    auto q = cfg.get("queue_directory");
    if (!q) return q.error();
    out.params.layout.queue_directory = *q;
    auto host = cfg.get("myhostname");
    if (!host) return host.error();
    out.params.myhostname = *host;
    auto origin = cfg.get("myorigin");
    if (!origin) return origin.error();
    out.params.myorigin = *origin;
    auto limit = cfg.get_size("message_size_limit");
    if (!limit) return limit.error();
    out.params.message_size_limit = *limit;
    auto hlimit = cfg.get_size("header_size_limit");
    if (!hlimit) return hlimit.error();
    out.params.header_size_limit = *hlimit;
    if (auto st = load_rewrite_config(cfg, &out.params); !st) return st.error();
    auto nesting = cfg.get_int("mime_nesting_limit");
    if (!nesting) return nesting.error();
    out.params.mime_nesting_limit = static_cast<int>(*nesting);
    auto boundary = cfg.get_int("mime_boundary_length_limit");
    if (!boundary) return boundary.error();
    out.params.mime_boundary_length_limit = static_cast<std::size_t>(*boundary);
    auto no_mime = cfg.get_bool("disable_mime_input_processing");
    if (!no_mime) return no_mime.error();
    out.params.disable_mime_input_processing = *no_mime;
    auto timeout = config::ipc_timeout_ms(cfg);
    if (!timeout) return timeout.error();
    out.ipc_timeout_ms = *timeout;
    return out;
}

void shutdown_sessions() {
    g_sessions.clear();
    g_dead.clear();
    g_reaper = event::Timer();
}

void start_session(server::ServerContext& ctx, const CleanupConfig& config, server::Connection conn) {
    auto s = std::make_unique<Session>(ctx, config, std::move(conn));
    Session* raw = s.get();
    g_sessions[raw] = std::move(s);
    raw->start();
}

}  // namespace mailroom::cleanup
