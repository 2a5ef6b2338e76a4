// virtual_deliver.h - virtual mailbox delivery of one request.
//
// Summary
//   virtual_deliver() delivers each recipient to the mailbox that
//   virtual_mailbox_maps names, under virtual_mailbox_base: a result
//   ending in '/' is a Maildir, anything else an mbox file locked with
//   virtual_mailbox_lock. The delivery runs with the uid and gid from
//   virtual_uid_maps / virtual_gid_maps (static:N or tables), which must
//   not be below virtual_minimum_uid. Maps are searched in Postfix's order
//   (lib/address's kFindVirtualMailbox keys): user+ext@domain, user@domain,
//   @domain.
//
// Description
//   Quotas (the Postfix VDA patch, as the seed configures them): the limit
//   is virtual_mailbox_limit, or the recipient's entry in
//   virtual_mailbox_limit_maps (Maildir++ "104857600S", "100S,10C" or a
//   plain byte count) when virtual_mailbox_limit_override = yes or when it
//   is below virtual_mailbox_limit (quota_limit()). An mbox counts its file
//   size; a Maildir counts every folder, from maildirsize when
//   virtual_create_maildirsize (or virtual_mailbox_extended) is set (the
//   file is created and kept up to date, Courier/Dovecot compatible), else
//   by scanning (once; a second, settled count, repeated while a directory
//   changes under it, only when the first says the message does not fit).
//   The process remembers the Maildirs it has made or found whole and
//   does not check their directories again, unless a delivery finds one
//   missing (then it makes them and tries once more). A message that would exceed the limit is bounced (5.2.2)
//   when virtual_overquota_bounce = yes and deferred (4.2.2) otherwise,
//   with virtual_maildir_limit_message as the text. A limit of 0 is none.
//   Texts: "delivered to maildir", "delivered to mailbox"; unknown
//   recipients bounce with 5.1.1 "unknown user: "rcpt"", configuration
//   faults (no uid, uid too low) defer with 4.3.5.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "lib/address/addr_find.h"
#include "lib/agent/agent_job.h"
#include "lib/agent/agent_message.h"
#include "lib/agent/agent_outcome.h"
#include "lib/mailbox/maildir_quota.h"
#include "lib/mailbox/mbox_lock.h"
#include "lib/table/table.h"

namespace mailroom::virt {

// One key through a map (address::KeyLookup): `partial` keys (without the
// extension, @domain) skip regexp/pcre tables, which see the full address only.
using Lookup = address::KeyLookup;

struct VirtualSettings {
    std::string virtual_mailbox_base;
    std::uint64_t virtual_minimum_uid = 100;
    std::uint64_t virtual_mailbox_limit = 51200000;
    bool virtual_mailbox_limit_override = false;
    bool virtual_create_maildirsize = false;
    bool virtual_mailbox_extended = false;
    bool virtual_overquota_bounce = false;
    bool virtual_trash_count = false;  // count .Trash towards the quota
    std::string virtual_maildir_limit_message =
        "Sorry, the user's maildir has overdrawn his diskspace quota, please try again later.";
    std::string recipient_delimiter;
    mailbox::LockOptions lock;
};

struct VirtualMaps {
    Lookup mailbox;  // virtual_mailbox_maps (required)
    Lookup uid;      // virtual_uid_maps (required)
    Lookup gid;      // virtual_gid_maps (required)
    Lookup limit;    // virtual_mailbox_limit_maps (may be empty)
};

// The effective limits (see the file comment). `user_value` is the
// recipient's virtual_mailbox_limit_maps entry, if any. A malformed entry
// is a permanent error.
Result<mailbox::QuotaLimits> quota_limit(const VirtualSettings& settings, const std::optional<std::string>& user_value);

// The over-quota verdict.
agent::Outcome over_quota(const VirtualSettings& settings);

std::vector<agent::Outcome> virtual_deliver(const agent::Job& job, const agent::MessageCopy& message,
                                            const VirtualSettings& settings, const VirtualMaps& maps, time_t now);

}  // namespace mailroom::virt
