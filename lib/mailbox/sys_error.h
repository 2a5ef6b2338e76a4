// sys_error.h - errors from system calls, classified temporary or permanent.
//
// Summary
//   sys_error("write", path, errno) builds an Error whose message names the
//   operation, the path and the errno text ("write /var/mail/u: No space left
//   on device"), whose kind says whether retrying later can help and whose
//   sys_errno is the errno itself (what a caller decides by).
//
// Description
//   Temporary: conditions that go away by themselves or by an operator
//   freeing resources (ENOSPC, EDQUOT, EAGAIN, EINTR, EBUSY, ENOLCK, EMFILE,
//   ENFILE, ENOMEM, EIO, ESTALE, ETIMEDOUT, EDEADLK). Everything else
//   (ENOTDIR, EACCES, EPERM, ELOOP, EISDIR, EFBIG, ...) is permanent: the
//   mailbox is misconfigured or the message can never fit. Delivery agents
//   map temporary errors to a deferral and permanent ones to a bounce, as
//   Postfix's local(8) and virtual(8) do.
//   set_write_fault_for_testing() lets tests make a write fail with a chosen
//   errno, to check that failed deliveries leave nothing behind.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "lib/util/result.h"

namespace mailroom::mailbox {

// True when `err` (an errno value) describes a condition worth retrying.
bool errno_is_temporary(int err);

// "<op> <path>: <strerror(err)>", kind from errno_is_temporary().
Error sys_error(std::string_view op, std::string_view path, int err);

// Test seam: every data write this library makes (Maildir and mbox message
// data, a rebuilt maildirsize) first calls this hook with the bytes about to be written; a non-zero return is
// taken as that write's errno (ENOSPC, EDQUOT, EIO, ...). nullptr removes it.
void set_write_fault_for_testing(std::function<int(std::string_view data)> hook);

}  // namespace mailroom::mailbox
