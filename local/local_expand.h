// local_expand.h - what a local recipient expands to.
//
// Summary
//   expand_local() turns one local recipient into the list of places the
//   message goes, the way Postfix's local(8) does:
//     1. aliases (alias_maps), first for the local part with its extension,
//        then without; "owner-NAME" makes owner-NAME@$myorigin the sender
//        for NAME's expansion;
//     2. else the recipient must be a user (getpwnam); unknown users go to
//        luser_relay when set, else bounce (5.1.1 "unknown user");
//     3. else the first .forward file of forward_path that exists;
//     4. else the user's mailbox.
//   Alias and .forward entries are addresses (local ones expand again,
//   other ones are forwarded), "|command", "/file", ":include:/file" and
//   "\user" (the user's mailbox, no further expansion). Each destination is
//   kept once (duplicate elimination); a name that appears again inside
//   its own expansion means that user's mailbox (alias: self), and
//   expansion stops at a fixed depth ("mail forwarding loop").
//   allow_mail_to_commands / allow_mail_to_files say which sources (alias,
//   forward, include) may name commands and files; others bounce (5.7.1).
//
// Description
//   The function is pure: every lookup goes through LocalEnv, so tests
//   drive it with fake tables, users and files. A temporary lookup error
//   stops the expansion and defers the recipient.
//   parse_alias_list() splits an alias value or a .forward/:include: text:
//   elements are separated by commas or new lines, "#" starts a comment
//   line, double quotes protect commas and spaces ("|cmd -x, y").
#pragma once

#include <sys/types.h>

#include <functional>
#include <optional>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "lib/address/resolve.h"
#include "lib/agent/agent_identity.h"
#include "lib/agent/agent_outcome.h"
#include "lib/util/result.h"

namespace mailroom::local {

std::vector<std::string> parse_alias_list(std::string_view text);

// Where a token came from, for allow_mail_to_commands / allow_mail_to_files.
enum class Source { kRecipient, kAlias, kForward, kInclude };
const char* source_name(Source source);

// Whose privileges a command or file delivery runs with.
struct Privs {
    uid_t uid = 0;
    gid_t gid = 0;
    std::string user;  // the account name when known
};

enum class DestKind { kMailbox, kCommand, kFile, kForward };

struct Destination {
    DestKind kind = DestKind::kMailbox;
    std::string target;     // user name, command text, file path or forward address
    std::string recipient;  // the address delivered to (Delivered-To:)
    std::string sender;     // envelope sender for this delivery
    Privs privs;            // command and file deliveries
    agent::Identity user;   // mailbox deliveries: the account
    std::string extension;  // address extension of the mailbox recipient
    Source source = Source::kRecipient;

    bool operator==(const Destination& o) const {
        return kind == o.kind && target == o.target && recipient == o.recipient && sender == o.sender;
    }
};

struct AliasAnswer {
    std::string value;
    Privs owner;  // the alias table's owner (default_privs when root)
};

struct LocalEnv {
    // alias_maps lookup; key is the lower-case local part.
    std::function<Result<std::optional<AliasAnswer>>(const std::string& key)> alias;
    // getpwnam().
    std::function<Result<std::optional<agent::Identity>>(const std::string& name)> user;
    // Reads a .forward file as `who`; nullopt when it does not exist.
    std::function<Result<std::optional<std::string>>(const std::string& path, const agent::Identity& who)> forward;
    // Reads an :include: file with `privs`; returns its text and owner.
    std::function<Result<std::pair<std::string, Privs>>(const std::string& path, const Privs& privs)> include;
};

struct LocalSettings {
    // Which expansion results local delivers itself (lib/address: the
    // local address class); null = only unqualified names.
    std::shared_ptr<const address::Resolver> resolver;
    std::string myorigin;
    address::ExtensionSettings extension;  // recipient_delimiter and its exceptions
    std::vector<std::string> forward_path = {"$home/.forward$recipient_delimiter$extension", "$home/.forward"};
    std::string luser_relay;
    std::set<std::string> allow_commands = {"alias", "forward"};
    std::set<std::string> allow_files = {"alias", "forward"};
    Privs default_privs;
    int max_depth = 100;
};

struct Expansion {
    std::vector<Destination> destinations;
    std::vector<agent::Outcome> failures;  // bounced/deferred parts
    std::vector<std::string> failed_to;    // for each failure, the address whose expansion failed
};

Expansion expand_local(const std::string& recipient, const std::string& sender, const LocalSettings& settings,
                       const LocalEnv& env);

// True when the address resolves to the local class (address/resolve.h),
// or it has no domain.
Result<bool> is_local_address(const std::string& address, const LocalSettings& settings);

// $home, $user, $extension, $recipient_delimiter, $recipient, $domain,
// $local and ${name} forms; a path whose $extension (or
// $recipient_delimiter) is used while there is no extension is dropped
// (nullopt), as Postfix drops such forward_path entries.
std::optional<std::string> expand_forward_path(const std::string& pattern, const agent::Identity& user,
                                               const std::string& recipient, const std::string& extension,
                                               const std::string& delimiter);

}  // namespace mailroom::local
