// mail_store_internal.h - helpers MailStore and MailFolder share (not API).
//
// Summary
//   New message names, placing a file into a folder (link, rename or copy),
//   the quota check before a message is added, and the size with CRLF line
//   ends. Implemented in mail_store.cc (pread_from in folder_sync.cc).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "lib/access/folder_sync.h"
#include "lib/util/result.h"

namespace mailroom::access {

// "<time>.M<usec>P<pid>Q<n>.<host>,S=<size>[,W=<rfc822 size>]".
std::string new_message_base(const StoreContext& ctx, std::uint64_t size, std::uint64_t rfc822_size);

// Puts the file `from` at `to` (a path in `dest_dir`/cur): rename() when
// `move`, else link(); across file systems a copy through dest_dir/tmp
// keeping the mtime (and for a move the source is unlinked after). False
// when `from` is gone.
Result<bool> place_file(const StoreContext& ctx, const std::string& from, const std::string& dest_dir,
                        const std::string& to, bool move);

// kOverQuota when adding `bytes` in `count` messages would exceed the
// Maildir++ quota.
Status check_quota(const StoreContext& ctx, std::uint64_t bytes, std::uint64_t count);

// The size of `text` with every bare LF counted as CRLF.
std::uint64_t crlf_size(std::string_view text);

Message message_from_record(const IndexRecord& r);

// `size` bytes of `fd` from `offset` (fewer at its end). In folder_sync.cc.
Result<std::string> pread_from(int fd, std::size_t offset, std::size_t size);

}  // namespace mailroom::access
