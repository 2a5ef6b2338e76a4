// main.cc - postsuper: queue maintenance for the administrator.
//
// Summary
//   postsuper [-c dir] [-d ID|ALL|-] [-h ID|ALL|-] [-H ID|ALL|-] [-p] [-r ID|ALL|-] [-s] [queue...]
//   See postsuper_core.h. "-" reads queue IDs from standard input, one per
//   line. Each operation ends with a Postfix-style count on standard
//   error ("postsuper: Deleted: 2 messages"). Released and requeued mail
//   is handed on at once (qmgr and pickup are woken).
#include <unistd.h>

#include <iostream>
#include <string>
#include <vector>

#include "lib/config/common_params.h"
#include "lib/config/config.h"
#include "lib/log/log.h"
#include "lib/queue/queue_id.h"
#include "lib/submit/trigger.h"
#include "postsuper/postsuper_core.h"

using namespace mailroom;

namespace {

void report(const char* what, int n) {
    if (n > 0) std::cerr << "postsuper: " << what << ": " << n << " message" << (n == 1 ? "" : "s") << "\n";
}

}  // namespace

int main(int argc, char** argv) {
    log::init("postsuper", true);
    std::string config_dir;
    std::vector<std::pair<char, std::string>> ops;
    bool structure = false;
    bool purge = false;
    int opt;
    while ((opt = ::getopt(argc, argv, "c:d:h:H:pr:sv")) != -1) {
        switch (opt) {
            case 'c': config_dir = optarg; break;
            case 'd': case 'h': case 'H': case 'r': ops.push_back({static_cast<char>(opt), optarg}); break;
            case 'p': purge = true; break;
            case 's': structure = true; break;
            case 'v': log::set_verbose(log::verbose() + 1); break;
            default:
                log::fatal("usage: postsuper [-c config_dir] [-d queue_id] [-h queue_id] [-H queue_id] "
                           "[-p] [-r queue_id] [-s] [queue...]");
        }
    }
    std::vector<std::string> queues(argv + optind, argv + argc);
    for (const auto& q : queues)
        if (!queue::is_queue_name(q)) log::fatal("invalid directory name: %s", q.c_str());
    auto cfg = config::Config::load(config::resolve_config_directory(config_dir));
    if (!cfg) log::fatal("%s", cfg.error().message.c_str());
    config::configure_logging(*cfg, false);
    auto q = cfg->get("queue_directory");
    if (!q) log::fatal("%s", q.error().message.c_str());
    queue::QueueLayout layout;
    layout.queue_directory = *q;

    bool wake_qmgr = false;
    bool wake_pickup = false;
    if (purge) (void)postsuper::purge_temp_files(layout);
    if (structure) (void)postsuper::check_structure(layout);
    for (const auto& [op, arg] : ops) {
        std::vector<std::string> ids;
        if (arg == "-") {
            for (std::string line; std::getline(std::cin, line);)
                if (!line.empty()) ids.push_back(line);
        } else {
            ids.push_back(arg);
        }
        for (const auto& id : ids)
            if (id != "ALL" && !queue::is_valid_queue_id(id)) log::fatal("invalid queue id: %s", id.c_str());
        std::vector<std::string> where = queues.empty() ? postsuper::default_queues(op) : queues;
        switch (op) {
            case 'd': report("Deleted", postsuper::delete_messages(layout, ids, where)); break;
            case 'h': report("Placed on hold", postsuper::hold_messages(layout, ids, where)); break;
            case 'H': {
                int n = postsuper::release_messages(layout, ids);
                report("Released from hold", n);
                wake_qmgr = wake_qmgr || n > 0;
                break;
            }
            case 'r': {
                int n = postsuper::requeue_messages(layout, ids, where);
                report("Requeued", n);
                wake_pickup = wake_pickup || n > 0;
                break;
            }
        }
    }
    if (wake_qmgr)
        (void)submit::trigger_service(layout.queue_directory, ipc::ServiceClass::kPublic, "qmgr",
                                      std::string(1, submit::kQmgrScanDeferred));
    if (wake_pickup) (void)submit::trigger_service(layout.queue_directory, ipc::ServiceClass::kPublic, "pickup", "W");
    return 0;
}
