// pipe_args.h - the master.cf arguments of a pipe service.
//
// Summary
//   parse_pipe_args() reads the service arguments of a master.cf entry
//   such as
//     maildrop unix - n n - - pipe
//       flags=DRhu user=vmail argv=/usr/bin/maildrop -d ${recipient}
//   into PipeArgs: flags=, user=name[:group], group=, size=, eol=,
//   directory=, null_sender= and argv= (everything after argv= is the
//   command, one element per word). expand_pipe_argv() substitutes the
//   macros of each argv element.
//
// Description
//   Flags (pipe(8)): B blank line at the end, D Delivered-To:, F From_
//   line, O X-Original-To:, R Return-Path:, X final delivery, h fold the
//   domain parts to lower case, q quote local parts, u fold the local parts
//   to lower case, '.' dot-stuffing, '>' From_ quoting. An unknown flag is
//   a configuration error.
//   Macros: ${client_address} ${client_helo} ${client_hostname}
//   ${client_protocol} ${domain} ${extension} ${mailbox} ${nexthop}
//   ${original_recipient} ${queue_id} ${recipient} ${sasl_method}
//   ${sasl_sender} ${sasl_username} ${sender} ${size} ${user}; $name and
//   $(name) work too. An element that names a per-recipient macro
//   (${recipient}, ${original_recipient}, ${user}, ${extension},
//   ${mailbox}, ${domain}) is repeated once per recipient. Expansion never
//   involves a shell: each element stays one argument.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "lib/address/address.h"
#include "lib/agent/agent_job.h"
#include "lib/util/result.h"

namespace mailroom::pipe {

struct PipeFlags {
    bool blank_line = false;     // B
    bool delivered_to = false;   // D
    bool from_line = false;      // F
    bool original_to = false;    // O
    bool return_path = false;    // R
    bool final_delivery = false; // X
    bool fold_host = false;      // h
    bool quote = false;          // q
    bool fold_user = false;      // u
    bool dot_stuff = false;      // .
    bool from_quote = false;     // >

    bool operator==(const PipeFlags&) const = default;
};

Result<PipeFlags> parse_pipe_flags(std::string_view text);

struct PipeArgs {
    PipeFlags flags;
    std::string user;   // required
    std::string group;  // "" = the user's primary group
    std::uint64_t size_limit = 0;  // 0 = none
    std::string eol = "\n";
    std::string directory;  // "" = "/"
    std::string null_sender = "MAILER-DAEMON";
    std::vector<std::string> argv;
};

// `args` are the words after the program name in master.cf.
Result<PipeArgs> parse_pipe_args(const std::vector<std::string>& args);

// "\r\n" style escapes of eol= (\n \r \t \\ and octal \ooo).
std::string unescape_eol(std::string_view text);

struct MacroContext {
    std::string sender;
    std::string nexthop;
    std::string queue_id;
    std::uint64_t size = 0;
    address::ExtensionSettings extension;  // recipient_delimiter and its exceptions
    std::map<std::string, std::string> client;  // client_address, client_hostname, ... (queue attributes)
};

// Expands every argv element. Unknown macro names and unbalanced braces
// are configuration errors (permanent).
Result<std::vector<std::string>> expand_pipe_argv(const std::vector<std::string>& argv, const PipeFlags& flags,
                                                  const MacroContext& context,
                                                  const std::vector<agent::JobRecipient>& recipients);

}  // namespace mailroom::pipe
