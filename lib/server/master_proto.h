// master_proto.h - the master <-> child protocol, defined once.
//
// Summary
//   Descriptor numbers a child inherits from master, the fixed-size status
//   message a child writes on the status pipe, and the one-byte wake-up
//   trigger master sends to trigger services. docs/master-protocol.md is the
//   prose specification; this header is the only code definition.
//
// Description
//   A child runs with the configuration snapshot on kConfigFd, the write
//   end of its service's status pipe on kStatusFd and its N listening
//   descriptors on kListenFdStart ..
//   kListenFdStart+N-1 (N is given by "-s N" on the command line). Every
//   status message is kStatusSize bytes, little-endian, written with one
//   write(2) (atomic on a pipe, as it is shorter than PIPE_BUF):
//     offset 0  u32 magic (kStatusMagic)
//     offset 4  i32 pid of the reporting child
//     offset 8  u32 state: kAvailable (idle, can take work) or kBusy
//     offset 12 u32 served: connections/requests handled so far
//   Decoding is strict: wrong size, wrong magic, an unknown state or a
//   non-positive pid is an error.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "lib/util/result.h"

namespace mailroom::server::proto {

// The configuration master accepted (lib/config/config_snapshot.h): a
// sealed read-only memory file, read with pread(2) from offset 0.
inline constexpr int kConfigFd = 4;
inline constexpr int kStatusFd = 5;
inline constexpr int kListenFdStart = 6;
inline constexpr std::uint32_t kStatusMagic = 0x3153524dU;  // "MRS1" little-endian
inline constexpr std::size_t kStatusSize = 16;

// master -> child: finish the current work, take no more, then exit
// (sent to every child on reload). SIGTERM means exit now.
inline constexpr int kDrainSignal = 10;  // SIGUSR1 on Linux; checked in master_proto.cc

// The byte master writes to a trigger service's fifo or socket on a wakeup.
inline constexpr char kTriggerWakeup = 'W';

enum class ChildState : std::uint32_t {
    kBusy = 0,
    kAvailable = 1,
};

struct StatusMessage {
    std::int32_t pid = 0;
    ChildState state = ChildState::kAvailable;
    std::uint32_t served = 0;

    bool operator==(const StatusMessage&) const = default;
};

std::array<std::uint8_t, kStatusSize> encode_status(const StatusMessage& msg);
Result<StatusMessage> decode_status(std::span<const std::uint8_t> bytes);

// Command-line flags master adds for a child (parsed by server_options.h):
//   -c DIR       configuration directory
//   -n NAME      service name (master.cf column 1)
//   -t TYPE      service type (inet unix unix-dgram fifo)
//   -s N         number of listening descriptors from kListenFdStart
//   -u           drop privileges to mail_owner (unpriv column y; root only)
//   -Z           chroot to queue_directory (chroot column y; root only)
//   -o NAME=VAL  a master.cf override, once per override
// followed by the master.cf arguments.

}  // namespace mailroom::server::proto
