// agent_command.h - run one external command with a message on its input.
//
// Summary
//   run_command() forks, gives the child the message as standard input
//   (a file descriptor, so the child may read as little as it likes),
//   collects standard output and standard error (both, bounded) and waits,
//   killing the command's whole process group at the time limit.
//   command_outcome() turns the result into Postfix's verdict and text:
//     exit 0                  sent
//     sysexits code           that row (EX_TEMPFAIL 75 defers, EX_NOUSER
//                             67 bounces, ...): "<text>. Command output: ..."
//     other exit codes        bounced, "Command died with status N: "cmd""
//     a signal                deferred, "Command died with signal N: "cmd""
//     the time limit          bounced, "Command time limit exceeded: "cmd""
//   When the output starts with an enhanced status code (4.X.X, 5.X.X),
//   that code and its class win over the exit status.
//
// Security
//   The command is run with execve() and an explicit argv and environment;
//   no shell sees the arguments unless argv itself is {"/bin/sh", "-c",
//   text} (mailbox_command and |command aliases, as in Postfix, with the
//   recipient data only in the environment). The child becomes `identity`
//   (setgroups, setgid, setuid) before exec when the agent runs as root,
//   starts its own session (so the time limit reaches grandchildren), and
//   closes every other descriptor.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "lib/agent/agent_identity.h"
#include "lib/agent/agent_outcome.h"
#include "lib/util/result.h"

namespace mailroom::agent {

struct CommandSpec {
    std::vector<std::string> argv;  // argv[0] is the program path
    std::vector<std::string> env;   // the whole environment, "NAME=value"
    std::optional<Identity> identity;  // only honoured when running as root
    std::string cwd;                // "" = "/"
    int stdin_fd = -1;              // the message; -1 = /dev/null
    long time_limit_seconds = 1000;
    std::size_t output_limit = 2048;  // bytes of output kept
};

struct CommandResult {
    enum class Kind { kExited, kSignaled, kTimedOut };
    Kind kind = Kind::kExited;
    int code = 0;        // exit status or signal number
    std::string output;  // first output_limit bytes of stdout + stderr
};

// Fails only when the command could not be started (fork, pipe): a
// temporary error. A program that cannot be executed exits with
// EX_UNAVAILABLE (not found) or EX_TEMPFAIL (other exec errors) and says
// why on its output.
Result<CommandResult> run_command(const CommandSpec& spec);

// `what` names the command in texts (the command line, or argv[0]).
// `success_text` is the text of a successful delivery.
Outcome command_outcome(const CommandResult& result, const std::string& what, const std::string& success_text);

// Output as it goes into a status text: control characters become spaces,
// runs of white space one space, trimmed.
std::string clean_command_output(std::string_view output);

}  // namespace mailroom::agent
