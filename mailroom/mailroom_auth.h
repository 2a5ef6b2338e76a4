// mailroom_auth.h - `mailroom auth test|lookup`: ask authd as its clients do.
//
// Summary
//   mailroom auth [-a socket] [-s service] test USER [PASSWORD]
//   mailroom auth [-a socket] [-s service] lookup USER
//   What courier's authtest and `doveadm auth test/lookup` do: send an
//   AUTH (login) or PRE request to authd's socket (default
//   $queue_directory/private/authd), print the fields authd returns and
//   which authd_modules element answered. The module is found by asking
//   each element of authd_modules in turn with courier's per-module PRE.
//   Without PASSWORD, test reads it from the first line of standard input.
//   Exit status: 0 success, 1 refused or unknown user, 75 (EX_TEMPFAIL)
//   for a temporary failure (authd or its backend down), 2 usage.
#pragma once

#include "lib/config/config.h"

namespace mailroom::ctl {

// argv[0] is "auth".
int auth_command(const config::Config& cfg, int argc, char** argv);

}  // namespace mailroom::ctl
