// folder_watch.cc - see folder_watch.h.
#include "imapd/folder_watch.h"

#include <sys/inotify.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "lib/log/log.h"

namespace mailroom::imapd {
namespace {

constexpr std::uint32_t kSubdirEvents = IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE;
constexpr std::uint32_t kRootEvents = IN_MOVED_TO | IN_CLOSE_WRITE | IN_ONLYDIR;
constexpr const char* kUidlist = "dovecot-uidlist";

}  // namespace

FolderWatch::~FolderWatch() {
    watcher_ = event::FdWatcher();
}

bool FolderWatch::open() {
    if (fd_.valid()) return true;
    if (failed_) return false;
    fd_.reset(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
    if (!fd_.valid()) {
        failed_ = true;
        log::warn("imap: inotify_init1: %s (IDLE polls instead)", std::strerror(errno));
        return false;
    }
    watcher_ = event::FdWatcher(loop_, fd_.get(), event::Interest::kRead, [this] { on_readable(); });
    watcher_.enable();
    return true;
}

std::uint64_t FolderWatch::subscribe(const std::string& dir, std::function<void()> changed) {
    if (!open()) return 0;
    auto it = folders_.find(dir);
    if (it == folders_.end()) {
        Folder f;
        const std::string paths[] = {dir, dir + "/new", dir + "/cur"};
        for (const auto& p : paths) {
            const int wd = ::inotify_add_watch(fd_.get(), p.c_str(), p == dir ? kRootEvents : kSubdirEvents);
            if (wd < 0) {
                for (int w : f.wds) {
                    ::inotify_rm_watch(fd_.get(), w);
                    wd_folder_.erase(w);
                    wd_is_root_.erase(w);
                }
                return 0;
            }
            f.wds.push_back(wd);
            wd_folder_[wd] = dir;
            wd_is_root_[wd] = p == dir;
        }
        it = folders_.emplace(dir, std::move(f)).first;
    }
    const std::uint64_t id = ++next_id_;
    it->second.subscribers.emplace(id, std::move(changed));
    subs_.emplace(id, dir);
    return id;
}

void FolderWatch::unsubscribe(std::uint64_t id) {
    auto s = subs_.find(id);
    if (s == subs_.end()) return;
    auto it = folders_.find(s->second);
    subs_.erase(s);
    if (it == folders_.end()) return;
    it->second.subscribers.erase(id);
    if (!it->second.subscribers.empty()) return;
    for (int w : it->second.wds) {
        ::inotify_rm_watch(fd_.get(), w);
        wd_folder_.erase(w);
        wd_is_root_.erase(w);
    }
    folders_.erase(it);
}

void FolderWatch::on_readable() {
    // Which folders changed; each subscriber is called once per read.
    std::vector<std::string> changed;
    alignas(inotify_event) char buf[8192];
    for (;;) {
        const ssize_t n = ::read(fd_.get(), buf, sizeof buf);
        if (n <= 0) break;
        for (ssize_t off = 0; off < n;) {
            const auto* ev = reinterpret_cast<const inotify_event*>(buf + off);
            off += static_cast<ssize_t>(sizeof(inotify_event) + ev->len);
            if (ev->mask & IN_Q_OVERFLOW) {  // events lost: everyone looks
                for (const auto& [dir, f] : folders_) changed.push_back(dir);
                continue;
            }
            auto w = wd_folder_.find(ev->wd);
            if (w == wd_folder_.end()) continue;
            if (ev->mask & IN_IGNORED) {  // the directory went away: its number may be reused
                auto f = folders_.find(w->second);
                if (f != folders_.end()) std::erase(f->second.wds, ev->wd);
                changed.push_back(w->second);
                wd_folder_.erase(w);
                wd_is_root_.erase(ev->wd);
                continue;
            }
            if (wd_is_root_[ev->wd] && (ev->len == 0 || std::strcmp(ev->name, kUidlist) != 0)) continue;
            changed.push_back(w->second);
        }
    }
    for (std::size_t i = 0; i < changed.size(); ++i) {
        bool seen = false;
        for (std::size_t k = 0; k < i; ++k)
            if (changed[k] == changed[i]) seen = true;
        if (seen) continue;
        auto it = folders_.find(changed[i]);
        if (it == folders_.end()) continue;
        // A callback may unsubscribe (its session ended): call copies.
        std::vector<std::function<void()>> calls;
        for (const auto& [id, fn] : it->second.subscribers) calls.push_back(fn);
        for (auto& fn : calls) fn();
    }
}

}  // namespace mailroom::imapd
