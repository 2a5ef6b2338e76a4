// ipc_socket.h - blocking attribute-record I/O over UNIX-domain stream sockets.
//
// Summary
//   For commands (postqueue, postsuper, sendmail) and single-process
//   daemons that can afford to block: connect to a service socket with a
//   timeout, then send and receive whole attribute records, each bounded by
//   a timeout (the ipc_timeout parameter, in milliseconds here). Event-loop
//   daemons use AttrDecoder (attr.h) directly instead.
//
// Description
//   Service sockets live at queue_directory/private/NAME (internal
//   services) and queue_directory/public/NAME (services local users may
//   reach). IpcStream owns a connected socket, keeps the socket in
//   non-blocking mode and waits with poll(), so no call blocks longer than
//   its timeout. Bytes that arrive after a record stay buffered for the next
//   receive(). Timeouts, refused connections and a peer that hangs up are
//   temporary errors; a malformed record or a wrong announcement is
//   permanent. SIGPIPE is never raised (MSG_NOSIGNAL). An IpcStream is used
//   by one thread at a time.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "lib/ipc/attr.h"
#include "lib/util/result.h"
#include "lib/util/unique_fd.h"

namespace mailroom::ipc {

enum class ServiceClass { kPrivate, kPublic };

// "QUEUE_DIR/private/NAME" or "QUEUE_DIR/public/NAME".
std::string service_socket_path(std::string_view queue_directory, ServiceClass cls, std::string_view name);

// Connects to a UNIX stream socket, waiting at most timeout_ms for a full
// backlog to drain. A path longer than sun_path is a permanent error. The
// socket is non-blocking and close-on-exec.
Result<util::UniqueFd> connect_unix(const std::string& path, int timeout_ms);
Result<util::UniqueFd> connect_service(std::string_view queue_directory, ServiceClass cls, std::string_view name,
                                       int timeout_ms);

// Creates a listening UNIX stream socket at `path` (a stale socket file is
// replaced). For tests and for daemons that run without master.
Result<util::UniqueFd> listen_unix(const std::string& path, int backlog = 16);
// Accepts one connection, waiting at most timeout_ms.
Result<util::UniqueFd> accept_unix(int listen_fd, int timeout_ms);

// Event-loop daemons: writes as much of `out` as a non-blocking socket
// takes now and erases what went. kDone: all sent; kWouldBlock: the rest
// waits for the socket to become writable; kError: *error says why.
enum class SendStep { kDone, kWouldBlock, kError };
SendStep send_pending(int fd, std::string& out, std::string* error);

class IpcStream {
public:
    // Takes ownership of a connected stream socket.
    IpcStream(util::UniqueFd fd, int timeout_ms);

    // Sends one record: encoding errors are permanent, a timeout or a
    // closed peer temporary.
    Status send(const AttrList& record);
    // Receives exactly one record.
    Result<AttrList> receive();

    // Server side: sends the protocol announcement.
    Status announce(std::string_view protocol, std::int64_t version);
    // Client side: receives the announcement and checks it.
    Status expect_announcement(std::string_view protocol, std::int64_t version);

    int fd() const { return fd_.get(); }
    void set_timeout(int timeout_ms) { timeout_ms_ = timeout_ms; }

private:
    util::UniqueFd fd_;
    int timeout_ms_;
    AttrDecoder decoder_;
    std::string pending_;  // bytes read past the last record
};

}  // namespace mailroom::ipc
