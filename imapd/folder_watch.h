// folder_watch.h - wakes IDLE sessions when their folder changes (inotify).
//
// Summary
//   One inotify descriptor per imapd process, on the event loop. A session
//   in IDLE subscribes to its selected folder's Maildir directory: the
//   watcher watches new/ and cur/ (a delivery's rename into new/, another
//   session's flag renames and expunges in cur/) and the folder directory
//   itself for dovecot-uidlist being replaced (a pop3d or another server
//   numbering messages), and calls every subscriber of that folder.
//   Sessions of the same folder share the kernel watches.
//
// Description
//   A callback only says "look now": the session syncs the folder as it
//   would on NOOP, so a burst of events (a delivery's rename, then the
//   session's own new/ to cur/ move) costs a directory stamp comparison
//   each. Other files in the folder directory (the index and cache, which
//   syncs write) are ignored, so a session's own sync does not wake it
//   again through them. When inotify is unavailable or out of watches
//   (fs.inotify.max_user_watches), subscribe() returns 0 and the session
//   polls.
//
// Thread safety
//   Loop thread only.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "lib/event/event_loop.h"
#include "lib/util/unique_fd.h"

namespace mailroom::imapd {

class FolderWatch {
public:
    explicit FolderWatch(event::Loop& loop) : loop_(loop) {}
    ~FolderWatch();
    FolderWatch(const FolderWatch&) = delete;
    FolderWatch& operator=(const FolderWatch&) = delete;

    // Calls `changed` (later, from the loop) after each change seen in the
    // Maildir folder `dir`. Returns a subscription id, 0 when the folder
    // cannot be watched.
    std::uint64_t subscribe(const std::string& dir, std::function<void()> changed);
    void unsubscribe(std::uint64_t id);

private:
    struct Folder {
        std::vector<int> wds;  // the folder directory, new/, cur/
        std::map<std::uint64_t, std::function<void()>> subscribers;
    };
    bool open();
    void on_readable();

    event::Loop& loop_;
    util::UniqueFd fd_;
    event::FdWatcher watcher_;
    bool failed_ = false;
    std::uint64_t next_id_ = 0;
    std::map<std::string, Folder> folders_;        // by directory
    std::map<int, std::string> wd_folder_;         // watch -> folder directory
    std::map<int, bool> wd_is_root_;               // the folder directory's own watch
    std::map<std::uint64_t, std::string> subs_;    // subscription -> folder directory
};

}  // namespace mailroom::imapd
