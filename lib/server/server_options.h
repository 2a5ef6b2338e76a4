// server_options.h - the generic command line every daemon skeleton accepts.
//
// Summary
//   parse_server_options() turns argv (without argv[0]) into ServerOptions;
//   format_server_options() is its inverse, used by master to build a
//   child's argv. Both are pure functions.
//
// Description
//   Flags (see master_proto.h): -c DIR, -d (debug: also log to stderr),
//   -v (more verbose; repeatable), -o NAME=VALUE (repeatable), -n NAME,
//   -t TYPE, -s COUNT, -u, -Z. Parsing stops at the first argument that is
//   not a flag, or after "--"; the rest are the service arguments.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "lib/util/result.h"

namespace mailroom::server {

struct ServerOptions {
    std::string config_dir;  // -c; "" = $MAIL_CONFIG or the compiled-in default
    bool debug = false;      // -d
    int verbose = 0;         // -v count
    std::vector<std::pair<std::string, std::string>> overrides;  // -o
    std::string service_name;  // -n
    std::string service_type;  // -t
    int listen_count = -1;     // -s; -1 = not started by master
    bool unpriv = false;       // -u
    bool chroot = false;       // -Z
    std::vector<std::string> args;

    bool under_master() const { return listen_count >= 0; }
};

Result<ServerOptions> parse_server_options(const std::vector<std::string>& argv);
std::vector<std::string> format_server_options(const ServerOptions& opts);

}  // namespace mailroom::server
