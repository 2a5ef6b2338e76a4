// resolve.h - the address class of a recipient, as Postfix's
// trivial-rewrite resolves it: the one answer smtpd, cleanup, qmgr and the
// delivery agents share.
//
// Summary
//   Resolver::resolve() takes an address (as written, quoted local part
//   allowed) and gives its Resolution: the address class (local, virtual
//   alias, virtual mailbox, relay, default), the address it resolves to and
//   that address's domain, and two flags: `routed` (the local part still
//   holds a routing operator '@', '%' or '!' - a relay attempt through us
//   unless allow_untrusted_routing) and `bad_syntax` (the domain is not a
//   valid host name or address literal; class default).
//
// Description
//   The loop, as trivial-rewrite's resolver does it:
//     1. One trailing dot of the domain is dropped (not two); a trailing
//        '@' is dropped.
//     2. A local domain (domain_is_local()) is stripped off and kept, and
//        what is left is looked at again; a remote domain ends the loop.
//     3. In what is left: with swap_bangpath (default yes) "site!user"
//        becomes "user@site"; with allow_percent_hack (default yes)
//        "user%site" becomes "user@site" (the last '%'); then back to 1.
//     4. A quoted local part is opaque unless resolve_dequoted_address
//        (default yes): then its content is searched for '@' (last),
//        '%' (last, with the percent hack) or '!' (first, with
//        swap_bangpath) and cracked open there; then back to 1.
//     5. An empty local part becomes empty_address_recipient
//        (MAILER-DAEMON).
//   With no domain left the address is local: the stripped local domain
//   (or $myhostname when there was none) is put back. After the loop a
//   domain that is not a valid host name or literal is bad syntax, except
//   that with resolve_numeric_domain (default no) "1.2.3.4" becomes
//   "[1.2.3.4]" (local when it is one of our addresses).
//
//   domain_is_local(): the domain (one trailing dot dropped) is in
//   $mydestination, or is an address literal ("[127.0.0.1]",
//   "[IPv6:::1]") of an address in inet_interfaces or proxy_interfaces.
//   The other classes come from the domain lists, in Postfix's order:
//   virtual_alias_domains, virtual_mailbox_domains, relay_domains.
//   DomainLists reads those lists from main.cf: elements are names,
//   ".domain" (subdomains), "!element" (an exclusion: it ends the search)
//   and type:table (lib/table/domain_list.h); relay_domains matches
//   subdomains when parent_domain_matches_subdomains lists it. A table
//   that cannot answer makes the resolution fail with a temporary error.
//
// Thread safety
//   A Resolver is immutable after construction; DomainLists serializes its
//   table lookups, so one instance may serve several threads.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lib/address/addr_find.h"
#include "lib/address/address.h"
#include "lib/config/config.h"
#include "lib/table/domain_list.h"
#include "lib/util/result.h"

namespace mailroom::address {

enum class AddressClass { kLocal, kVirtualAlias, kVirtualMailbox, kRelay, kDefault };

const char* class_name(AddressClass cls);

// The class a domain's lists give it (kLocal = $mydestination); `domain`
// is lower case without a trailing dot. An error is a lookup failure.
using DomainClassFn = std::function<Result<AddressClass>(std::string_view domain)>;
// Is the domain in $mydestination (only that list is asked)?
using DomainLocalFn = std::function<Result<bool>(std::string_view domain)>;

struct ResolveOptions {
    std::string myhostname = "localhost";
    std::string myorigin = "localhost";
    // inet_interfaces and proxy_interfaces as numeric addresses
    // (inet_pton form: "127.0.0.1", "::1").
    std::vector<std::string> own_addresses;
    bool allow_percent_hack = true;
    bool swap_bangpath = true;
    bool resolve_dequoted_address = true;
    bool resolve_numeric_domain = false;
    bool allow_untrusted_routing = false;
    std::string empty_address_recipient = "MAILER-DAEMON";
    // For the lookup keys (addr_find.h).
    std::string recipient_delimiter;
    bool owner_request_special = true;
    std::string double_bounce_sender = "double-bounce";

    // From main.cf. inet_interfaces "all" is every address of this host's
    // interfaces, "loopback-only" 127.0.0.1 and ::1; names are looked up.
    static Result<ResolveOptions> from_config(const config::Config& config);
};

// recipient_delimiter, owner_request_special and double_bounce_sender.
Result<ExtensionSettings> read_extension_settings(const config::Config& config);

struct Resolution {
    AddressClass cls = AddressClass::kDefault;
    std::string recipient;  // the resolved address (user@domain)
    std::string domain;     // its domain, lower case
    bool routed = false;
    bool bad_syntax = false;
    bool final() const {
        return cls == AddressClass::kLocal || cls == AddressClass::kVirtualAlias ||
               cls == AddressClass::kVirtualMailbox;
    }
};

class Resolver {
public:
    // Without `classify` every domain is kDefault (nothing is local but
    // our own address literals). `local` answers domain_is_local() without
    // asking the other lists (unset: classify() == kLocal).
    Resolver(ResolveOptions options, DomainClassFn classify, DomainLocalFn local = nullptr);

    Result<Resolution> resolve(std::string_view address) const;

    // Postfix's resolve_local(): $mydestination or one of our literals
    // (the virtual and relay lists are not asked).
    Result<bool> domain_is_local(std::string_view domain) const;

    // The class of a domain (resolve_local first, then the lists).
    Result<AddressClass> classify_domain(std::string_view domain) const;

    // mail_addr_find() over `lookup` with this resolver's
    // recipient_delimiter and its answer to "is the domain local"
    // ($myorigin or resolve_local).
    Result<std::optional<Found>> find(std::string_view address, const KeyLookup& lookup,
                                      unsigned strategy = kFindDefault) const;
    Result<FindOptions> find_options(std::string_view address, unsigned strategy = kFindDefault) const;

    const ResolveOptions& options() const { return options_; }

private:
    bool own_literal(std::string_view domain) const;

    ResolveOptions options_;
    DomainClassFn classify_;
    DomainLocalFn local_;
};

// mydestination, virtual_alias_domains, virtual_mailbox_domains and
// relay_domains (see the file comment).
class DomainLists {
public:
    std::vector<std::string> mydestination;
    std::vector<std::string> virtual_alias_domains;
    std::vector<std::string> virtual_mailbox_domains;
    std::vector<std::string> relay_domains;
    bool relay_parent_matches_subdomains = true;

    // Opens the type:table elements now (a table that cannot be opened is
    // logged; lookups in it then fail).
    static std::shared_ptr<DomainLists> from_config(const config::Config& config);

    // Any case, one trailing dot allowed.
    Result<AddressClass> classify(std::string_view domain) const;
    // True when a list names a table whose lookups can block (mysql:).
    bool may_block() const { return may_block_; }
    // mydestination only.
    Result<bool> is_local(std::string_view domain) const;
    // A DomainClassFn / DomainLocalFn bound to `lists` (kept alive by the function).
    static DomainClassFn classifier(std::shared_ptr<const DomainLists> lists);
    static DomainLocalFn local_tester(std::shared_ptr<const DomainLists> lists);

private:
    mutable table::DomainTables tables_;
    mutable std::mutex mu_;
    bool may_block_ = false;
};

// The Resolver main.cf describes (options and DomainLists).
Result<std::shared_ptr<Resolver>> resolver_from_config(const config::Config& config,
                                                       std::shared_ptr<DomainLists>* lists = nullptr);

}  // namespace mailroom::address
