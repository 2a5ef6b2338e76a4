// postsuper_core.cc - see postsuper_core.h.
#include "postsuper/postsuper_core.h"

#include <fcntl.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "lib/log/log.h"
#include "lib/queue/queue_file.h"
#include "lib/queue/record.h"
#include "lib/queue/recycle.h"

namespace mailroom::postsuper {

namespace {

bool wants(const std::vector<std::string>& ids, const std::string& id) {
    return std::find(ids.begin(), ids.end(), "ALL") != ids.end() || std::find(ids.begin(), ids.end(), id) != ids.end();
}

// Calls fn(queue, id) for every selected file; fn returns true when it acted.
template <class Fn>
int for_each_selected(const queue::QueueLayout& layout, const std::vector<std::string>& ids,
                      const std::vector<std::string>& queues, Fn fn) {
    int count = 0;
    for (const auto& q : queues) {
        auto list = queue::list_queue(layout, q);
        if (!list) {
            log::warn("%s", list.error().message.c_str());
            continue;
        }
        for (const auto& id : *list)
            if (wants(ids, id) && fn(q, id)) ++count;
    }
    return count;
}

// True when nobody is delivering the file right now. The returned
// descriptor keeps the lock until the caller is done.
Result<util::UniqueFd> lock_file(const std::string& path) {
    util::UniqueFd fd(::open(path.c_str(), O_RDWR | O_CLOEXEC));
    // maildrop files are read-only (0444): nobody delivers them, no lock needed.
    if (!fd.valid() && errno == EACCES) return util::UniqueFd();
    if (!fd.valid()) return make_error(std::string(std::strerror(errno)));
    if (auto st = queue::lock_queue_file(fd.get(), false); !st) return st.error();
    return fd;
}

}  // namespace

std::vector<std::string> default_queues(char operation) {
    switch (operation) {
        case 'h': return {"incoming", "active", "deferred"};
        case 'H': return {"hold"};
        case 'r': return {"incoming", "active", "deferred", "hold"};
        default: return {"maildrop", "incoming", "active", "deferred", "hold"};
    }
}

int delete_messages(const queue::QueueLayout& layout, const std::vector<std::string>& ids,
                    const std::vector<std::string>& queues) {
    return for_each_selected(layout, ids, queues, [&](const std::string& q, const std::string& id) {
        std::string path = layout.file_path(q, id);
        auto lock = lock_file(path);
        if (!lock) {
            log::warn("%s: skipped: %s", id.c_str(), lock.error().message.c_str());
            return false;
        }
        if (::unlink(path.c_str()) < 0) {
            log::warn("%s: remove: %s", path.c_str(), std::strerror(errno));
            return false;
        }
        // The message's status logfiles go with it, so no notice is sent
        // for a message that no longer exists.
        for (std::string_view logq : {queue::kQueueBounce, queue::kQueueDefer, queue::kQueueTrace}) {
            std::string logfile = layout.file_path(logq, id);
            if (::unlink(logfile.c_str()) < 0 && errno != ENOENT)
                log::warn("%s: remove: %s", logfile.c_str(), std::strerror(errno));
        }
        log::info("%s: removed", id.c_str());
        return true;
    });
}

int hold_messages(const queue::QueueLayout& layout, const std::vector<std::string>& ids,
                  const std::vector<std::string>& queues) {
    return for_each_selected(layout, ids, queues, [&](const std::string& q, const std::string& id) {
        auto lock = lock_file(layout.file_path(q, id));
        if (!lock) {
            log::warn("%s: skipped: %s", id.c_str(), lock.error().message.c_str());
            return false;
        }
        if (auto st = queue::move_queue_file(layout, id, q, queue::kQueueHold); !st) {
            log::warn("%s: %s", id.c_str(), st.error().message.c_str());
            return false;
        }
        log::info("%s: placed on hold", id.c_str());
        return true;
    });
}

int release_messages(const queue::QueueLayout& layout, const std::vector<std::string>& ids) {
    return for_each_selected(layout, ids, {std::string(queue::kQueueHold)},
                             [&](const std::string& q, const std::string& id) {
                                 std::string path = layout.file_path(q, id);
                                 (void)::utimes(path.c_str(), nullptr);  // due now
                                 if (auto st = queue::ensure_file_dir(layout, queue::kQueueDeferred, id); !st) {
                                     log::warn("%s: %s", id.c_str(), st.error().message.c_str());
                                     return false;
                                 }
                                 if (auto st = queue::move_queue_file(layout, id, q, queue::kQueueDeferred); !st) {
                                     log::warn("%s: %s", id.c_str(), st.error().message.c_str());
                                     return false;
                                 }
                                 log::info("%s: released from hold", id.c_str());
                                 return true;
                             });
}

int requeue_messages(const queue::QueueLayout& layout, const std::vector<std::string>& ids,
                     const std::vector<std::string>& queues) {
    return for_each_selected(layout, ids, queues, [&](const std::string& q, const std::string& id) {
        std::string path = layout.file_path(q, id);
        auto lock = lock_file(path);
        if (!lock) {
            log::warn("%s: skipped: %s", id.c_str(), lock.error().message.c_str());
            return false;
        }
        auto file = queue::QueueFile::open(path, false);
        if (!file) return false;
        auto env = file->read();
        if (!env) {
            log::warn("%s: %s", id.c_str(), env.error().message.c_str());
            return false;
        }
        queue::WriterOptions opts;
        opts.queue = std::string(queue::kQueueMaildrop);
        opts.mode = 0444;
        auto w = queue::QueueWriter::create(layout, opts);
        if (!w) {
            log::warn("%s: %s", id.c_str(), w.error().message.c_str());
            return false;
        }
        Status st = w->set_arrival_time(env->arrival_seconds, env->arrival_microseconds);
        if (st) st = w->set_sender(env->sender);
        for (const auto& [n, v] : env->attributes)
            if (st) st = w->add_attribute(n, v);
        if (st && !env->dsn_ret.empty()) st = w->set_dsn_ret(env->dsn_ret);
        if (st && !env->dsn_envid.empty()) st = w->set_dsn_envid(env->dsn_envid);
        // Only the recipients still to be delivered travel on.
        for (const auto* r : env->pending_recipients())
            if (st) st = w->add_recipient({r->address, r->orig_recipient, r->dsn_orcpt, r->dsn_notify});
        if (st) st = w->begin_content();
        if (st) {
            auto again = file->read([&](std::string_view piece, bool end) { return w->add_piece(piece, end); });
            if (!again) st = again.error();
        }
        if (st) st = w->begin_extracted();
        if (!st) {
            log::warn("%s: requeue: %s", id.c_str(), st.error().message.c_str());
            return false;
        }
        auto committed = w->commit();
        if (!committed) {
            log::warn("%s: requeue: %s", id.c_str(), committed.error().message.c_str());
            return false;
        }
        ::unlink(path.c_str());
        log::info("%s: requeued", id.c_str());
        return true;
    });
}

namespace {

// Removes the temporary files of writers that are gone from one queue
// (queue::purge_temp_files) and logs how many.
int purge_queue_temp_files(const queue::QueueLayout& layout, std::string_view q) {
    auto n = queue::purge_temp_files(layout, q);
    if (!n) {
        log::debug("%s", n.error().message.c_str());  // a queue not created yet
        return 0;
    }
    if (*n > 0)
        log::info("removed %d stale temporary file%s from %.*s", *n, *n == 1 ? "" : "s", static_cast<int>(q.size()),
                  q.data());
    return *n;
}

}  // namespace

int check_structure(const queue::QueueLayout& layout) {
    int fixed = 0;
    for (auto q : queue::kQueueNames) {
        if (q == queue::kQueueBounce || q == queue::kQueueDefer || q == queue::kQueueTrace ||
            q == queue::kQueueCorrupt)
            continue;
        fixed += purge_queue_temp_files(layout, q);
        auto ids = queue::list_queue(layout, q);
        if (!ids) continue;
        for (const auto& id : *ids) {
            auto file = queue::QueueFile::open(layout.file_path(q, id), false);
            if (!file) continue;
            auto env = file->read();
            if (!env && queue::is_corruption(env.error())) {
                if (queue::save_corrupt_file(layout, q, id, env.error().message)) ++fixed;
            }
        }
    }
    return fixed;
}

int purge_temp_files(const queue::QueueLayout& layout) {
    int removed = 0;
    for (auto q : queue::kQueueNames) removed += purge_queue_temp_files(layout, q);
    // The pool of used queue files is garbage too; emptied at start, no
    // file can be in recycle/ and in a queue at once after a crash.
    auto pooled = queue::empty_recycle_pool(layout);
    if (!pooled) log::debug("%s", pooled.error().message.c_str());  // not created yet
    return removed;
}

}  // namespace mailroom::postsuper
