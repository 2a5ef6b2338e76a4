// auth_client.h - asking authd (or courier's authdaemond) over its UNIX socket.
//
// Summary
//   AuthClient sends requests (authd_proto.h) from an event loop without
//   blocking it: smtpd's SASL, and pop3d and imapd. authd_call() does the
//   same for commands that may block (`mailroom auth test`). Each request
//   uses its own connection, as the protocol wants (the server closes
//   after one reply). The socket is $queue_directory/private/authd unless
//   configured otherwise (smtpd_sasl_path with smtpd_sasl_type = authd).
//
// Description
//   Every request ends in one AuthResult:
//     kOk        the server answered with a user (PRE, AUTH), OK (PASSWD)
//                or a list (ENUMERATE): `reply` has it;
//     kFail      the server answered FAIL: unknown user or wrong password;
//     kTempFail  no answer: the socket is missing or refuses connections
//                (authd not running: at once), the server closed without
//                a reply (its backend is down), sent a malformed reply, or
//                did not answer within the timeout (authd_client_timeout).
//                `reason` says which, for the log.
//   Connecting never waits: a UNIX socket connects at once or fails at
//   once (a full backlog fails too, and is a temporary failure).
//
//   AuthClient's `done` never runs inside request(): failures known at
//   once are delivered from the loop. cancel() or destroying the client
//   drops a request's `done` without calling it.
//
// Thread safety
//   AuthClient: one loop thread. authd_call(): reentrant.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "lib/auth/authd_proto.h"
#include "lib/event/event_loop.h"

namespace mailroom::auth {

struct AuthResult {
    enum class Kind { kOk, kFail, kTempFail };
    Kind kind = Kind::kTempFail;
    Reply reply;         // kOk: the whole reply
    std::string reason;  // kTempFail: why ("connect to private/authd: No such file or directory")
};

struct AuthClientOptions {
    std::string socket_path;                // absolute path of the server's socket
    std::string service = "private/authd";  // the name log lines use
    std::chrono::milliseconds timeout{5000};  // for the whole request (authd_client_timeout)
};

// The socket of `path` as smtpd_sasl_path gives it: absolute, or relative
// to `queue_directory` (Postfix's dovecot type does the same).
std::string authd_socket_path(std::string_view queue_directory, std::string_view path);

class AuthClient {
public:
    using Done = std::function<void(AuthResult)>;

    AuthClient(event::Loop& loop, AuthClientOptions options);
    ~AuthClient();
    AuthClient(const AuthClient&) = delete;
    AuthClient& operator=(const AuthClient&) = delete;

    // Starts a request; returns its id (for cancel()).
    std::uint64_t request(const Request& request, Done done);
    void cancel(std::uint64_t id);
    std::size_t pending() const { return ops_.size(); }
    const AuthClientOptions& options() const { return options_; }

    struct Op;

private:
    void finish(std::uint64_t id, AuthResult result);

    event::Loop& loop_;
    AuthClientOptions options_;
    std::uint64_t next_id_ = 1;
    std::map<std::uint64_t, std::unique_ptr<Op>> ops_;
    std::shared_ptr<int> alive_ = std::make_shared<int>(0);
};

// One request, blocking for at most options.timeout.
AuthResult authd_call(const AuthClientOptions& options, const Request& request);

}  // namespace mailroom::auth
