// bounce_service.cc - see bounce_service.h.
#include "bounce/bounce_service.h"

#include <unistd.h>

#include <algorithm>
#include <ctime>

#include "bounce/bounce_dsn.h"
#include "lib/config/common_params.h"
#include "lib/bounce/bounce_log.h"
#include "lib/ipc/ipc_socket.h"
#include "lib/ipc/protocol.h"
#include "lib/log/log.h"
#include "lib/queue/queue_file.h"
#include "lib/queue/queue_id.h"
#include "lib/submit/cleanup_proto.h"
#include "lib/util/strings.h"

namespace mailroom::bounce {

namespace {

using queue::RecordType;

// Reads the envelope and as much content as a notice can return.
Result<OriginalMessage> read_original(const std::string& path, std::uint64_t limit) {
    auto file = queue::QueueFile::open(path, false);
    if (!file) return make_temp_error(file.error().message);
    OriginalMessage m;
    std::string line;
    std::uint64_t kept = 0;
    bool full = false;
    auto sink = [&](std::string_view piece, bool line_end) -> Status {
        if (full) return ok_status();
        line.append(piece);
        if (!line_end) return ok_status();
        kept += line.size() + 1;
        m.lines.push_back(std::move(line));
        line.clear();
        // Keep reading the header past the limit only as far as the limit
        // allows; what is kept is cut again by the composer.
        if (kept > limit + 1) full = true;
        return ok_status();
    };
    auto env = file->read(sink);
    if (!env) return env.error();
    m.sender = env->sender;
    m.arrival_time = env->arrival_seconds;
    m.envid = env->dsn_envid;
    m.ret = env->dsn_ret;
    m.size = env->size.message_size;
    return m;
}

Result<std::string> submit_notice(const BounceConfig& config, const NoticePlan& plan, const DsnSettings& base,
                                  const OriginalMessage& original, const std::vector<BounceRecipient>& rcpts) {
    auto client = submit::CleanupClient::open(config.layout.queue_directory, ipc::ServiceClass::kPublic,
                                              config.cleanup_service, submit::kCleanupFlagNoHeaderBodyChecks,
                                              config.ipc_timeout_ms);
    if (!client) return client.error();
    DsnSettings settings = base;
    std::tm tm{};
    std::time_t now = static_cast<std::time_t>(settings.now);
    ::gmtime_r(&now, &tm);
    char stamp[32];
    std::strftime(stamp, sizeof(stamp), "%Y%m%d%H%M%S", &tm);
    settings.message_id = util::format("<%s.%s@%s>", stamp, client->queue_id().c_str(), config.myhostname.c_str());
    DsnMessage dsn = compose_dsn(settings, original, rcpts);

    auto send_all = [&]() -> Status {
        if (auto s = client->send(RecordType::kArrivalTime, util::format("%lld.000000", static_cast<long long>(settings.now))); !s)
            return s;
        if (auto s = client->send(RecordType::kSender, plan.envelope_sender); !s) return s;
        if (auto s = client->send(RecordType::kRecipient, std::string(1, queue::kRcptPending) + plan.to); !s) return s;
        if (auto s = client->send(RecordType::kContentStart, ""); !s) return s;
        for (const auto& l : dsn.lines)
            if (auto s = client->send(RecordType::kNormal, l); !s) return s;
        if (auto s = client->send(RecordType::kExtractedStart, ""); !s) return s;
        return client->send(RecordType::kEnd, "");
    };
    if (auto st = send_all(); !st) return make_temp_error(st.error().message);
    auto result = client->finish();
    if (!result) return result.error();
    if (!result->ok()) return make_temp_error("cleanup: " + result->dsn + " " + result->reason);
    return result->queue_id;
}

}  // namespace

Result<BounceConfig> load_bounce_config(const config::Config& cfg) {
    BounceConfig out;
    auto q = cfg.get("queue_directory");
    if (!q) return q.error();
    out.layout.queue_directory = *q;
    for (auto [name, field] : {std::pair{"myhostname", &out.myhostname}, std::pair{"myorigin", &out.myorigin},
                               std::pair{"2bounce_notice_recipient", &out.notice_recipient},
                               std::pair{"double_bounce_sender", &out.double_bounce_sender}}) {
        auto v = cfg.get(name);
        if (!v) return v.error();
        *field = *v;
    }
    auto limit = cfg.get_size("bounce_size_limit");
    if (!limit) return limit.error();
    out.bounce_size_limit = static_cast<std::uint64_t>(std::max<long long>(*limit, 0));
    auto life = cfg.get_time("maximal_queue_lifetime");
    if (!life) return life.error();
    out.maximal_queue_lifetime = *life;
    auto t = config::ipc_timeout_ms(cfg);
    if (!t) return t.error();
    out.ipc_timeout_ms = *t;
    return out;
}

BounceService::BounceService(BounceConfig config, std::string service) : config_(std::move(config)) {
    if (service == kServiceDefer)
        log_queue_ = std::string(queue::kQueueDefer);
    else if (service == kServiceTrace)
        log_queue_ = std::string(queue::kQueueTrace);
    else
        log_queue_ = std::string(queue::kQueueBounce);
}

BounceReply BounceService::handle(const BounceRequest& request) {
    Status st = ok_status();
    if (!queue::is_valid_queue_id(request.queue_id)) {
        st = make_error("bad queue id \"" + log::log_printable(request.queue_id) + "\"");
    } else if (request.request == kRequestAppend) {
        st = append(request);
    } else if (request.request == kRequestFlush) {
        st = notify(request, false);
    } else if (request.request == kRequestWarn) {
        st = notify(request, true);
    } else {
        st = make_error("unknown request \"" + log::log_printable(request.request) + "\"");
    }
    if (st) return {};
    log::warn("%s: %s %s: %s", request.queue_id.c_str(), log_queue_.c_str(), request.request.c_str(),
              st.error().message.c_str());
    return {1, st.error().message};
}

Status BounceService::append(const BounceRequest& request) {
    return append_log(config_.layout, log_queue_, request.queue_id, request.rcpt);
}

Status BounceService::notify(const BounceRequest& request, bool warning) {
    const std::string& id = request.queue_id;
    if (!queue::is_queue_name(request.queue_name)) return make_error("bad queue name \"" + request.queue_name + "\"");
    auto logged = read_log(config_.layout, log_queue_, id);
    if (!logged) return logged.error();
    if (logged->truncated) log::warn("%s: %s logfile: incomplete last record ignored", id.c_str(), log_queue_.c_str());

    DsnKind kind = warning ? DsnKind::kDelay
                 : log_queue_ == queue::kQueueTrace ? DsnKind::kSuccess
                                                    : DsnKind::kFailure;
    std::vector<BounceRecipient> entries = logged->recipients;
    if (kind == DsnKind::kFailure) {
        // Every recipient of a non-delivery notice failed, whatever its log says.
        for (auto& e : entries) e.action = std::string(kActionFailed);
    } else if (kind == DsnKind::kDelay) {
        for (auto& e : entries) e.action = std::string(kActionDelayed);
    }
    auto remove = [&]() -> Status {
        if (warning) return ok_status();
        return remove_log(config_.layout, log_queue_, id);
    };
    auto rcpts = select_recipients(kind, entries);
    if (rcpts.empty()) return remove();

    std::string path = config_.layout.file_path(request.queue_name, id);
    auto original = read_original(path, config_.bounce_size_limit);
    if (!original) return original.error();

    NoticeSettings ns{config_.notice_recipient, config_.double_bounce_sender, config_.myorigin};
    NoticePlan plan = plan_notice(kind, original->sender, ns);
    if (plan.outcome == NoticePlan::Outcome::kDiscard) {
        log::info("%s: undeliverable postmaster notification discarded", id.c_str());
        return remove();
    }
    if (plan.outcome == NoticePlan::Outcome::kNone) return remove();

    DsnSettings settings;
    settings.kind = kind;
    settings.myhostname = config_.myhostname;
    settings.queue_id = id;
    settings.to = plan.to;
    settings.postmaster_copy = plan.postmaster_copy;
    settings.now = static_cast<std::int64_t>(std::time(nullptr));
    settings.bounce_size_limit = config_.bounce_size_limit;
    settings.maximal_queue_lifetime = config_.maximal_queue_lifetime;
    auto new_id = submit_notice(config_, plan, settings, *original, rcpts);
    if (!new_id) return new_id.error();
    log::info("%s: %s: %s", id.c_str(), plan.log_label.c_str(), new_id->c_str());
    return remove();
}

Status serve_bounce(int fd, int timeout_ms, BounceService& service) {
    int dup = ::dup(fd);
    if (dup < 0) return make_temp_error("dup: cannot duplicate the connection");
    ipc::IpcStream stream(util::UniqueFd(dup), timeout_ms);
    if (auto st = stream.announce(ipc::kBounceProtocol, ipc::kProtocolVersion); !st) return st;
    auto record = stream.receive();
    if (!record) return record.error();
    auto request = decode_request(*record);
    BounceReply reply;
    if (!request) {
        reply = {1, request.error().message};
    } else {
        reply = service.handle(*request);
    }
    ipc::AttrList out;
    out.add_int(std::string(kAttrReplyStatus), reply.status);
    if (!reply.reason.empty()) out.add(std::string(kAttrReplyReason), reply.reason);
    if (auto st = stream.send(out); !st) return st;
    if (!request) return request.error();
    return ok_status();
}

}  // namespace mailroom::bounce
