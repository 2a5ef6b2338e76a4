// cleanup_session.cc - see cleanup_session.h.
#include "cleanup/cleanup_session.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <vector>

#include "lib/address/resolve.h"
#include "lib/config/common_params.h"
#include "lib/event/channel.h"
#include "lib/event/offload.h"
#include "lib/ipc/attr.h"
#include "lib/ipc/protocol.h"
#include "lib/log/log.h"
#include "lib/queue/record.h"
#include "lib/table/async_lookup.h"
#include "lib/submit/trigger.h"
#include "lib/util/strings.h"

namespace mailroom::cleanup {

namespace {

using submit::CleanupStatus;

class Session {
public:
    Session(event::Loop& loop, const CleanupConfig& config, server::Connection conn);
    void start();

private:
    // What the lookup worker reports back for a batch of records.
    struct Outcome {
        bool complete = false;
        CleanupStatus status = CleanupStatus::kOk;
    };
    void on_input();
    void process();
    void feed_records(std::vector<queue::RecordType> types, std::vector<std::string> payloads);
    void milter_records(std::size_t used);
    void milter_done(const milter::Verdict& v);
    void batch_done(const Outcome& outcome);
    void finish_and_reply();
    void send(const ipc::AttrList& record);
    void reply_and_close(CleanupStatus status);
    void close();

    event::Loop& loop_;
    const CleanupConfig& config_;
    server::Connection conn_;
    event::Channel::Ptr channel_;  // after conn_: goes first
    enum class State { kRequest, kRecords, kReplied, kDone } state_ = State::kRequest;
    ipc::AttrDecoder request_;
    std::string buf_;
    std::unique_ptr<CleanupMessage> msg_;
    bool busy_ = false;           // the lookup worker (or a sync thread) has msg_
    bool close_pending_ = false;  // close() came while busy_
    std::string bad_stream_;      // a malformed record after the batch on the worker
    std::unique_ptr<CleanupMilter> milter_;  // non_smtpd_milters hold the stream first
};

std::map<Session*, std::unique_ptr<Session>> g_sessions;
// The lookup path (lib/table/async_lookup.h): when a table of cleanup's may
// block, the records of every session are fed on its one worker thread
// (the tables are shared, so one thread at a time); the loop only reads,
// writes and decodes.
std::unique_ptr<table::LookupRunner> g_lookups;
// Queue file fsyncs run on these threads, so the loop goes on serving the
// other sessions while one waits for the disk, and the fsyncs of several
// sessions share the file system journal's commits (group commit). A
// session answers only after its own fsync is back.
constexpr std::size_t kSyncThreads = 8;
std::unique_ptr<event::Offload> g_syncs;

// qmgr is woken once per pass of the loop for every message committed in
// it (the fsyncs of several sessions come back together), right after the
// pass, and never waiting: this runs on the loop of every session. A full
// listen backlog means wakeups are already pending, and qmgr scans
// incoming/ (these files included) when it takes them; if even that fails,
// its wakeup timer finds the files. (A 100 ms wait here cost about 24 ms of
// stalled loop per message at 20 sessions.) A wakeup still pending when the
// process leaves goes out then (shutdown_sessions()).
struct QmgrWakeup {
    std::unique_ptr<event::Timer> timer;
    std::string queue_directory;
    bool pending = false;

    void send() {
        pending = false;
        (void)submit::trigger_service(queue_directory, ipc::ServiceClass::kPublic, "qmgr",
                                      std::string(1, submit::kQmgrScanIncoming), 0);
    }
};
QmgrWakeup g_qmgr_wakeup;

void schedule_qmgr_wakeup(event::Loop& loop, const std::string& queue_directory) {
    QmgrWakeup& w = g_qmgr_wakeup;
    if (w.pending) return;
    w.queue_directory = queue_directory;
    if (!w.timer) w.timer = std::make_unique<event::Timer>(loop, [] { g_qmgr_wakeup.send(); });
    w.pending = true;
    w.timer->start(std::chrono::milliseconds(0));
}

Session::Session(event::Loop& loop, const CleanupConfig& config, server::Connection conn)
    : loop_(loop), config_(config), conn_(std::move(conn)) {}

void Session::start() {
    event::ChannelOptions opt;
    opt.read_timeout = opt.write_timeout = std::chrono::milliseconds(config_.ipc_timeout_ms);
    opt.nonblocking = conn_.nonblocking();
    channel_ = event::Channel::create(loop_, conn_.fd(), opt);
    if (!channel_) return close();
    channel_->on_input([this] { on_input(); });
    channel_->on_event([this](event::Channel::Event ev, const std::string&) {
        if (ev == event::Channel::Event::kTimeout) {
            log::warn("%s: timeout after %d s reading from the client",
                      msg_ ? msg_->queue_id().c_str() : "cleanup", config_.ipc_timeout_ms / 1000);
            // While a worker has the message, close() finishes it when it is back.
            if (msg_ && !busy_) msg_->fail(CleanupStatus::kTimeout, "timeout");
        }
        close();
    });
    send(ipc::make_announcement(ipc::kCleanupProtocol));
}

void Session::send(const ipc::AttrList& record) {
    auto bytes = ipc::encode_record(record);
    if (!bytes) {
        log::warn("cleanup reply: %s", bytes.error().message.c_str());
        return close();
    }
    channel_->write(*bytes);
}

// Ends the session; called from the channel's handlers (or start()), so
// the session is freed from the loop afterwards.
void Session::close() {
    if (state_ == State::kDone) return;
    if (busy_) {
        // The worker still has the message: finish the close when it is back.
        close_pending_ = true;
        if (channel_) channel_->pause_reading();
        return;
    }
    if (msg_ && !msg_->failed() && state_ != State::kReplied) msg_->fail(CleanupStatus::kBad, "client went away");
    if (msg_) (void)msg_->finish();
    msg_.reset();
    state_ = State::kDone;
    auto it = g_sessions.find(this);
    if (it != g_sessions.end()) {
        loop_.release_later(std::move(it->second));
        g_sessions.erase(it);
    }
}

void Session::on_input() {
    while (!busy_ && (state_ == State::kRequest || state_ == State::kRecords)) {
        std::size_t avail = channel_->input_size();
        if (avail == 0) return;
        // Bounded: at most a little more than one record waits undecoded.
        std::size_t room = 2 * queue::kMaxPayload > buf_.size() ? 2 * queue::kMaxPayload - buf_.size() : 0;
        if (room == 0) return;  // cannot happen: process() always takes a whole record
        std::string more = channel_->peek(std::min(avail, room));
        channel_->consume(more.size());
        buf_ += more;
        process();
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
        if ((flags & submit::kCleanupFlagMilters) && config_.milters) {
            milter_ = std::make_unique<CleanupMilter>(loop_, config_.milters, config_.params.myhostname,
                                                      msg_->queue_id(),
                                                      config_.params.layout.queue_directory + "/incoming");
        }
        ipc::AttrList reply;
        reply.add(std::string(submit::kAttrQueueId), msg_->queue_id());
        send(reply);
        if (state_ == State::kDone) return;
        state_ = State::kRecords;
    }
    if (milter_) return milter_records(used);
    if (config_.may_block) {
        // Decode here, feed (and look up) on the worker.
        std::vector<queue::RecordType> types;
        std::vector<std::string> payloads;
        std::string error;
        for (;;) {
            queue::DecodedRecord rec;
            auto step = queue::decode_record(std::string_view(buf_).substr(used), &rec, &error);
            if (step == queue::DecodeStep::kNeedMore) break;
            if (step == queue::DecodeStep::kError) {
                bad_stream_ = error.empty() ? "malformed record" : error;
                break;
            }
            used += rec.length;
            payloads.emplace_back(rec.payload);
            types.push_back(rec.type);
            if (rec.type == queue::RecordType::kEnd) break;
        }
        buf_.erase(0, used);
        if (!types.empty()) return feed_records(std::move(types), std::move(payloads));
        if (!bad_stream_.empty()) {
            msg_->fail(CleanupStatus::kBad, bad_stream_);
            reply_and_close(CleanupStatus::kBad);
        }
        return;
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
        if (msg_->complete()) return finish_and_reply();
    }
    buf_.erase(0, used);
}

// non_smtpd_milters: the records go to the milters first; their edited
// stream is fed to the message on the loop (also when a table may block:
// the message has not been fed anything yet, so no worker holds it).
void Session::milter_records(std::size_t used) {
    while (!milter_->complete()) {
        queue::DecodedRecord rec;
        std::string error;
        auto step = queue::decode_record(std::string_view(buf_).substr(used), &rec, &error);
        if (step == queue::DecodeStep::kNeedMore) break;
        Status st = step == queue::DecodeStep::kError ? Status(make_error(error)) : milter_->add(rec.type, rec.payload);
        if (!st) {
            msg_->fail(CleanupStatus::kBad, st.error().message);
            return reply_and_close(CleanupStatus::kBad);
        }
        used += rec.length;
    }
    buf_.erase(0, used);
    if (!milter_->complete()) return;
    channel_->pause_reading();
    milter_->run([this](milter::Verdict v) {
        if (state_ != State::kRecords) return;
        milter_done(v);
    });
}

void Session::milter_done(const milter::Verdict& v) {
    std::string id = msg_->queue_id();
    std::string suffix = "from=<" + log::log_printable(milter_->sender()) + "> to=<" +
                         log::log_printable(milter_->first_recipient()) + ">";
    if (v.kind == milter::Verdict::Kind::kReject || v.kind == milter::Verdict::Kind::kTempfail) {
        // "550 5.7.1 text": the DSN and text go back to the client.
        std::string text = v.reply.substr(0, v.reply.find_first_of("\r\n"));
        std::string rest = text.size() > 4 ? text.substr(4) : text;
        log::info("%s: milter-reject: END-OF-MESSAGE from localhost[127.0.0.1]: %s; %s", id.c_str(),
                  log::log_printable(rest).c_str(), suffix.c_str());
        CleanupStatus status = v.kind == milter::Verdict::Kind::kReject ? CleanupStatus::kContent : CleanupStatus::kDefer;
        msg_->fail(status, rest);
        milter_.reset();
        return reply_and_close(status);
    }
    if (v.kind == milter::Verdict::Kind::kDiscard) {
        log::info("%s: milter-discard: END-OF-MESSAGE from localhost[127.0.0.1]: milter triggers DISCARD action; %s",
                  id.c_str(), suffix.c_str());
        msg_->discard();
    }
    Status st = milter_->replay([this](queue::RecordType t, std::string_view p) {
        msg_->feed(t, p);
        return ok_status();
    });
    milter_.reset();
    if (!st) {
        msg_->fail(CleanupStatus::kWrite, st.error().message);
        return reply_and_close(CleanupStatus::kWrite);
    }
    if (!msg_->complete()) {
        msg_->fail(CleanupStatus::kBad, "incomplete message after the milters");
        return reply_and_close(CleanupStatus::kBad);
    }
    finish_and_reply();
}

void Session::feed_records(std::vector<queue::RecordType> types, std::vector<std::string> payloads) {
    busy_ = true;
    channel_->pause_reading();
    CleanupMessage* msg = msg_.get();
    g_lookups->run<Outcome>(
        true,
        [msg, types = std::move(types), payloads = std::move(payloads)] {
            Outcome out;
            for (std::size_t i = 0; i < types.size(); ++i) {
                msg->feed(types[i], payloads[i]);
                if (msg->complete()) {
                    out.complete = true;
                    out.status = msg->finish();
                    break;
                }
            }
            return out;
        },
        [this](Outcome outcome) { batch_done(outcome); });
}

void Session::batch_done(const Outcome& outcome) {
    busy_ = false;
    if (close_pending_) return close();
    if (outcome.complete) return reply_and_close(outcome.status);
    if (!bad_stream_.empty()) {
        msg_->fail(CleanupStatus::kBad, bad_stream_);
        return reply_and_close(CleanupStatus::kBad);
    }
    channel_->resume_reading();
    if (!buf_.empty()) process();
}

// Commits the complete message; the fsync runs on a sync thread when there
// is one and other sessions share this loop, and the reply goes out once it
// is back. A lone session syncs on the loop: nobody else waits for it, and
// the hand-off to a thread and back would add two wakeups to its latency.
void Session::finish_and_reply() {
    bool offload = g_syncs && g_sessions.size() > 1;
    CleanupStatus status = msg_->finish(offload ? CleanupMessage::Sync::kDeferSync : CleanupMessage::Sync::kNow);
    if (!msg_->sync_pending()) return reply_and_close(status);
    busy_ = true;
    channel_->pause_reading();
    CleanupMessage* msg = msg_.get();
    g_syncs->submit_value<CleanupStatus>([msg] { return msg->finish_sync(); },
                                         [this](CleanupStatus synced) {
                                             busy_ = false;
                                             // Gone before the answer: the file stays queued
                                             // (delivered once more at worst, never lost).
                                             if (close_pending_) return close();
                                             reply_and_close(synced);
                                         });
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
    if (status == CleanupStatus::kOk) schedule_qmgr_wakeup(loop_, config_.params.layout.queue_directory);
    state_ = State::kReplied;
    msg_.reset();
    buf_.clear();
    // The connection ends once the reply has left (or ipc_timeout passed).
    channel_->pause_reading();
    channel_->on_drained([this] { close(); });
    send(reply);
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

Status load_rewrite_config(const config::Config& cfg, CleanupParams* params, bool* domain_lists_may_block) {
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
    // recipient_delimiter, $myorigin and the local domains: lib/address.
    // The resolver's domain lists may name a table that blocks (mysql: in
    // mydestination): then the lookups of every session go off the loop too.
    std::shared_ptr<address::DomainLists> lists;
    auto resolver = address::resolver_from_config(cfg, &lists);
    if (!resolver) return resolver.error();
    rw.resolver = std::move(*resolver);
    if (lists && lists->may_block()) *domain_lists_may_block = true;
    auto propagate = cfg.get_list("propagate_unmatched_extensions");
    if (!propagate) return propagate.error();
    rw.propagate_canonical = rw.propagate_virtual = false;
    for (const auto& p : *propagate) {
        if (util::iequals(p, "canonical")) rw.propagate_canonical = true;
        if (util::iequals(p, "virtual")) rw.propagate_virtual = true;
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
    if (auto st = load_rewrite_config(cfg, &out.params, &out.may_block); !st) return st.error();
    for (const auto* maps : {&out.params.rewrite.canonical, &out.params.rewrite.sender_canonical,
                             &out.params.rewrite.recipient_canonical, &out.params.rewrite.virtual_alias,
                             &out.params.header_checks, &out.params.mime_header_checks,
                             &out.params.nested_header_checks, &out.params.body_checks}) {
        if (*maps && (*maps)->may_block()) out.may_block = true;
    }
    auto nesting = cfg.get_int("mime_nesting_limit");
    if (!nesting) return nesting.error();
    out.params.mime_nesting_limit = static_cast<int>(*nesting);
    auto boundary = cfg.get_int("mime_boundary_length_limit");
    if (!boundary) return boundary.error();
    out.params.mime_boundary_length_limit = static_cast<std::size_t>(*boundary);
    auto no_mime = cfg.get_bool("disable_mime_input_processing");
    if (!no_mime) return no_mime.error();
    out.params.disable_mime_input_processing = *no_mime;
    auto recycle = cfg.get_int("queue_file_recycle_limit");
    if (!recycle) return recycle.error();
    out.params.recycle_queue_files = *recycle > 0;
    auto timeout = config::ipc_timeout_ms(cfg);
    if (!timeout) return timeout.error();
    out.ipc_timeout_ms = *timeout;
    // non_smtpd_milters: for the clients that ask (pickup); receive_override_options
    // = no_milters is the client's to honour, not cleanup's.
    config::Config milter_cfg = cfg;
    milter_cfg.set_override("receive_override_options", "");
    auto milters = milter::MilterConfig::from_config(milter_cfg, "non_smtpd_milters");
    if (!milters) return milters.error();
    if (!milters->empty()) out.milters = std::make_shared<const milter::MilterConfig>(std::move(*milters));
    return out;
}

void shutdown_sessions() {
    g_syncs.reset();    // joins the sync threads; their answers never arrive
    g_lookups.reset();  // joins the worker; its answers never arrive
    g_sessions.clear();
    if (g_qmgr_wakeup.pending) g_qmgr_wakeup.send();
    g_qmgr_wakeup.timer.reset();
}

void start_session(event::Loop& loop, const CleanupConfig& config, server::Connection conn) {
    if (config.may_block && !g_lookups) g_lookups = std::make_unique<table::LookupRunner>(loop);
    if (!g_syncs) {
        auto pool = event::Offload::create(loop.base(), kSyncThreads);
        if (pool)
            g_syncs = std::move(*pool);
        else
            log::warn("fsync threads: %s; queue files are synced on the loop", pool.error().message.c_str());
    }
    auto s = std::make_unique<Session>(loop, config, std::move(conn));
    Session* raw = s.get();
    g_sessions[raw] = std::move(s);
    raw->start();
}

}  // namespace mailroom::cleanup
