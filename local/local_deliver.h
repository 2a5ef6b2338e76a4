// local_deliver.h - local delivery of one request.
//
// Summary
//   local_deliver() handles each recipient of a request: the Delivered-To
//   loop check (5.4.6 "mail forwarding loop for X"), expansion
//   (local_expand.h), then every destination: the user's mailbox (mbox in
//   mail_spool_directory or under home_mailbox, Maildir when home_mailbox
//   ends in '/', or mailbox_command), commands, files and forwarded
//   addresses. The recipient's result combines its destinations'
//   (agent::combine_outcomes); each destination is logged on its own line
//   as Postfix's local logs it: to=<the final address> (the alias or
//   .forward entry it came from for commands and files, the recipient
//   itself for what is forwarded), orig_to=<the address qmgr gave>.
//
// Description
//   Texts follow Postfix: "delivered to mailbox", "delivered to maildir",
//   "delivered to command: CMD", "delivered to file: PATH",
//   "forwarded as QUEUEID". Every copy starts with Return-Path:,
//   X-Original-To: and Delivered-To:; commands and files also get the mbox
//   From_ line. mailbox_size_limit bounces (5.2.2) a delivery that would
//   make an mbox file (or one Maildir message) larger.
//
// Security
//   As root, mailbox deliveries run as the recipient (home mailboxes,
//   Maildirs and files with the user's effective ids in this process,
//   agent_identity.h; mailbox_command in a child that has dropped to the
//   user for good);
//   an mbox in the spool directory is locked and opened as root and
//   created owned by the user, refusing symlinks and hard links, as
//   Postfix does. Commands and files run with the alias file owner's
//   privileges, default_privs for root-owned aliases, or the user's for
//   .forward entries. Commands run through the shell (as Postfix does for
//   |command and mailbox_command) with recipient data only in the
//   environment.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "lib/agent/agent_identity.h"
#include "lib/agent/agent_job.h"
#include "lib/agent/agent_message.h"
#include "lib/agent/agent_outcome.h"
#include "lib/mailbox/mbox_lock.h"
#include "local/local_expand.h"

namespace mailroom::local {

struct DeliverySettings {
    std::string mail_spool_directory = "/var/mail";
    std::string home_mailbox;
    std::string mailbox_command;
    std::uint64_t mailbox_size_limit = 51200000;  // 0 = none
    mailbox::LockOptions lock;
    long command_time_limit = 1000;
    std::string command_shell = "/bin/sh";
    std::vector<std::string> base_env;  // PATH, TZ, ... for commands
    // mailbox_command for root runs as default_privs, as in Postfix.
    std::optional<agent::Identity> default_privs;
};

// Forwards a message to `addresses` with envelope `sender`; returns the
// outcome (e.g. sent "forwarded as ID").
using Forwarder = std::function<agent::Outcome(const agent::Job& job, const agent::MessageCopy& message,
                                               const std::string& sender, const std::string& delivered_to,
                                               const std::vector<std::string>& addresses)>;

struct LocalContext {
    LocalSettings expand;
    DeliverySettings deliver;
    LocalEnv env;
    Forwarder forward;  // null: forwarding defers
};

std::vector<agent::Outcome> local_deliver(const agent::Job& job, const agent::MessageCopy& message,
                                          const LocalContext& context, time_t now);

// One destination (exposed for tests).
agent::Outcome deliver_destination(const Destination& destination, const agent::JobRecipient& recipient,
                                   const agent::Job& job, const agent::MessageCopy& message,
                                   const DeliverySettings& settings, time_t now);

}  // namespace mailroom::local
