// smtpd_check.h - the SMTP server's access restrictions as pure logic.
//
// Summary
//   Checker evaluates Postfix's restriction lists (smtpd_client_restrictions,
//   smtpd_helo_restrictions, smtpd_sender_restrictions,
//   smtpd_relay_restrictions, smtpd_recipient_restrictions,
//   smtpd_data_restrictions, smtpd_end_of_data_restrictions,
//   smtpd_etrn_restrictions and the classes of smtpd_restriction_classes)
//   against a SessionState and returns a CheckResult: permit, dunno or a
//   reject Reply with Postfix's exact text, e.g.
//     554 5.7.1 <unknown[192.168.3.87]>: Client host rejected: Access denied
//   Side effects of access-map actions (HOLD, DISCARD, FILTER, REDIRECT,
//   BCC, PREPEND) accumulate in SessionState::effects for the session to
//   hand to cleanup; WARN/INFO/reject lines are logged Postfix-style
//   ("NOQUEUE: reject: RCPT from ...; from=<...> to=<...> proto=ESMTP
//   helo=<...>") and also recorded in effects.log for tests.
//
// Description
//   smtpd_delay_reject = yes (the default): check_client(), check_helo()
//   and check_mail() answer dunno and the client, HELO and sender lists run
//   at RCPT time (check_rcpt() and check_etrn()), before the relay and
//   recipient lists; with "no" each list runs at its own command.
//   The HELO list runs only when the client sent a HELO/EHLO name; the
//   sender list only after MAIL FROM. RCPT TO:<postmaster> is always
//   accepted. After the lists, smtpd_reject_unlisted_recipient (and
//   smtpd_reject_unlisted_sender) validate the address as Postfix does
//   after address rewriting: an unqualified address gets @$myorigin and
//   is resolved by lib/address (docs/address.md: trailing dot, percent
//   hack, bang path, quoted local part, our own address literals; the
//   relay decision refuses a source-routed address), an
//   address listed in canonical_maps, recipient_canonical_maps or
//   virtual_alias_maps is accepted whatever its class, an address in a
//   virtual alias domain must be so listed ("User unknown in virtual alias
//   table"), and the others must be in the recipient table of their class.
//
//   Seams: everything outside the session - which domains are local,
//   virtual or relay, whether a user exists, DNS answers, lookup tables -
//   comes through CheckHooks and DnsResolver, so tests fake them. Tables
//   named in restrictions ("check_sender_access hash:/etc/postfix/access")
//   are opened through lib/table on first use and cached by the Checker.
//
// Diagnostics
//   An unknown restriction name logs `warning: unknown smtpd restriction:
//   "name"` and rejects with "451 4.3.5 Server configuration error"; a
//   temporary lookup failure rejects with "451 4.3.0 <name>: Temporary
//   lookup failure". Neither is ever softened by warn_if_reject.
//   validate() reports the fatal configuration error Postfix gives when
//   neither relay nor recipient restrictions can reject relaying.
//
// Thread safety
//   A Checker is used by one thread (one session loop) at a time.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lib/address/resolve.h"
#include "lib/config/config.h"
#include "lib/table/table.h"
#include "lib/util/hostname.h"
#include "lib/util/result.h"
#include "smtpd/smtpd_protocol.h"

namespace mailroom::smtpd {

// Result of a reverse/forward lookup of the client, as smtpd_peer sets it.
enum class PeerStatus { kOk, kTempFail, kPermFail };

// Where an address is delivered: lib/address's resolver (trivial-rewrite)
// decides, once for every role.
using address::AddressClass;

// Does the recipient table of an address class know this address?
enum class UserLookup { kFound, kNotFound, kTempFail, kNoTable };

enum class DnsStatus { kOk, kNotFound, kTempFail, kNullMx, kMalformed };

struct DnsListAnswer {
    DnsStatus status = DnsStatus::kNotFound;
    std::vector<std::string> addresses;  // A records ("127.0.0.2")
    std::string txt;                     // TXT records joined with " / "
};

// The DNS questions restrictions ask. Tests supply a fake.
class DnsResolver {
public:
    virtual ~DnsResolver() = default;
    // A/AAAA/MX exist for a host name (reject_unknown_helo_hostname).
    virtual DnsStatus lookup_host(std::string_view name) = 0;
    // MX, else A/AAAA, for a mail domain (reject_unknown_*_domain).
    virtual DnsStatus lookup_mail_domain(std::string_view domain) = 0;
    // A (+TXT) of a DNS list query such as "2.0.0.127.zen.example".
    virtual DnsListAnswer lookup_dnsxl(std::string_view query) = 0;
};

struct CheckHooks {
    // The class of a domain by its lists (address::DomainLists::classify).
    // Default: every domain is kDefault (nothing is local or relayed but
    // our own address literals).
    address::DomainClassFn classify_domain;
    // Is the domain in $mydestination (address::DomainLists::is_local)?
    // Default: classify_domain() == kLocal.
    address::DomainLocalFn local_domain;
    // Default: kNoTable (no recipient validation).
    std::function<UserLookup(std::string_view address, AddressClass cls)> lookup_user;
    // Is the address a key of a table that rewrites it: canonical_maps,
    // recipient_canonical_maps (sender_canonical_maps for a sender) or
    // virtual_alias_maps? Postfix accepts such an address in every address
    // class. Default: kNoTable (none is).
    std::function<UserLookup(std::string_view address, AddressClass cls, bool sender)> lookup_rewritten;
    // Default: lib/table's open_table().
    std::function<Result<table::TablePtr>(std::string_view spec)> open_table;
    // Default: none; DNS restrictions then answer dunno with a warning.
    DnsResolver* dns = nullptr;
};

// Side effects of access-map actions, per mail transaction.
struct CheckEffects {
    bool hold = false;
    std::string hold_reason;
    bool discard = false;
    std::string filter;     // transport:destination
    std::string redirect;   // user@domain
    std::vector<std::string> bcc;
    std::vector<std::string> prepend;  // header lines
    std::vector<std::string> log;      // the info lines logged (reject, warn, hold, ...)
};

struct SessionState {
    std::string client_name = "unknown";
    std::string client_addr;
    PeerStatus client_name_status = PeerStatus::kPermFail;
    std::string reverse_client_name = "unknown";
    PeerStatus reverse_client_name_status = PeerStatus::kPermFail;
    bool client_in_mynetworks = false;  // see Mynetworks (smtpd_mynetworks.h)
    std::optional<std::string> helo_name;
    std::optional<std::string> sender;     // "" = the null sender
    std::optional<std::string> recipient;  // the RCPT being checked
    std::optional<std::string> etrn_domain;
    std::string sasl_username;  // non-empty once AUTH succeeded
    std::string sasl_method;
    bool tls_active = false;
    bool smtputf8 = false;
    bool improper_pipelining = false;  // client sent ahead without PIPELINING
    std::string protocol = "ESMTP";
    std::string queue_id;  // "" = NOQUEUE in log lines
    unsigned rcpt_count = 0;
    CheckEffects effects;

    std::string namaddr() const { return client_name + "[" + client_addr + "]"; }
    // The envelope part of a reject/accept log line, as Postfix writes it:
    // "from=<s> to=<r> proto=P helo=<h>", each part only when known (from
    // always when `always_from`, as the milter lines do). Not quoted: the
    // caller makes the whole line printable.
    std::string log_suffix(const std::optional<std::string>& to, bool always_from = false) const {
        std::string out;
        auto add = [&out](const std::string& part) {
            if (!out.empty()) out += ' ';
            out += part;
        };
        if (sender || always_from) add("from=<" + sender.value_or("") + ">");
        if (to) add("to=<" + *to + ">");
        if (!protocol.empty()) add("proto=" + protocol);
        if (helo_name) add("helo=<" + *helo_name + ">");
        return out;
    }
    // Ends a mail transaction (RSET, end of DATA, failed MAIL): forgets the
    // sender, recipient, recipient count and access-map side effects; the
    // client, HELO, AUTH and TLS facts stay.
    void reset_transaction() {
        sender.reset();
        recipient.reset();
        rcpt_count = 0;
        queue_id.clear();
        effects = CheckEffects{};
    }
};

struct CheckConfig {
    std::vector<std::string> client_restrictions;
    std::vector<std::string> helo_restrictions;
    std::vector<std::string> sender_restrictions;
    std::vector<std::string> relay_restrictions = {"permit_mynetworks", "permit_sasl_authenticated",
                                                   "defer_unauth_destination"};
    std::vector<std::string> recipient_restrictions;
    std::vector<std::string> data_restrictions;
    std::vector<std::string> end_of_data_restrictions;
    std::vector<std::string> etrn_restrictions;
    std::map<std::string, std::vector<std::string>, std::less<>> restriction_classes;
    std::vector<std::string> sender_login_maps;  // smtpd_sender_login_maps (tables)
    std::vector<std::string> rbl_reply_maps;     // RBL domain -> reply template (tables)
    std::string default_rbl_reply = "$rbl_code Service unavailable; $rbl_class [$rbl_what] blocked using "
                                    "$rbl_domain${rbl_reason?; $rbl_reason}";
    bool delay_reject = true;                   // smtpd_delay_reject
    bool relay_before_recipient = true;         // smtpd_relay_before_recipient_restrictions
    bool reject_unlisted_recipient = true;      // smtpd_reject_unlisted_recipient
    bool no_unknown_recipient_checks = false;   // receive_override_options (set by the session)
    bool reject_unlisted_sender = false;        // smtpd_reject_unlisted_sender
    bool access_parent_matches_subdomains = true;  // smtpd_access_maps in parent_domain_matches_subdomains
    bool show_user_unknown_table_name = true;
    std::string null_access_lookup_key = "<>";  // smtpd_null_access_lookup_key
    std::string myorigin;                       // "" = unqualified addresses stay unqualified (local)
    // trivial-rewrite's settings (allow_percent_hack, swap_bangpath,
    // resolve_dequoted_address, resolve_numeric_domain, inet_interfaces,
    // proxy_interfaces, allow_untrusted_routing, recipient_delimiter).
    address::ResolveOptions resolve;
    int reject_code = 554;
    int defer_code = 450;
    int access_map_reject_code = 554;
    int access_map_defer_code = 450;
    int relay_domains_reject_code = 554;
    int unknown_client_reject_code = 450;
    int unknown_hostname_reject_code = 450;
    int unknown_address_reject_code = 450;
    int invalid_hostname_reject_code = 501;
    int non_fqdn_reject_code = 504;
    int maps_rbl_reject_code = 554;
    int plaintext_reject_code = 450;
    int unknown_local_recipient_reject_code = 550;
    int unknown_virtual_mailbox_reject_code = 550;
    int unknown_virtual_alias_reject_code = 550;
    int unknown_relay_recipient_reject_code = 550;

    // Reads every field from main.cf parameters of the same name (classes
    // from smtpd_restriction_classes and the parameters it names). A class
    // without a definition is an error ("restriction class `x' needs a
    // definition"), as in Postfix.
    static Result<CheckConfig> from_config(const config::Config& config);
};

enum class Verdict { kDunno, kPermit, kReject };

struct CheckResult {
    Verdict verdict = Verdict::kDunno;
    Reply reply;  // meaningful when verdict == kReject

    bool rejected() const { return verdict == Verdict::kReject; }
};

class Checker {
public:
    Checker(CheckConfig config, CheckHooks hooks);
    ~Checker();
    Checker(const Checker&) = delete;
    Checker& operator=(const Checker&) = delete;

    // Postfix refuses to start unless smtpd_relay_restrictions or
    // smtpd_recipient_restrictions can reject relaying; this is that check.
    Status validate() const;

    CheckResult check_client(SessionState& state);
    CheckResult check_helo(SessionState& state);
    CheckResult check_mail(SessionState& state);
    CheckResult check_rcpt(SessionState& state);
    CheckResult check_etrn(SessionState& state);
    CheckResult check_data(SessionState& state);
    CheckResult check_end_of_data(SessionState& state);
    // VRFY: only the recipient table check of state.recipient (Postfix's
    // smtpd_check_rcptmap), logged as "reject: VRFY from ...".
    CheckResult check_vrfy(SessionState& state);

    const CheckConfig& config() const { return config_; }

private:
    struct Eval;
    CheckResult run_stage(SessionState& state, int stage);

    CheckConfig config_;
    CheckHooks hooks_;
    address::Resolver resolver_;
    std::map<std::string, table::TablePtr, std::less<>> tables_;

    friend struct Eval;
};

// The tables behind CheckHooks::lookup_user (local_recipient_maps,
// virtual_mailbox_maps, relay_recipient_maps) and lookup_rewritten
// (canonical_maps, recipient_canonical_maps, sender_canonical_maps,
// virtual_alias_maps), opened from main.cf. Keys are tried in Postfix's
// address order (address/addr_find.h, with recipient_delimiter); the local
// part alone only for a local address (or one in $myorigin). An empty recipient table parameter
// accepts every address of its class (kNoTable); a table that cannot be
// opened answers kTempFail. Lookups are serialized, so the check workers
// may share one instance; may_block() says whether a table can block
// (mysql:, ...) and the checks must run off the event loop.
class RecipientTables {
public:
    static std::shared_ptr<RecipientTables> open(const config::Config& config);
    UserLookup lookup_user(std::string_view address, AddressClass cls) const;
    UserLookup lookup_rewritten(std::string_view address, AddressClass cls, bool sender) const;
    bool may_block() const { return may_block_; }
    // Sets hooks.lookup_user and hooks.lookup_rewritten to these tables
    // (each only when unset); the hooks keep the tables alive.
    static void install(const std::shared_ptr<RecipientTables>& tables, CheckHooks& hooks);

    struct Tables;

private:
    std::shared_ptr<Tables> t_;
    bool may_block_ = false;
};

// Host name and address syntax (lib/util/hostname.h).
using util::valid_host_address;
using util::valid_hostname;

}  // namespace mailroom::smtpd
