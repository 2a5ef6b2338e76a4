// qmgr_queue.cc - see qmgr_queue.h.
#include "qmgr/qmgr_queue.h"

#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <map>

#include "lib/address/address.h"
#include "lib/address/resolve.h"
#include "lib/config/common_params.h"
#include "lib/bounce/bounce_proto.h"
#include "lib/ipc/ipc_socket.h"
#include "lib/log/log.h"
#include "lib/queue/queue_file.h"
#include "lib/submit/trigger.h"
#include "lib/util/fs.h"
#include "lib/util/strings.h"
#include "lib/deliver/deliver_log.h"
#include "qmgr/qmgr_backoff.h"

namespace mailroom::qmgr {

namespace {

// The active queue never holds more than this many messages; the rest wait
// in incoming/ and deferred/ for the next scan.
constexpr std::size_t kActiveLimit = 10000;
// At most this many messages are open (file descriptor and memory) at once.
constexpr std::size_t kOpenLimit = 200;

// The longest qmgr waits for one bounce conversation.
constexpr int kBounceTimeoutMs = 60 * 1000;

std::vector<std::string> list_or_empty(const config::Config& cfg, const char* name) {
    auto v = cfg.get_list(name);
    return v ? *v : std::vector<std::string>{};
}

}  // namespace

Result<QmgrConfig> load_qmgr_config(const config::Config& cfg) {
    QmgrConfig out;
    auto q = cfg.get("queue_directory");
    if (!q) return q.error();
    out.layout.queue_directory = *q;
    // The address classes: lib/address's resolver over the domain lists
    // (their tables are opened now, to learn whether lookups may block).
    auto resolver = address::resolver_from_config(cfg, &out.domain_lists);
    if (!resolver) return resolver.error();
    out.routing.resolver = std::move(*resolver);
    for (auto [name, field] : {std::pair{"local_transport", &out.routing.local_transport},
                               std::pair{"virtual_transport", &out.routing.virtual_transport},
                               std::pair{"relay_transport", &out.routing.relay_transport},
                               std::pair{"default_transport", &out.routing.default_transport}}) {
        auto v = cfg.get(name);
        if (!v) return v.error();
        *field = *v;
    }
    auto relayhost = cfg.get("relayhost");
    if (!relayhost) return relayhost.error();
    out.routing.relayhost = *relayhost;
    out.transport_maps = list_or_empty(cfg, "transport_maps");
    auto ext = address::read_extension_settings(cfg);
    if (!ext) return ext.error();
    out.schedule.extension = std::move(*ext);
    for (auto [name, field] : {std::pair{"minimal_backoff_time", &out.minimal_backoff_time},
                               std::pair{"maximal_backoff_time", &out.maximal_backoff_time},
                               std::pair{"queue_run_delay", &out.queue_run_delay},
                               std::pair{"delay_warning_time", &out.delay_warning_time},
                               std::pair{"maximal_queue_lifetime", &out.maximal_queue_lifetime},
                               std::pair{"bounce_queue_lifetime", &out.bounce_queue_lifetime}}) {
        auto v = cfg.get_time(name);
        if (!v) return v.error();
        *field = *v;
    }
    auto t = config::ipc_timeout_ms(cfg);
    if (!t) return t.error();
    out.ipc_timeout_ms = *t;
    auto recycle = cfg.get_int("queue_file_recycle_limit");
    if (!recycle) return recycle.error();
    out.queue_file_recycle_limit = static_cast<long>(*recycle);
    // Each transport's limits: TRANSPORT_destination_*_limit (service-defined
    // parameters, once master.cf is read) and its master.cf maxproc.
    auto policy = [](const config::Config& c, const std::string& prefix, TransportPolicy* p) -> Status {
        for (auto [suffix, field] : {std::pair{"_destination_concurrency_limit", &p->destination_concurrency_limit},
                                     std::pair{"_destination_recipient_limit", &p->destination_recipient_limit}}) {
            std::string name = prefix + suffix;
            if (!c.known(name)) continue;
            auto v = c.get_int(name);
            if (!v) return v.error();
            *field = static_cast<int>(*v);
        }
        if (std::string name = prefix + "_destination_rate_delay"; c.known(name)) {
            auto v = c.get_time(name);
            if (!v) return v.error();
            p->destination_rate_delay = *v;
        }
        return ok_status();
    };
    if (auto st = policy(cfg, "default", &out.schedule.defaults); !st) return st.error();
    auto plimit = cfg.get_int("default_process_limit");
    if (!plimit) return plimit.error();
    out.schedule.defaults.process_limit = static_cast<int>(*plimit);
    config::Config copy = cfg;
    if (copy.load_master_cf()) {
        for (const auto& svc : copy.services()) {
            if (svc.type != "unix") continue;
            TransportPolicy p = out.schedule.defaults;
            if (auto st = policy(copy, svc.name, &p); !st) return st.error();
            p.process_limit = svc.maxproc.value_or(out.schedule.defaults.process_limit);
            out.schedule.transports[svc.name] = p;
        }
    }
    return out;
}

QueueManager::QueueManager(event::Loop& loop, QmgrConfig config) : loop_(loop), config_(std::move(config)) {}

Status QueueManager::start() {
    bool may_block = false;
    for (const auto& spec : config_.transport_maps) {
        auto t = table::open_table(spec);
        if (!t) return make_error("transport_maps: " + t.error().message);
        may_block = may_block || (*t)->may_block();
        tables_.push_back(std::move(*t));
    }
    if (config_.domain_lists && config_.domain_lists->may_block()) may_block = true;
    // Lookups that may block run on the lookup runner's one worker
    // thread, one message at a time: only that thread touches the tables
    // from then on (lib/table/async_lookup.h).
    routing_may_block_ = may_block;
    lookups_ = std::make_unique<table::LookupRunner>(loop_);
    work_timer_ = event::Timer(loop_, [this] { work(); });
    rate_timer_ = event::Timer(loop_, [this] { schedule(); });
    deferred_timer_ = event::Timer(loop_, [this] {
        want_deferred_ = true;
        schedule();
        deferred_timer_.start(std::chrono::seconds(config_.queue_run_delay));
    });
    deferred_timer_.start(std::chrono::seconds(config_.queue_run_delay));
    (void)queue::remove_stale_temp_files(config_.layout, queue::kQueueIncoming, 3600);
    // Messages a previous qmgr left in active/ are taken up again.
    auto ids = queue::list_queue(config_.layout, queue::kQueueActive);
    if (!ids) return ids.error();
    for (const auto& id : *ids) {
        if (active_.size() >= kActiveLimit) break;
        activate(id, queue::kQueueActive);
    }
    want_incoming_ = want_deferred_ = true;
    schedule();
    return ok_status();
}

void QueueManager::on_trigger(std::string_view request) {
    for (char c : request) {
        switch (c) {
            case submit::kQmgrScanDeferred: want_deferred_ = true; break;
            case submit::kQmgrFlush: flush_ = want_deferred_ = want_incoming_ = true; break;
            case submit::kQmgrScanAll: want_deferred_ = want_incoming_ = true; break;
            default: want_incoming_ = true; break;  // 'I', the master wakeup 'W', anything else
        }
    }
    schedule();
}

void QueueManager::schedule() {
    if (!work_timer_.pending()) work_timer_.start(std::chrono::milliseconds(0));
}

void QueueManager::work() {
    // New mail first, as Postfix's qmgr does; then open messages and start
    // as many deliveries as the limits allow.
    if (want_incoming_) {
        want_incoming_ = false;
        scan_incoming();
    } else if (want_deferred_) {
        want_deferred_ = false;
        scan_deferred();
    }
    dispatch();
    if (want_incoming_ || want_deferred_) schedule();
}

void QueueManager::scan_incoming() {
    auto ids = queue::list_queue(config_.layout, queue::kQueueIncoming);
    if (!ids) {
        log::warn("scan incoming: %s", ids.error().message.c_str());
        return;
    }
    for (const auto& id : *ids) {
        if (active_.size() >= kActiveLimit) {
            want_incoming_ = true;  // the rest after the active queue drains
            return;
        }
        activate(id, queue::kQueueIncoming);
    }
}

void QueueManager::scan_deferred() {
    auto ids = queue::list_queue(config_.layout, queue::kQueueDeferred);
    if (!ids) {
        log::warn("scan deferred: %s", ids.error().message.c_str());
        return;
    }
    std::time_t now = std::time(nullptr);
    for (const auto& id : *ids) {
        if (active_.size() >= kActiveLimit) break;
        struct stat st {};
        if (::stat(config_.layout.file_path(queue::kQueueDeferred, id).c_str(), &st) < 0) continue;
        if (!flush_ && st.st_mtime > now) continue;  // not due yet
        activate(id, queue::kQueueDeferred);
    }
    flush_ = false;
}

// Moves a file into active/ (unless it is there already) and queues it for
// delivery; open_message() reads it. Returns false when it was skipped.
bool QueueManager::activate(const std::string& id, std::string_view from_queue) {
    if (from_queue != queue::kQueueActive) {
        if (auto st = queue::move_queue_file(config_.layout, id, from_queue, queue::kQueueActive,
                                               queue::MoveSync::kNoSync);
            !st) {
            log::warn("%s: move to active: %s", id.c_str(), st.error().message.c_str());
            return false;
        }
    }
    // The defer logfile describes the latest attempt only.
    (void)::unlink(config_.layout.file_path(queue::kQueueDefer, id).c_str());
    active_.push_back({id, deliver::now_seconds(), from_queue == queue::kQueueIncoming});
    return true;
}

// master creates the socket of every master.cf service; none means the
// service is not configured (as opposed to temporarily unavailable).
bool QueueManager::service_configured(std::string_view service) const {
    return util::path_exists(
        ipc::service_socket_path(config_.layout.queue_directory, ipc::ServiceClass::kPrivate, service));
}

int QueueManager::bounce_timeout_ms() const { return std::min(config_.ipc_timeout_ms, kBounceTimeoutMs); }

namespace {
// A redirected recipient is reported as delivered to: the redirect
// address, with what it was as the original recipient.
bounce::BounceRecipient status_record(const queue::QueueRecipient& r, const deliver::RecipientResult& res,
                                      std::string_view action, const std::string& redirect) {
    std::string address = redirect.empty() ? r.address : redirect;
    std::string orig = redirect.empty() || !r.orig_recipient.empty() ? r.orig_recipient : r.address;
    return bounce::BounceRecipient{address, orig,   r.dsn_orcpt, r.dsn_notify, res.dsn, std::string(action),
                                   res.reason, static_cast<std::int64_t>(r.status_offset)};
}
}  // namespace

void QueueManager::record_deferred(OpenMessage& msg, const queue::QueueRecipient& r,
                                   const deliver::RecipientResult& res) {
    msg.deferred = true;
    msg.deferred_rcpts.emplace_back(&r, res);
    if (!service_configured(bounce::kServiceDefer)) return;
    if (auto st = bounce::bounce_append(config_.layout.queue_directory, bounce::kServiceDefer, msg.entry.id,
                                        status_record(r, res, bounce::kActionDelayed, msg.redirect), bounce_timeout_ms());
        !st)
        log::warn("%s: %s", msg.entry.id.c_str(), st.error().message.c_str());
}

// Past its lifetime: every recipient deferred in this attempt bounces as
// expired. True when none is left.
bool QueueManager::expire(OpenMessage& msg) {
    const std::string& id = msg.entry.id;
    long long age = static_cast<long long>(deliver::now_seconds() - msg.arrival);
    long long lifetime = msg.env.sender.empty() ? config_.bounce_queue_lifetime : config_.maximal_queue_lifetime;
    if (age < lifetime || msg.deferred_rcpts.empty() || !service_configured(bounce::kServiceBounce)) return false;
    if (msg.deferred_rcpts.size() != msg.pending.size()) return false;  // some never tried
    bool all = true;
    for (const auto& [r, res] : msg.deferred_rcpts) {
        deliver::RecipientResult expired{deliver::DeliveryStatus::kBounced, "4.4.7", res.relay,
                                         "message expired: " + res.reason};
        auto st = bounce::bounce_append(config_.layout.queue_directory, bounce::kServiceBounce, id,
                                        status_record(*r, expired, bounce::kActionFailed, msg.redirect), bounce_timeout_ms());
        if (st) st = msg.file->mark_done(*r);
        if (!st) {
            log::warn("%s: %s", id.c_str(), st.error().message.c_str());
            all = false;
        }
    }
    // REDIRECT: the other recipients share the fate of the one delivery.
    for (const auto* f : msg.followers) {
        if (!all) break;
        if (auto st = msg.file->mark_done(*f); !st) {
            log::warn("%s: %s", id.c_str(), st.error().message.c_str());
            all = false;
        }
    }
    if (all)
        log::info("%s: from=<%s>, status=expired, returned to sender", id.c_str(),
                  log::log_printable(msg.env.sender).c_str());
    return all;
}

Result<std::optional<std::string>> QueueManager::lookup_transport(std::string_view key) {
    for (auto& t : tables_) {
        auto r = t->lookup(key);
        if (!r) return r.error();
        if (*r) return r;
    }
    return std::optional<std::string>();
}

void QueueManager::log_here(const OpenMessage& msg, const queue::QueueRecipient& r,
                            const deliver::RecipientResult& res, double started) {
    deliver::DeliveryRequest req;
    req.queue_id = msg.entry.id;
    req.arrival_time_us = static_cast<std::int64_t>(msg.arrival * 1e6);
    req.active_time_us = static_cast<std::int64_t>(msg.entry.entered * 1e6);
    req.handoff_time_us = static_cast<std::int64_t>(started * 1e6);
    double now = deliver::now_seconds();
    deliver::log_delivery(req, {r.address, r.orig_recipient, {}, {}, 0}, res, deliver::request_times(req, now, now));
}

// Opens, locks and reads a message: its envelope only, once (the content
// is the delivery agent's to read), as Postfix's qmgr does; logs it as it
// enters the active queue. Returns nullptr when there is nothing to do
// with it.
std::unique_ptr<QueueManager::OpenMessage> QueueManager::open_message(const ActiveEntry& entry) {
    const std::string& id = entry.id;
    std::string path = config_.layout.file_path(queue::kQueueActive, id);
    auto file = queue::QueueFile::open(path, true);
    if (!file) {
        // Deleted (postsuper -d) or moved meanwhile: nothing to do.
        if (util::path_exists(path)) log::warn("%s: %s", id.c_str(), file.error().message.c_str());
        return nullptr;
    }
    if (auto st = file->lock(false); !st) {
        log::warn("%s: queue file is locked by another process; skipped", id.c_str());
        return nullptr;
    }
    auto env = file->read_envelope();
    if (!env) {
        if (queue::is_corruption(env.error()))
            (void)queue::save_corrupt_file(config_.layout, queue::kQueueActive, id, env.error().message);
        else
            log::warn("%s: %s", id.c_str(), env.error().message.c_str());
        return nullptr;
    }
    log::info("%s: from=<%s>, size=%llu, nrcpt=%llu (queue active)", id.c_str(),
              log::log_printable(env->sender).c_str(), static_cast<unsigned long long>(env->size.message_size),
              static_cast<unsigned long long>(env->size.recipient_count));
    auto msg = std::make_unique<OpenMessage>();
    msg->entry = entry;
    msg->file.emplace(std::move(*file));
    msg->env = std::move(*env);
    msg->arrival = static_cast<double>(msg->env.arrival_seconds) + msg->env.arrival_microseconds / 1e6;
    // REDIRECT sends the message once, to its address, instead.
    msg->redirect = std::string(msg->env.attribute(queue::kAttrRedirect));
    msg->pending = msg->env.pending_recipients();
    if (!msg->redirect.empty() && msg->pending.size() > 1) {
        msg->followers.assign(msg->pending.begin() + 1, msg->pending.end());
        msg->pending.resize(1);
    }
    return msg;
}

// The route of each address: FILTER (or content_filter) overrides the
// routing of every recipient. Runs on the lookup worker when a table may
// block, so it touches nothing but the tables and the configuration.
std::vector<Result<Route>> QueueManager::resolve_all(const std::vector<std::string>& addresses,
                                                      const std::string& filter_value) {
    std::optional<TransportValue> filter;
    if (!filter_value.empty()) filter = parse_transport_value(filter_value);
    auto resolver_lookup = [this](std::string_view key) { return lookup_transport(key); };
    std::vector<Result<Route>> out;
    for (const auto& address : addresses) {
        if (filter && !filter->transport.empty()) {
            out.push_back(Route{filter->transport,
                                filter->nexthop.empty() ? address::domain_lower(address) : filter->nexthop,
                                !filter->nexthop.empty(), address});
        } else {
            out.push_back(resolve_route(config_.routing, address,
                                        tables_.empty() ? TransportLookup() : TransportLookup(resolver_lookup)));
        }
    }
    return out;
}

// Routes the message's recipients, then makes it ready for delivery: at
// once, or when the lookup worker has the routes (transport_maps or a
// domain list that may block, such as mysql:, never stalls the loop).
void QueueManager::route_message(std::unique_ptr<OpenMessage> msg) {
    std::vector<std::string> addresses;
    for (const auto* r : msg->pending) addresses.push_back(msg->redirect.empty() ? r->address : msg->redirect);
    std::string filter(msg->env.attribute(queue::kAttrFilter));
    if (!routing_may_block_) {
        assign_groups(*msg, resolve_all(addresses, filter));
        open_.push_back(std::move(msg));
        return;
    }
    OpenMessage* raw = msg.get();
    routing_.push_back(std::move(msg));
    lookups_->run<std::vector<Result<Route>>>(
        true, [this, addresses, filter] { return resolve_all(addresses, filter); },
        [this, raw](std::vector<Result<Route>> routes) {
            auto it = std::find_if(routing_.begin(), routing_.end(), [raw](const auto& m) { return m.get() == raw; });
            if (it == routing_.end()) return;
            assign_groups(*raw, routes);
            open_.push_back(std::move(*it));
            routing_.erase(it);
            schedule();
        });
}

// Groups the routed recipients into delivery requests (qmgr_schedule.h);
// a recipient without a route is deferred.
void QueueManager::assign_groups(OpenMessage& msg, const std::vector<Result<Route>>& routes) {
    std::vector<RoutedRecipient> routed;
    std::vector<const queue::QueueRecipient*> members;
    std::vector<std::string> resolved;
    for (std::size_t i = 0; i < msg.pending.size(); ++i) {
        const auto* r = msg.pending[i];
        if (!routes[i]) {
            deliver::RecipientResult res{deliver::DeliveryStatus::kDeferred, "4.3.0", "none",
                                         "address resolver failure: " + routes[i].error().message};
            log_here(msg, *r, res, deliver::now_seconds());
            record_deferred(msg, *r, res);
            continue;
        }
        routed.push_back({*routes[i], msg.redirect.empty() ? r->address : msg.redirect});
        members.push_back(r);
        resolved.push_back(routes[i]->recipient.empty() ? r->address : routes[i]->recipient);
    }
    for (auto& batch : make_batches(config_.schedule, routed)) {
        Group g{batch.route, batch.destination, {}, {}, msg.redirect, {}};
        for (std::size_t i : batch.members) {
            g.rcpts.push_back(members[i]);
            g.addresses.push_back(resolved[i]);
        }
        msg.waiting.push_back(std::move(g));
    }
    if (!msg.waiting.empty()) msg.waiting.front().followers = msg.followers;
}

void QueueManager::dispatch() {
    // Open more messages while there is room.
    while (!active_.empty() && open_.size() + routing_.size() < kOpenLimit) {
        ActiveEntry entry = active_.front();
        active_.pop_front();
        auto msg = open_message(entry);
        if (!msg) continue;
        route_message(std::move(msg));
    }
    // Start every group the concurrency limits allow, oldest message first.
    double now = deliver::now_seconds();
    double wake = 0;  // the earliest end of a rate delay that holds a group back
    for (auto it = open_.begin(); it != open_.end();) {
        OpenMessage& msg = **it;
        for (auto g = msg.waiting.begin(); g != msg.waiting.end();) {
            Batch b{g->route, g->destination, {}};
            if (!busy_.may_start(b, now)) {
                if (double at = busy_.ready_at(b); at > now && (wake == 0 || at < wake)) wake = at;
                ++g;
                continue;
            }
            Group group = std::move(*g);
            g = msg.waiting.erase(g);
            (void)start_group(msg, group);
        }
        if (msg.waiting.empty() && msg.running == 0) {
            finalize(msg);
            it = open_.erase(it);
        } else {
            ++it;
        }
    }
    if (wake > 0) rate_timer_.start(std::chrono::milliseconds(static_cast<long long>((wake - now) * 1000) + 1));
}

// Whether another request for this transport and nexthop waits (not yet
// started): the agent may then keep its connection for it (Postfix's
// DEL_REQ_FLAG_CONN_STORE, smtp_connection_cache_on_demand).
bool QueueManager::more_waiting(const Route& route) const {
    for (const auto& m : open_)
        for (const auto& g : m->waiting)
            if (g.route.transport == route.transport && g.route.nexthop == route.nexthop) return true;
    return false;
}

// Starts one delivery conversation; false when the agent cannot be reached
// (the group's recipients are then deferred at once).
bool QueueManager::start_group(OpenMessage& msg, const Group& group) {
    double started = deliver::now_seconds();
    deliver::DeliveryRequest req;
    req.queue_name = std::string(queue::kQueueActive);
    req.queue_id = msg.entry.id;
    req.sender = msg.env.sender;
    req.transport = group.route.transport;
    req.nexthop = group.route.nexthop;
    req.nexthop_explicit = group.route.nexthop_explicit;
    req.arrival_time = msg.env.arrival_seconds;
    req.arrival_time_us = static_cast<std::int64_t>(msg.arrival * 1e6);
    req.active_time_us = static_cast<std::int64_t>(msg.entry.entered * 1e6);
    req.handoff_time_us = static_cast<std::int64_t>(started * 1e6);
    if (more_waiting(group.route)) req.flags |= deliver::kRequestFlagConnStore;
    for (std::size_t i = 0; i < group.rcpts.size(); ++i) {
        const auto* r = group.rcpts[i];
        // The recipient is delivered as it resolved (trailing dot dropped,
        // percent hack, ...); a redirected or rewritten recipient keeps
        // what it was as the original recipient (orig_to=).
        std::string to = group.redirect.empty() ? group.addresses[i] : group.redirect;
        std::string orig = !r->orig_recipient.empty() || to == r->address ? r->orig_recipient : r->address;
        req.recipients.push_back({to, orig, r->dsn_orcpt, r->dsn_notify, static_cast<std::int64_t>(r->status_offset)});
    }
    OpenMessage* raw = &msg;
    Batch batch{group.route, group.destination, {}};
    auto holder = std::make_shared<DeliveryCall*>(nullptr);
    auto call = DeliveryCall::start(
        loop_, pool_, config_.layout.queue_directory, req, config_.ipc_timeout_ms,
        [this, raw, group, started, batch, holder](Result<deliver::DeliveryReply> reply) {
            busy_.finished(batch, deliver::now_seconds());
            --raw->running;
            // We are inside the call's own callback: free it from the loop.
            auto it = calls_.find(*holder);
            if (it != calls_.end()) {
                loop_.release_later(std::move(it->second));
                calls_.erase(it);
            }
            group_done(raw, group, reply, started);
            schedule();
        });
    if (!call) {
        group_done(raw, group, call.error(), started);
        return false;
    }
    *holder = call->get();
    calls_[call->get()] = std::move(*call);
    busy_.started(batch);
    ++raw->running;
    return true;
}

void QueueManager::group_done(OpenMessage* msg, const Group& group, const Result<deliver::DeliveryReply>& reply,
                              double started) {
    for (std::size_t i = 0; i < group.rcpts.size(); ++i) {
        const auto* r = group.rcpts[i];
        if (!reply) {
            // The agent logs results; qmgr logs what never reached an agent.
            deliver::RecipientResult res{deliver::DeliveryStatus::kDeferred, "4.3.0", "none",
                                         "delivery temporarily suspended: " + reply.error().message};
            log_here(*msg, *r, res, started);
            record_deferred(*msg, *r, res);
            continue;
        }
        const auto& res = reply->results[i];
        if (res.status == deliver::DeliveryStatus::kDeferred) {
            record_deferred(*msg, *r, res);
            continue;
        }
        // Done for good. A bounced recipient is in the bounce logfile before
        // it is marked done, or it stays pending; a delivered one that asked
        // for a success notice goes to trace. Without a bounce service
        // (none in master.cf) a bounce is only logged.
        const std::string& id = msg->entry.id;
        if (res.status == deliver::DeliveryStatus::kBounced && service_configured(bounce::kServiceBounce)) {
            if (auto st = bounce::bounce_append(config_.layout.queue_directory, bounce::kServiceBounce, id,
                                                status_record(*r, res, bounce::kActionFailed, msg->redirect), bounce_timeout_ms());
                !st) {
                log::warn("%s: %s", id.c_str(), st.error().message.c_str());
                msg->deferred = true;
                continue;
            }
        } else if (res.status == deliver::DeliveryStatus::kSent && !res.dsn_delegated &&
                   bounce::notify_wants(r->dsn_notify, "SUCCESS") && service_configured(bounce::kServiceTrace)) {
            if (auto st = bounce::bounce_append(config_.layout.queue_directory, bounce::kServiceTrace, id,
                                                status_record(*r, res,
                                                              res.relayed ? bounce::kActionRelayed
                                                                          : bounce::kActionDelivered,
                                                              msg->redirect),
                                                bounce_timeout_ms());
                !st)
                log::warn("%s: %s", id.c_str(), st.error().message.c_str());
            else
                msg->traced = true;
        }
        // Mark it before anything else can go wrong.
        if (auto st = msg->file->mark_done(*r); !st) {
            log::warn("%s: mark done: %s", msg->entry.id.c_str(), st.error().message.c_str());
            msg->deferred = true;
            continue;
        }
        // REDIRECT: the other recipients are done with the one delivery.
        if (i == 0) {
            for (const auto* f : group.followers) {
                if (auto st = msg->file->mark_done(*f); !st) {
                    log::warn("%s: mark done: %s", msg->entry.id.c_str(), st.error().message.c_str());
                    msg->deferred = true;
                }
            }
        }
    }
}

// All groups are over: remove the file, or defer what is left.
void QueueManager::finalize(OpenMessage& msg) {
    const std::string& id = msg.entry.id;
    std::string path = config_.layout.file_path(queue::kQueueActive, id);
    if (msg.deferred && expire(msg)) msg.deferred = false;
    if (!msg.deferred) {
        // The notifications first: the bounce service reads this file.
        // Only qmgr writes trace records: a message new to the queue has
        // a trace logfile only when this attempt wrote one (cleanup may
        // have written bounce records, though).
        for (auto service : {bounce::kServiceBounce, bounce::kServiceTrace}) {
            if (service == bounce::kServiceTrace && msg.entry.fresh && !msg.traced) continue;
            if (msg.deferred || !util::path_exists(config_.layout.file_path(service, id))) continue;
            if (auto st = bounce::bounce_flush(config_.layout.queue_directory, service, queue::kQueueActive, id,
                                               bounce_timeout_ms());
                !st) {
                log::warn("%s: %s", id.c_str(), st.error().message.c_str());
                msg.deferred = true;  // the flush is tried again with the next attempt
            }
        }
    }
    if (!msg.deferred) {
        // Closed first: the next writer may take the file from recycle/ at
        // once, and this descriptor's lock would stop qmgr from locking it
        // under its new queue ID.
        std::optional<std::uint64_t> size;
        if (msg.file) size = msg.file->open_size();
        msg.file.reset();
        if (auto st = recycle_.retire(queue::kQueueActive, id, size); !st) {
            if (st.error().kind != ErrorKind::kPermanent) log::warn("%s: %s", id.c_str(), st.error().message.c_str());
            return;
        }
        // activate() removed the defer logfile; only this attempt's
        // deferrals can have written it again.
        if (!msg.deferred_rcpts.empty())
            (void)::unlink(config_.layout.file_path(queue::kQueueDefer, id).c_str());
        warned_.erase(id);
        log::info("%s: removed", id.c_str());
        return;
    }
    long long age = static_cast<long long>(deliver::now_seconds() - msg.arrival);
    // One delay warning once the message has waited delay_warning_time.
    if (config_.delay_warning_time > 0 && age >= config_.delay_warning_time && !msg.env.sender.empty() &&
        !msg.deferred_rcpts.empty() && !warned_.count(id) && service_configured(bounce::kServiceDefer)) {
        if (auto st = bounce::defer_warn(config_.layout.queue_directory, queue::kQueueActive, id, bounce_timeout_ms()); st)
            warned_.insert(id);
        else
            log::warn("%s: %s", id.c_str(), st.error().message.c_str());
    }
    // Some recipients are left: wait in deferred/ until the next attempt.
    long long backoff = compute_backoff(age, config_.minimal_backoff_time, config_.maximal_backoff_time);
    struct timeval times[2];
    ::gettimeofday(&times[0], nullptr);
    times[1] = times[0];
    times[1].tv_sec += backoff;
    if (::utimes(path.c_str(), times) < 0) log::warn("%s: utimes: %s", id.c_str(), std::strerror(errno));
    if (auto st = queue::ensure_file_dir(config_.layout, queue::kQueueDeferred, id); !st)
        log::warn("%s: %s", id.c_str(), st.error().message.c_str());
    if (auto st = queue::move_queue_file(config_.layout, id, queue::kQueueActive, queue::kQueueDeferred,
                                           queue::MoveSync::kNoSync);
        !st)
        log::warn("%s: move to deferred: %s", id.c_str(), st.error().message.c_str());
}

}  // namespace mailroom::qmgr
