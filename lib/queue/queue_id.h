// queue_id.h - short queue IDs: format, construction and validation.
//
// Summary
//   A queue ID names a queue file in every queue directory and appears in
//   every log line about the message ("D786582E95: from=<...>").
//
// Description
//   The ID is built when the queue file is created, from two numbers:
//     - the microseconds part of the creation time (0..999999), written as
//       exactly 5 upper-case hex digits, then
//     - the inode number of the new file, in upper-case hex without padding.
//   Because the first part has a fixed width, two different inode numbers
//   always give two different IDs, and a live file's inode number is unique
//   on its file system; a queue file keeps its inode when it moves between
//   queues (rename), so no two live queue files on one host share an ID. The
//   time part spreads IDs so that a recycled inode number does not recreate
//   a recently logged ID. The result is 6 to 21 characters of [0-9A-F];
//   anything else in a queue directory (temporary files) is not a queue file.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace mailroom::queue {

inline constexpr std::size_t kQueueIdTimeDigits = 5;
inline constexpr std::size_t kMinQueueIdLength = kQueueIdTimeDigits + 1;
inline constexpr std::size_t kMaxQueueIdLength = kQueueIdTimeDigits + 16;

// Pure: the ID for a file with this inode created at this microsecond
// (values of 1000000 and above are reduced modulo 1000000).
std::string make_queue_id(std::uint32_t microseconds, std::uint64_t inode);

// True for 6..21 characters of [0-9A-F].
bool is_valid_queue_id(std::string_view id);

}  // namespace mailroom::queue
