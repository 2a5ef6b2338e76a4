// pickup_core.cc - see pickup_core.h.
#include "pickup/pickup_core.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "lib/log/log.h"
#include "lib/queue/queue_file.h"
#include "lib/submit/cleanup_proto.h"
#include "lib/util/strings.h"

namespace mailroom::pickup {

namespace {

using queue::RecordType;

Status send_recipient(submit::CleanupClient& client, const queue::QueueRecipient& r) {
    if (!r.orig_recipient.empty())
        if (auto st = client.send(RecordType::kOrigRecipient, r.orig_recipient); !st) return st;
    if (!r.dsn_orcpt.empty())
        if (auto st = client.send(RecordType::kDsnOrcpt, r.dsn_orcpt); !st) return st;
    if (!r.dsn_notify.empty())
        if (auto st = client.send(RecordType::kDsnNotify, r.dsn_notify); !st) return st;
    return client.send(RecordType::kRecipient, std::string(1, queue::kRcptPending) + r.address);
}

// Sends the whole file; the content comes from a second pass over it.
Status send_message(submit::CleanupClient& client, queue::QueueFile& file, const queue::QueueEnvelope& env,
                    const std::string& content_filter) {
    std::string t = util::format("%lld.%06d", static_cast<long long>(env.arrival_seconds),
                                 static_cast<int>(env.arrival_microseconds));
    if (auto st = client.send(RecordType::kArrivalTime, t); !st) return st;
    if (auto st = client.send(RecordType::kSender, env.sender); !st) return st;
    for (const auto& [name, value] : env.attributes) {
        // Routing and holding are not the submitting user's to choose.
        if (name == queue::kAttrFilter || name == queue::kAttrRedirect || name == queue::kAttrHold) continue;
        if (auto st = client.send(RecordType::kAttribute, name + "=" + value); !st) return st;
    }
    if (!content_filter.empty())
        if (auto st = client.send(RecordType::kAttribute, std::string(queue::kAttrFilter) + "=" + content_filter); !st)
            return st;
    if (!env.dsn_ret.empty())
        if (auto st = client.send(RecordType::kDsnRet, env.dsn_ret); !st) return st;
    if (!env.dsn_envid.empty())
        if (auto st = client.send(RecordType::kDsnEnvid, env.dsn_envid); !st) return st;
    for (const auto& r : env.recipients)
        if (!r.extracted)
            if (auto st = send_recipient(client, r); !st) return st;
    if (auto st = client.send(RecordType::kContentStart, ""); !st) return st;
    auto again = file.read([&](std::string_view piece, bool line_end) {
        return client.send(line_end ? RecordType::kNormal : RecordType::kContinued, piece);
    });
    if (!again) return again.error();
    if (auto st = client.send(RecordType::kExtractedStart, ""); !st) return st;
    for (const auto& r : env.recipients)
        if (r.extracted)
            if (auto st = send_recipient(client, r); !st) return st;
    return client.send(RecordType::kEnd, "");
}

}  // namespace

PickupOutcome pickup_file(const PickupConfig& config, const std::string& id) {
    std::string path = config.layout.file_path(queue::kQueueMaildrop, id);
    auto file = queue::QueueFile::open(path, false);
    if (!file) {
        if (errno != ENOENT) log::warn("%s: %s", path.c_str(), file.error().message.c_str());
        return PickupOutcome::kRemoved;
    }
    struct stat st {};
    ::fstat(file->fd(), &st);
    auto env = file->read();
    if (!env) {
        if (queue::is_corruption(env.error())) {
            (void)queue::save_corrupt_file(config.layout, queue::kQueueMaildrop, id, env.error().message);
            return PickupOutcome::kRemoved;
        }
        log::warn("%s: %s", path.c_str(), env.error().message.c_str());
        return PickupOutcome::kRetry;
    }
    auto client = submit::CleanupClient::open(config.layout.queue_directory, ipc::ServiceClass::kPublic,
                                              config.cleanup_service,
                                              config.cleanup_flags | submit::kCleanupFlagBounce, config.timeout_ms);
    if (!client) {
        log::warn("connect to cleanup: %s", client.error().message.c_str());
        return PickupOutcome::kRetry;
    }
    log::info("%s: uid=%ld from=<%s>", client->queue_id().c_str(), static_cast<long>(st.st_uid),
              log::log_printable(env->sender).c_str());
    if (auto sent = send_message(*client, *file, *env, config.content_filter); !sent) {
        log::warn("%s: sending to cleanup: %s", client->queue_id().c_str(), sent.error().message.c_str());
        return PickupOutcome::kRetry;
    }
    auto result = client->finish();
    if (!result) {
        log::warn("%s: %s", client->queue_id().c_str(), result.error().message.c_str());
        return PickupOutcome::kRetry;
    }
    if (!result->ok() && result->temporary()) {
        log::warn("%s: cleanup: %s %s", client->queue_id().c_str(), result->dsn.c_str(), result->reason.c_str());
        return PickupOutcome::kRetry;
    }
    if (!result->ok()) {
        // Content and size rejects come back as bounces (kCleanupFlagBounce);
        // what is left (no recipients, a malformed file) has nobody to tell.
        log::warn("%s: message rejected by cleanup: %s %s; maildrop file %s removed", client->queue_id().c_str(),
                  result->dsn.c_str(), result->reason.c_str(), id.c_str());
    }
    if (::unlink(path.c_str()) < 0 && errno != ENOENT)
        log::warn("remove %s: %s", path.c_str(), std::strerror(errno));
    return result->ok() ? PickupOutcome::kDone : PickupOutcome::kRemoved;
}

int pickup_scan(const PickupConfig& config) {
    auto ids = queue::list_queue(config.layout, queue::kQueueMaildrop);
    if (!ids) {
        log::warn("scan maildrop: %s", ids.error().message.c_str());
        return 0;
    }
    int done = 0;
    for (const auto& id : *ids) {
        auto outcome = pickup_file(config, id);
        if (outcome == PickupOutcome::kRetry) break;
        if (outcome == PickupOutcome::kDone) ++done;
    }
    return done;
}

}  // namespace mailroom::pickup
