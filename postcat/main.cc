// main.cc - postcat: show the contents of queue files.
//
// Summary
//   postcat [-c dir] [-ebh] -q queue_id...   (search every queue)
//   postcat [-c dir] [-ebh] file...
//   See postcat_core.h for the layout.
#include <unistd.h>

#include <cstdio>
#include <string>

#include "lib/config/config.h"
#include "lib/log/log.h"
#include "postcat/postcat_core.h"

using namespace mailroom;

int main(int argc, char** argv) {
    log::init("postcat", true);
    std::string config_dir;
    bool by_id = false;
    postcat::PostcatParts parts;
    int opt;
    while ((opt = ::getopt(argc, argv, "bc:ehqv")) != -1) {
        switch (opt) {
            case 'b': parts.body = true; break;
            case 'c': config_dir = optarg; break;
            case 'e': parts.envelope = true; break;
            case 'h': parts.header = true; break;
            case 'q': by_id = true; break;
            case 'v': log::set_verbose(log::verbose() + 1); break;
            default: log::fatal("usage: postcat [-c config_dir] [-behq] files...");
        }
    }
    if (optind >= argc) log::fatal("usage: postcat [-c config_dir] [-behq] files...");
    queue::QueueLayout layout;
    if (by_id) {
        auto cfg = config::Config::load(config::resolve_config_directory(config_dir));
        if (!cfg) log::fatal("%s", cfg.error().message.c_str());
        auto q = cfg->get("queue_directory");
        if (!q) log::fatal("%s", q.error().message.c_str());
        layout.queue_directory = *q;
    }
    int status = 0;
    for (int i = optind; i < argc; ++i) {
        std::string label = argv[i];
        std::string path = argv[i];
        if (by_id) {
            auto found = postcat::find_queue_file(layout, argv[i], &label);
            if (!found) log::fatal("%s", found.error().message.c_str());
            path = *found;
        }
        if (auto st = postcat::postcat_file(path, label, parts, stdout); !st) {
            std::fflush(stdout);
            log::error("%s: %s", path.c_str(), st.error().message.c_str());
            status = 1;
        }
    }
    return status;
}
