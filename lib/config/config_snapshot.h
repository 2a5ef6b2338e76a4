// config_snapshot.h - the configuration master accepted, handed to its children.
//
// Summary
//   master validates main.cf and master.cf (validate.h) before it uses
//   them, and hands every child it starts the text it accepted: a sealed,
//   read-only memory file (memfd) on descriptor kConfigFd
//   (lib/server/master_proto.h). The server skeleton reads its
//   configuration from there instead of from the files, so after a
//   refused `mailroom reload` every daemon master starts, now or later,
//   runs with the configuration that was last accepted, not with the
//   broken file. docs/configuration.md describes the design.
//
// Description
//   The snapshot is text: a header line, then each file as a name, its
//   length in bytes, a newline and the bytes.
//     mailroom-config 1\n
//     main.cf 123\n<123 bytes>
//     master.cf 456\n<456 bytes>        (absent when there was no master.cf)
//   encode_snapshot/decode_snapshot are pure; make_snapshot_fd and
//   read_snapshot_fd do the I/O. A snapshot is at most kMaxSnapshot bytes.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "lib/util/result.h"
#include "lib/util/unique_fd.h"

namespace mailroom::config {

inline constexpr size_t kMaxSnapshot = 16 * 1024 * 1024;

struct SnapshotText {
    std::string main_cf;
    std::optional<std::string> master_cf;
};

std::string encode_snapshot(const SnapshotText& text);
Result<SnapshotText> decode_snapshot(std::string_view bytes);

// A sealed memfd holding `bytes` (close-on-exec; the caller dup2()s it).
Result<util::UniqueFd> make_snapshot_fd(std::string_view bytes);
// Everything in the file behind fd, read from offset 0 (pread: the offset
// is shared with every other holder of the descriptor).
Result<std::string> read_snapshot_fd(int fd);

}  // namespace mailroom::config
