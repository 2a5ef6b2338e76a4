// authd_server.h - authd's client connections: courier's authdaemond
// protocol served from authd's modules.
//
// Summary
//   AuthdServer owns the module chain (lib/auth/auth_module.h), the user
//   cache (lib/auth/auth_cache.h) and one Session per client connection.
//   A session reads one request (lib/auth/authd_proto.h: PRE, AUTH with
//   login, cram-md5 or cram-sha1, PASSWD, ENUMERATE), answers it and
//   closes the connection, as courier's authdaemond does: Cyrus SASL reads
//   the reply until end of file.
//
// Description
//   Module calls (a mysql: round trip may block) and password hashing
//   run on the one worker thread of a table::LookupRunner, so other
//   sessions keep being served and no module is used by two threads.
//   Outcomes on the wire: the user's fields and "." when found/accepted;
//   "FAIL" for an unknown user or a wrong password, after
//   auth_failure_delay for AUTH; no reply at all (the connection closed)
//   for a temporary failure, which courier's clients (libcourierauth,
//   Cyrus SASL) report as a temporary error. Replies never carry the
//   stored password.
//   Log lines: a temporary failure names the module and the reason
//   ("warning: authd: mysql:/etc/authmysqlrc: cannot connect to MySQL
//   server ..."), and each refused AUTH says why, with the client address
//   when the client sent TCPREMOTEIP.
#pragma once

#include <chrono>
#include <ctime>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "lib/auth/auth_cache.h"
#include "lib/auth/auth_module.h"
#include "lib/config/config.h"
#include "lib/event/event_loop.h"
#include "lib/server/server.h"
#include "lib/table/async_lookup.h"
#include "lib/util/result.h"

namespace mailroom::authd {

struct AuthdConfig {
    std::vector<std::string> authd_modules;
    long long auth_cache_size = 0;
    long long auth_cache_ttl = 3600;
    long long auth_cache_negative_ttl = 3600;
    long long auth_failure_delay = 2;
    std::string auth_username_format = "%Lu";
    std::string auth_default_realm;
    std::chrono::milliseconds read_timeout{30000};

    static Result<AuthdConfig> from_config(const config::Config& config);
};

class AuthdServer {
public:
    using Clock = std::function<std::time_t()>;

    AuthdServer(event::Loop& loop, AuthdConfig config, std::unique_ptr<auth::AuthChain> chain, Clock clock = {});
    ~AuthdServer();
    AuthdServer(const AuthdServer&) = delete;
    AuthdServer& operator=(const AuthdServer&) = delete;

    void accept(server::Connection conn);
    std::size_t sessions() const { return sessions_.size(); }
    auth::AuthCache& cache() { return cache_; }

    class Session;

private:
    friend class Session;
    void closed(Session* session);

    event::Loop& loop_;
    AuthdConfig config_;
    // Shared with work running on the worker thread, so that it outlives
    // a server destroyed while a request is being answered.
    std::shared_ptr<auth::AuthChain> chain_;
    Clock clock_;
    auth::AuthCache cache_;
    table::LookupRunner runner_;
    std::map<Session*, std::shared_ptr<Session>> sessions_;
};

}  // namespace mailroom::authd
