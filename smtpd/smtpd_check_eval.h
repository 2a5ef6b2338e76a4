// smtpd_check_eval.h - private to the smtpd_check*.cc files: one evaluation
// of restriction lists (Checker::Eval) and the helpers its parts share.
//
// Description
//   Eval holds the state of one evaluation (one protocol stage): the
//   recursion depth, the warn_if_reject level, pending defer_if_permit /
//   defer_if_reject replies and the reject reply. Restrictions return
//   kDunno (go on), kOk (this list permits) or kReject (stop; the reply is
//   in Eval::reply). A configuration error or a temporary lookup failure
//   is a kReject that warn_if_reject cannot soften, and that every
//   enclosing list passes straight up - the job Postfix does with longjmp.
//
//   The evaluation is split by topic: smtpd_check.cc (the list walker and
//   the stages), smtpd_check_access.cc (access maps and their actions,
//   smtpd_sender_login_maps), smtpd_check_dns.cc (client and HELO names,
//   DNS-based checks), smtpd_check_address.cc (address classes, relay and
//   recipient validation over lib/address, RecipientTables) and
//   smtpd_check_config.cc (CheckConfig::from_config).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lib/address/address.h"
#include "lib/smtp/smtp_reply.h"
#include "smtpd/smtpd_check.h"

namespace mailroom::smtpd {

namespace check_internal {

enum class St { kDunno, kOk, kReject };

// Postfix's MAIL_ERROR_* classes that matter here: only policy, protocol
// and bounce rejects can be turned into warnings by warn_if_reject.
enum class ErrClass { kPolicy, kProtocol, kBounce, kSoftware, kResource, kData };

enum Stage { kStageClient, kStageHelo, kStageMail, kStageRcpt, kStageEtrn, kStageData, kStageEod, kStageVrfy };

constexpr const char* kClassClient = "Client host";
constexpr const char* kClassRevClient = "Unverified Client host";
constexpr const char* kClassHelo = "Helo command";
constexpr const char* kClassSender = "Sender address";
constexpr const char* kClassRecipient = "Recipient address";
constexpr const char* kClassEtrn = "Etrn command";
constexpr const char* kClassData = "Data command";
constexpr const char* kClassEod = "End-of-data";

constexpr const char* kCheckClientAcl = "check_client_access";
constexpr const char* kCheckReverseClientAcl = "check_reverse_client_access";
constexpr const char* kCheckHeloAcl = "check_helo_access";
constexpr const char* kCheckSenderAcl = "check_sender_access";
constexpr const char* kCheckRecipAcl = "check_recipient_access";
constexpr const char* kCheckEtrnAcl = "check_etrn_access";

constexpr int kMaxRecursion = 100;

bool all_digits(std::string_view s);
using smtp::valid_dsn;
// "5.7.1 text" -> dsn "5.7.1", text "text"; otherwise the default DSN.
void dsn_split(std::string_view def_dsn, std::string_view text, std::string* dsn, std::string* rest);
bool is_header_line(std::string_view s);
// Pattern tables (regexp, pcre, cidr) see whole keys only, never the
// parent-domain or address-prefix variants.
bool is_pattern_table(const table::Table& t);
// Matches one octet against "N", "[a..b]", "[a;b;c..d]".
bool octet_matches(std::string_view pat, int value);
// reject_rbl_client domain=pattern: does any A record match?
bool rbl_address_matches(std::string_view pattern, const std::string& address);
// Reversed-address DNSBL query name prefix ("4.3.2.1." or IPv6 nibbles).
std::optional<std::string> reverse_query(std::string_view addr);

}  // namespace check_internal

using namespace check_internal;

struct Checker::Eval {
    Checker& c;
    SessionState& s;
    std::string where;
    int recursion = 0;
    int warn_if_reject = 0;
    bool rcpt_maps_checked = false;
    bool sender_maps_checked = false;
    Reply reply;
    std::optional<Reply> defer_if_permit;
    std::optional<Reply> defer_if_reject;

    Eval(Checker& checker, SessionState& state, std::string w) : c(checker), s(state), where(std::move(w)) {}
    const CheckConfig& cfg() const { return c.config_; }

    void log_whatsup(std::string_view whatsup, std::string_view text);
    static std::string printable(std::string_view t);
    St reject(ErrClass cls, int code, std::string dsn, const std::string& text);
    St server_error() { return reject(ErrClass::kSoftware, 451, "4.3.5", "Server configuration error"); }
    St dict_retry(std::string_view name);
    void set_defer_if_permit(int code, const std::string& dsn, const std::string& text);
    void set_defer_if_reject(int code, const std::string& dsn, const std::string& text);
    static std::string rejected(std::string_view name, std::string_view cls, std::string_view why);

    // ---- tables --------------------------------------------------------

    table::Table* get_table(const std::string& spec);
    // Looks keys up in order; the first hit goes through check_table_result.
    St lookup_keys(const std::string& spec, std::vector<std::string> keys, std::string_view datum,
                   std::string_view reply_name, std::string_view reply_class, std::string_view def_acl);
    St check_client_acl(const std::string& spec, const std::string& name, const std::string& addr,
                        std::string_view reply_name, std::string_view reply_class, std::string_view def_acl);
    St check_domain_acl(const std::string& spec, const std::string& domain, std::string_view reply_name,
                        std::string_view reply_class, std::string_view def_acl);
    St check_mail_acl(const std::string& spec, const std::string& addr, std::string_view reply_name,
                      std::string_view reply_class, std::string_view def_acl);

    // ---- smtpd_sender_login_maps ---------------------------------------

    // The owners (SASL login names) smtpd_sender_login_maps lists for the
    // sender, in address-map order (user@domain, user for a local domain,
    // @domain); nullopt when no table lists it.
    Result<std::optional<std::string>> sender_owners(const std::string& sender);
    // The client logged in and does not own the sender address (with
    // allow_unknown, an address no table lists is anybody's).
    St reject_auth_sender_login_mismatch(bool allow_unknown);
    // The client did not log in and the sender address has an owner.
    St reject_unauth_sender_login_mismatch();

    // ---- access-map results (Postfix's check_table_result) -------------

    bool can_delegate(const std::string& spec, std::string_view action);
    St table_result(const std::string& spec, std::string_view value, std::string_view datum,
                    std::string_view reply_name, std::string_view reply_class, std::string_view def_acl);

    // ---- built-in restrictions ----------------------------------------

    St reject_unknown_client();
    St reject_unknown_reverse_client();
    St reject_invalid_hostaddr(const std::string& helo);
    St reject_invalid_helo();
    St reject_non_fqdn_helo();
    St reject_unknown_helo();
    St reject_non_fqdn_address(const std::string& addr, const char* cls);
    St reject_unknown_address(const std::string& addr, const char* cls);
    // Postfix classifies an address after rewriting it in the local
    // context: an unqualified address gets @$myorigin.
    std::string qualify(const std::string& addr) const;
    // The address (qualified) through lib/address's resolver.
    Result<address::Resolution> resolve(const std::string& addr);
    St permit_auth_destination(const std::string& rcpt);
    St reject_unauth_destination(const std::string& rcpt, int code, const char* dsn);
    St check_rcpt_maps(const std::string& addr, const char* cls);
    St check_recipient_rcpt_maps();
    St check_sender_rcpt_maps();
    St rbl_reply(std::string_view rbl_domain, const DnsListAnswer& a, std::string_view what, const char* cls);
    // Looks up "query" in a DNS list given as "domain" or "domain=pattern".
    std::optional<DnsListAnswer> dnsxl(const std::string& prefix, const std::string& list_spec,
                                       std::string* rbl_domain);
    // permit_dnswl_client / permit_rhswl_client: a listed client is
    // permitted, but never for a recipient it may not relay to; a DNS
    // failure turns a later reject into a deferral.
    St permit_dnswl(const std::string& list_spec, const std::optional<std::string>& prefix,
                    const std::string& reply_name, const std::string& reply_class);
    St reject_rbl_addr(const std::string& list_spec, const std::string& addr, const char* cls);
    St reject_rbl_domain(const std::string& list_spec, std::string what, const char* cls);

    // ---- the list walker (Postfix's generic_checks) --------------------

    // Takes the table argument of a check_*_access restriction. Returns
    // nullopt (after arranging a server error) when it is missing.
    std::optional<std::string> map_arg(const std::vector<std::string>& list, size_t* i, bool implicit,
                                       std::string_view name);
    std::optional<std::string> domain_arg(const std::vector<std::string>& list, size_t* i, const std::string& name);
    St generic(const std::vector<std::string>& list, std::string_view reply_name_v, std::string_view reply_class_v,
               std::string_view def_acl);
    St one(const std::vector<std::string>& list, size_t* i, const std::string& name, bool implicit,
           const std::string& reply_name, const std::string& reply_class, std::string_view def_acl);
    // Runs one list with its stage's reply name and class.
    St run_client();
    St run_helo();
    St run_mail();
};

}  // namespace mailroom::smtpd
