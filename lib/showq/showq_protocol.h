// showq_protocol.h - the queue listing over public/showq, for users who cannot read
// the queue directories.
//
// Summary
//   The queue directories belong to mail_owner and are closed to other
//   users, so postqueue -p/-j (mailq) run by anyone else asks the showq
//   daemon, which runs as mail_owner, for the listing, as Postfix's showq
//   does. Protocol (attribute records of lib/ipc): showq announces
//   showq_protocol (lib/ipc/protocol.h); the client sends {format="mailq"|"json"}; showq
//   answers with {data=...} records of at most kShowqChunk bytes and ends
//   with {status=0}. The text is exactly what postqueue prints when it
//   reads the queue itself.
#pragma once

#include <string>
#include <string_view>

#include "lib/ipc/ipc_socket.h"
#include "lib/queue/queue_dirs.h"
#include "lib/util/result.h"

namespace mailroom::showq {

inline constexpr std::size_t kShowqChunk = 64 * 1024;

enum class ListFormat { kMailq, kJson };

// The listing as postqueue prints it.
std::string render_listing(const queue::QueueLayout& layout, ListFormat format);

// Whether this process can read every queue directory the listing needs.
bool queue_readable(const queue::QueueLayout& layout);

// Server side: one request on `stream`.
Status serve_showq(ipc::IpcStream& stream, const queue::QueueLayout& layout);

// Client side: asks public/showq of `queue_directory`.
Result<std::string> ask_showq(ipc::IpcStream& stream, ListFormat format);
Result<std::string> ask_showq(std::string_view queue_directory, ListFormat format, int timeout_ms);

}  // namespace mailroom::showq
