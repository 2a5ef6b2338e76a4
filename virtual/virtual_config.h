// virtual_config.h - the virtual agent's settings and tables from main.cf.
//
// Summary
//   load_virtual_runtime() reads virtual_mailbox_base, virtual_mailbox_maps,
//   virtual_uid_maps, virtual_gid_maps, virtual_minimum_uid,
//   virtual_mailbox_lock, virtual_mailbox_limit, recipient_delimiter,
//   deliver_lock_attempts, deliver_lock_delay, stale_lock_time and the VDA
//   quota parameters (virtual_mailbox_limit_maps,
//   virtual_mailbox_limit_override, virtual_create_maildirsize,
//   virtual_mailbox_extended / virtual_maildir_extended,
//   virtual_overquota_bounce, virtual_maildir_limit_message,
//   virtual_trash_count), and opens the tables. virtual_mailbox_base,
//   virtual_mailbox_maps, virtual_uid_maps and virtual_gid_maps must be
//   set: an empty one is a configuration error (fatal at start, master
//   throttles).
#pragma once

#include <memory>

#include "lib/config/config.h"
#include "lib/table/maps.h"
#include "virtual/virtual_deliver.h"

namespace mailroom::virt {

struct VirtualRuntime {
    VirtualSettings settings;
    VirtualMaps maps;
    std::vector<std::shared_ptr<table::Maps>> tables;  // owned here, used by maps
};

Result<VirtualRuntime> load_virtual_runtime(const config::Config& config);

}  // namespace mailroom::virt
