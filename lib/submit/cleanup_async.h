// cleanup_async.h - the cleanup protocol on an event loop (smtpd's client).
//
// Summary
//   AsyncCleanupClient speaks cleanup_proto.h's protocol without ever
//   blocking the loop: open() connects and runs the handshake
//   (announcement, request, queue ID) on the loop, send() queues the
//   records of the message, finish() waits, on the loop, for cleanup's
//   final status. An event-loop process that serves many sessions (smtpd)
//   uses it so that a slow cleanup delays only the session whose message
//   it is writing, never the others. The records are encoded by
//   queue::append_record and the attribute records by the helpers in
//   cleanup_proto.h, as for the blocking CleanupClient.
//
// Description
//   `opened` and `done` always run from the loop, never inside open() or
//   finish(). Back-pressure: unsent() is what cleanup has not read yet;
//   a caller that produces faster than cleanup reads (a client sending
//   DATA) stops reading its own input above a limit and resumes from
//   on_drained(). The connection's timeouts are timeout_ms: for the
//   handshake and the final reply, and for each write while cleanup reads
//   nothing. A lost connection turns every later send() into the error,
//   and finish() reports it. Dropping the client before finish() (or
//   from inside `done`) is safe; without the end record cleanup removes
//   its file.
//
// Thread safety
//   Loop thread only.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "lib/event/event_loop.h"
#include "lib/ipc/attr_channel.h"
#include "lib/ipc/ipc_socket.h"
#include "lib/queue/record_format.h"
#include "lib/submit/cleanup_proto.h"
#include "lib/util/result.h"

namespace mailroom::submit {

class AsyncCleanupClient {
public:
    using Opened = std::function<void(Result<std::unique_ptr<AsyncCleanupClient>>)>;
    using Done = std::function<void(Result<CleanupResult>)>;

    // Connects to queue_directory/{public,private}/service and runs the
    // handshake; `opened` gets the client or a temporary error.
    static void open(event::Loop& loop, const std::string& queue_directory, ipc::ServiceClass cls,
                     std::string_view service, std::int64_t flags, int timeout_ms, Opened opened);
    // The same on a connected socket (tests); `nonblocking`: it is
    // O_NONBLOCK already.
    static void start(event::Loop& loop, util::UniqueFd fd, std::int64_t flags, int timeout_ms, Opened opened,
                      bool nonblocking = false);

    ~AsyncCleanupClient();
    AsyncCleanupClient(const AsyncCleanupClient&) = delete;
    AsyncCleanupClient& operator=(const AsyncCleanupClient&) = delete;

    const std::string& queue_id() const { return queue_id_; }
    // Queues one record; the connection's error once it failed.
    Status send(queue::RecordType type, std::string_view payload);
    std::size_t unsent() const;
    void on_drained(std::function<void()> handler);
    // After the last record (kEnd): waits for cleanup's final status.
    void finish(Done done);

private:
    enum class State { kAnnouncement, kQueueId, kStreaming, kFinishing, kDone };
    AsyncCleanupClient(event::Loop& loop, int timeout_ms);
    void on_record(const ipc::AttrList& record);
    void fail(const Error& error);

    event::Loop& loop_;
    int timeout_ms_;
    std::int64_t flags_ = 0;
    std::unique_ptr<ipc::AttrChannel> channel_;
    std::unique_ptr<AsyncCleanupClient> self_;  // held during the handshake
    State state_ = State::kAnnouncement;
    std::string queue_id_;
    Status failed_;
    Opened opened_;
    Done done_;
    std::function<void()> on_drained_;
    std::string buffer_;  // encoded records not handed to the channel yet
};

}  // namespace mailroom::submit
