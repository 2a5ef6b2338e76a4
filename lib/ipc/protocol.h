// protocol.h - service protocol names and the announcement handshake.
//
// Summary
//   Every mailroom service that speaks attribute records starts a
//   connection by sending one announcement record:
//     protocol=<name> (string), version=<n> (integer)
//   The client reads it first and checks both before it sends a request, so
//   a client that reached the wrong socket, or a daemon from another
//   release, fails at once with a clear error instead of misreading
//   requests. The names below are the only place protocol names are spelled.
#pragma once

#include <cstdint>
#include <string_view>

#include "lib/ipc/attr.h"
#include "lib/util/result.h"

namespace mailroom::ipc {

// Protocol names (the value of the "protocol" attribute).
inline constexpr std::string_view kCleanupProtocol = "cleanup_protocol";
inline constexpr std::string_view kBounceProtocol = "bounce_protocol";
inline constexpr std::string_view kDeliverProtocol = "deliver_protocol";
inline constexpr std::string_view kShowqProtocol = "showq_protocol";
inline constexpr std::string_view kFlushProtocol = "flush_protocol";
inline constexpr std::string_view kVerifyProtocol = "verify_protocol";
inline constexpr std::string_view kAnvilProtocol = "anvil_protocol";

// The current version of every protocol above; bump on an incompatible change.
inline constexpr std::int64_t kProtocolVersion = 1;

// Attribute names of the announcement record.
inline constexpr std::string_view kAttrProtocol = "protocol";
inline constexpr std::string_view kAttrVersion = "version";

// The record a server sends first.
AttrList make_announcement(std::string_view protocol, std::int64_t version = kProtocolVersion);

// Checks a received announcement: exactly the two attributes, the expected
// protocol name and version. The error names what was expected and got.
Status check_announcement(const AttrList& record, std::string_view expected_protocol,
                          std::int64_t expected_version = kProtocolVersion);

}  // namespace mailroom::ipc
