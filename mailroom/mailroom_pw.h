// mailroom_pw.h - `mailroom pw`: make or test a password hash, as `doveadm pw`.
//
// Summary
//   mailroom pw [-l] [-s SCHEME] [-p PASSWORD] [-t HASH] [-V]
//
// Description
//   Prints "{SCHEME}hash" for the password (lib/auth/password.h), for
//   passwd-file lines and MySQL password columns. Without -p the password
//   is read from the terminal twice, without echo ("Enter new password:",
//   "Retype new password:"), or as one line from standard input when that
//   is not a terminal. -s names the scheme (default SHA512-CRYPT); -l lists
//   the schemes; -t HASH checks the password against HASH instead and
//   prints "HASH (verified)" (exit 1 on a mismatch); -V checks the new
//   hash before printing it the same way. -u USER is accepted and ignored
//   (Dovecot needs it only for schemes mailroom does not have).
//   Exit status 0 on success, 1 on a failure, 2 on a usage error.
#pragma once

#include <cstdio>

namespace mailroom::ctl {

// argv[0] is "pw". `in` and `out` replace stdin and stdout (tests); the
// terminal is used only when `in` is stdin and stdin is a terminal.
int pw_command(int argc, char** argv, std::FILE* in = stdin, std::FILE* out = stdout);

}  // namespace mailroom::ctl
