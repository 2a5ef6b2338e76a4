// mailroom_ctl.h - what the mailroom command does besides parsing argv.
//
// Summary
//   layout_for() derives the directory layout of an instance from its
//   configuration (mailroom_perms.h); ensure_accounts() creates the
//   mail_owner user and setgid_group group when missing (root only, with
//   groupadd/useradd run through execv, never a shell); run_program() runs a
//   program with an argv array and returns its exit status;
//   wait_for_exit() polls the instance lock until master has gone.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

#include "lib/config/config.h"
#include "lib/util/result.h"
#include "mailroom/mailroom_perms.h"

namespace mailroom::ctl {

// Privileged when the caller is root: owners come from mail_owner and
// setgid_group (which must exist); otherwise the invoking user owns all.
Result<LayoutInput> layout_for(const config::Config& cfg);

// Full path of a system tool (useradd, groupadd) or "" when not found.
std::string find_system_program(const std::string& name);

// Runs argv[0] (an absolute path) with argv; returns the exit status
// (128+signal when killed).
Result<int> run_program(const std::vector<std::string>& argv);

Status ensure_accounts(const std::string& mail_owner, const std::string& setgid_group,
                       const std::string& home_directory);

// Polls until no process holds the instance lock; false on timeout.
bool wait_for_exit(const std::string& pid_directory, std::chrono::seconds limit);

}  // namespace mailroom::ctl
