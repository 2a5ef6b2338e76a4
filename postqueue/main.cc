// main.cc - postqueue: the user's view of the queue.
//
// Summary
//   postqueue [-c dir] -p        list the queue (mailq format)
//   postqueue [-c dir] -j        list the queue as JSON, one message a line
//   postqueue [-c dir] -f        flush: deliver all deferred mail now
//   postqueue [-c dir] -i ID     deliver one deferred message now
//   postqueue [-c dir] -s site   deliver the deferred mail of one site now
//                                (fast_flush_domains; lib/submit/flush.h)
//   The listing reads the queue directly (postqueue_list.h) when this
//   user can; anyone else gets it from the showq daemon over public/showq
//   (lib/showq/showq_protocol.h), which runs as mail_owner. -f and -i wake qmgr through
//   public/qmgr. Installed set-gid setgid_group (like postdrop) so that
//   every user reaches public/; -c and MAIL_CONFIG are then for the
//   super-user only.
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

#include "lib/config/common_params.h"
#include "lib/config/config.h"
#include "lib/log/log.h"
#include "lib/queue/queue_id.h"
#include "lib/submit/flush.h"
#include "lib/submit/trigger.h"
#include "lib/showq/queue_listing.h"
#include "lib/showq/showq_protocol.h"

using namespace mailroom;

int main(int argc, char** argv) {
    log::init("postqueue", true);
    std::string config_dir;
    char mode = 0;
    std::string id;
    std::string site;
    int opt;
    while ((opt = ::getopt(argc, argv, "c:fi:jps:v")) != -1) {
        switch (opt) {
            case 'c': config_dir = optarg; break;
            case 'f': case 'j': case 'p': mode = static_cast<char>(opt); break;
            case 'i': mode = 'i'; id = optarg; break;
            case 's': mode = 's'; site = optarg; break;
            case 'v': log::set_verbose(log::verbose() + 1); break;
            default: log::fatal("usage: postqueue -f | postqueue -i queue_id | postqueue -j | postqueue -p | postqueue -s site");
        }
    }
    if (mode == 0) log::fatal("usage: postqueue -f | postqueue -i queue_id | postqueue -j | postqueue -p | postqueue -s site");
    bool setgid = ::getegid() != ::getgid();
    if (setgid && ::getuid() != 0 && (!config_dir.empty() || ::getenv("MAIL_CONFIG")))
        log::fatal("-c and MAIL_CONFIG are for the super-user only");
    auto cfg = config::Config::load(config::resolve_config_directory(config_dir));
    if (!cfg) log::fatal("%s", cfg.error().message.c_str());
    config::configure_logging(*cfg, true);
    auto q = cfg->get("queue_directory");
    if (!q) log::fatal("%s", q.error().message.c_str());
    queue::QueueLayout layout;
    layout.queue_directory = *q;

    switch (mode) {
        case 'p':
        case 'j': {
            auto format = mode == 'j' ? showq::ListFormat::kJson : showq::ListFormat::kMailq;
            std::string text;
            if (showq::queue_readable(layout)) {
                text = showq::render_listing(layout, format);
            } else {
                auto listing = showq::ask_showq(layout.queue_directory, format, 10000);
                if (!listing) log::fatal("Cannot list the mail queue - mail system is down: %s",
                                         listing.error().message.c_str());
                text = std::move(*listing);
            }
            std::fwrite(text.data(), 1, text.size(), stdout);
            return 0;
        }
        case 'f':
            if (auto st = submit::trigger_service(layout.queue_directory, ipc::ServiceClass::kPublic, "qmgr",
                                                  std::string(1, submit::kQmgrFlush));
                !st)
                log::fatal("Cannot flush mail queue - mail system is down: %s", st.error().message.c_str());
            return 0;
        case 's': {
            auto policy = submit::load_flush_policy(*cfg);
            if (!policy) log::fatal("%s", policy.error().message.c_str());
            switch (submit::flush_site(*policy, site)) {
                case submit::FlushStatus::kOk: return 0;
                case submit::FlushStatus::kBad:
                    log::fatal("Cannot flush mail queue - invalid destination: \"%.100s%s\"", site.c_str(),
                               site.size() > 100 ? "..." : "");
                case submit::FlushStatus::kDeny:
                    log::fatal("Flush service is not configured for destination \"%s\"", site.c_str());
                case submit::FlushStatus::kFail: log::fatal("Cannot flush mail queue - mail system is down");
            }
            return 0;
        }
        case 'i': {
            if (!queue::is_valid_queue_id(id)) log::fatal("invalid queue ID: %s", id.c_str());
            // Due now: qmgr's next deferred scan takes it.
            std::string path = layout.file_path(queue::kQueueDeferred, id);
            if (::utimes(path.c_str(), nullptr) < 0)
                log::fatal("%s: not in the deferred queue: %s", id.c_str(), std::strerror(errno));
            if (auto st = submit::trigger_service(layout.queue_directory, ipc::ServiceClass::kPublic, "qmgr",
                                                  std::string(1, submit::kQmgrScanDeferred));
                !st)
                log::fatal("Cannot flush mail queue - mail system is down: %s", st.error().message.c_str());
            return 0;
        }
    }
    return 0;
}
