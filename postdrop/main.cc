// main.cc - postdrop: put a locally submitted message into maildrop/.
//
// Summary
//   postdrop [-v] [-c config_dir] < record-stream
//   Creates a maildrop/ file, prints its queue ID on standard output,
//   reads the record stream sendmail writes (postdrop_core.h), commits the
//   file and wakes pickup (public/pickup). Exit 0 means the message is
//   safely queued; any other status means it is not.
//
// Security
//   Installed set-gid setgid_group (only when installed by root) so that
//   users can write into maildrop/. When running set-gid, -c and
//   MAIL_CONFIG are honoured only for root: another configuration could
//   name another queue directory.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>

#include "lib/config/common_params.h"
#include "lib/config/config.h"
#include "lib/log/log.h"
#include "lib/submit/trigger.h"
#include "postdrop/postdrop_core.h"

using namespace mailroom;

int main(int argc, char** argv) {
    log::init("postdrop", true);
    std::string config_dir;
    int opt;
    while ((opt = ::getopt(argc, argv, "c:rv")) != -1) {
        switch (opt) {
            case 'c': config_dir = optarg; break;
            case 'r': break;  // Postfix's "raw" input mode: the only mode here
            case 'v': log::set_verbose(log::verbose() + 1); break;
            default: log::fatal("usage: postdrop [-v] [-c config_dir]");
        }
    }
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
    ::umask(022);
    // The queue ID goes to standard output at once (sendmail reads it
    // before it writes the message).
    auto id = postdrop::drop_message(layout, STDIN_FILENO, [](const std::string& queue_id) {
        std::printf("%s\n", queue_id.c_str());
        std::fflush(stdout);
    });
    if (!id) log::fatal("%s", id.error().message.c_str());
    log::debug("%s: queued in maildrop", id->c_str());
    (void)submit::trigger_service(layout.queue_directory, ipc::ServiceClass::kPublic, "pickup", "W", 1000);
    return 0;
}
