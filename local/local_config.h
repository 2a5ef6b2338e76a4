// local_config.h - the local agent's settings and lookups from main.cf.
//
// Summary
//   load_local_context() reads the parameters local(8) honours
//   (mydestination, myorigin, recipient_delimiter, alias_maps,
//   forward_path, luser_relay, allow_mail_to_commands,
//   allow_mail_to_files, default_privs, mail_spool_directory,
//   home_mailbox, mailbox_command, mailbox_size_limit,
//   mailbox_delivery_lock, deliver_lock_attempts, deliver_lock_delay,
//   stale_lock_time, command_time_limit, local_command_shell), opens the
//   alias tables and wires the real lookups: getpwnam, .forward and
//   :include: files, and alias owners.
//
// Security
//   .forward and :include: files are opened with O_NOFOLLOW and must be
//   regular files; a .forward that does not belong to its user (or root),
//   or is group- or world-writable, is ignored with a warning, as Postfix
//   does. An alias table's owner
//   (the owner of its file; default_privs when that is root) is whose
//   privileges its commands and files run with.
#pragma once

#include <memory>

#include "lib/config/config.h"
#include "lib/table/maps.h"
#include "local/local_deliver.h"

namespace mailroom::local {

struct LocalRuntime {
    LocalContext context;
    std::shared_ptr<table::Maps> aliases;  // kept alive for context.env.alias
};

Result<LocalRuntime> load_local_context(const config::Config& config);

// The file whose owner owns a table ("hash:/etc/aliases" -> /etc/aliases.db).
std::string table_owner_file(const table::Table& table);

}  // namespace mailroom::local
