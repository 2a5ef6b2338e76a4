// smtpd_check.cc - see smtpd_check.h.
//
// Description
//   Eval holds the state of one evaluation (one protocol stage): the
//   recursion depth, the warn_if_reject level, pending defer_if_permit /
//   defer_if_reject replies and the reject reply. Restrictions return
//   kDunno (go on), kOk (this list permits) or kReject (stop; the reply is
//   in Eval::reply). A configuration error or a temporary lookup failure
//   is a kReject that warn_if_reject cannot soften, and that every
//   enclosing list passes straight up - the job Postfix does with longjmp.
#include "smtpd/smtpd_check.h"

#include <arpa/inet.h>

#include <cctype>
#include <cstdio>
#include <map>
#include <mutex>

#include "lib/config/expand.h"
#include "lib/config/param_read.h"
#include "lib/log/log.h"
#include "lib/table/domain_list.h"
#include "lib/table/access_match.h"
#include "lib/table/addr_find.h"
#include "lib/table/maps.h"
#include "lib/util/interfaces.h"
#include "lib/util/strings.h"

namespace mailroom::smtpd {

using util::iequals;

namespace {

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

bool all_digits(std::string_view s) {
    if (s.empty()) return false;
    for (char c : s) {
        if (!std::isdigit(static_cast<unsigned char>(c))) return false;
    }
    return true;
}

bool valid_dsn(std::string_view d) {
    if (d.size() < 5 || (d[0] != '2' && d[0] != '4' && d[0] != '5') || d[1] != '.') return false;
    size_t i = 2, n = 0;
    while (i < d.size() && std::isdigit(static_cast<unsigned char>(d[i]))) ++i, ++n;
    if (n < 1 || n > 3 || i >= d.size() || d[i] != '.') return false;
    ++i;
    n = 0;
    while (i < d.size() && std::isdigit(static_cast<unsigned char>(d[i]))) ++i, ++n;
    return n >= 1 && n <= 3 && i == d.size();
}

// "5.7.1 text" -> dsn "5.7.1", text "text"; otherwise the default DSN.
void dsn_split(std::string_view def_dsn, std::string_view text, std::string* dsn, std::string* rest) {
    text = util::trim(text);
    size_t sp = text.find_first_of(" \t");
    std::string_view first = text.substr(0, sp);
    if (valid_dsn(first) && (first[0] == '4' || first[0] == '5')) {
        *dsn = std::string(first);
        *rest = std::string(sp == std::string_view::npos ? std::string_view() : util::trim(text.substr(sp)));
    } else {
        *dsn = std::string(def_dsn);
        *rest = std::string(text);
    }
}

std::string domain_of(std::string_view address) {
    size_t at = address.rfind('@');
    if (at == std::string_view::npos) return "";
    return util::lowercase(address.substr(at + 1));
}

std::string local_part_of(std::string_view address) {
    size_t at = address.rfind('@');
    return util::lowercase(at == std::string_view::npos ? address : address.substr(0, at));
}

// Truncates a name ending in one dot (not two), as Postfix does.
std::string_view drop_trailing_dot(std::string_view name) {
    if (name.size() > 1 && name.back() == '.' && name[name.size() - 2] != '.') name.remove_suffix(1);
    return name;
}

bool is_header_line(std::string_view s) {
    size_t i = 0;
    while (i < s.size() && s[i] != ':') {
        unsigned char c = static_cast<unsigned char>(s[i]);
        if (c <= ' ' || c >= 0x7f) return false;
        ++i;
    }
    return i > 0 && i < s.size();
}

// Pattern tables (regexp, pcre, cidr) see whole keys only, never the
// parent-domain or address-prefix variants.
bool is_pattern_table(const table::Table& t) { return t.is_pattern(); }

// Matches one octet against "N", "[a..b]", "[a;b;c..d]".
bool octet_matches(std::string_view pat, int value) {
    if (pat.size() >= 2 && pat.front() == '[' && pat.back() == ']') {
        std::string_view body = pat.substr(1, pat.size() - 2);
        for (const std::string& item : util::split(body, ";")) {
            size_t dots = item.find("..");
            if (dots == std::string::npos) {
                if (all_digits(item) && item.size() <= 3 && std::stoi(item) == value) return true;
            } else {
                std::string lo = item.substr(0, dots), hi = item.substr(dots + 2);
                if (all_digits(lo) && all_digits(hi) && lo.size() <= 3 && hi.size() <= 3 && value >= std::stoi(lo) &&
                    value <= std::stoi(hi)) {
                    return true;
                }
            }
        }
        return false;
    }
    return all_digits(pat) && pat.size() <= 3 && std::stoi(std::string(pat)) == value;
}

// reject_rbl_client domain=pattern: does any A record match?
bool rbl_address_matches(std::string_view pattern, const std::string& address) {
    // Split on dots outside [...] ("127.0.0.[1..3]" has dots inside).
    std::vector<std::string> pp;
    std::string cur;
    int depth = 0;
    for (char ch : pattern) {
        if (ch == '[') ++depth;
        if (ch == ']') --depth;
        if (ch == '.' && depth == 0) {
            pp.push_back(cur);
            cur.clear();
        } else {
            cur.push_back(ch);
        }
    }
    pp.push_back(cur);
    std::vector<std::string> ap = util::split(address, ".");
    if (pp.size() != 4 || ap.size() != 4) return false;
    for (size_t i = 0; i < 4; ++i) {
        if (!all_digits(ap[i]) || ap[i].size() > 3) return false;
        if (!octet_matches(pp[i], std::stoi(ap[i]))) return false;
    }
    return true;
}

// Reversed-address DNSBL query name prefix ("4.3.2.1." or IPv6 nibbles).
std::optional<std::string> reverse_query(std::string_view addr) {
    std::string a(addr);
    in_addr v4{};
    in6_addr v6{};
    if (inet_pton(AF_INET, a.c_str(), &v4) == 1) {
        std::vector<std::string> o = util::split(a, ".");
        std::string q;
        for (size_t i = o.size(); i-- > 0;) q += o[i] + ".";
        return q;
    }
    if (inet_pton(AF_INET6, a.c_str(), &v6) == 1) {
        std::string q;
        char buf[8];
        for (int i = 15; i >= 0; --i) {
            std::snprintf(buf, sizeof(buf), "%x.%x.", v6.s6_addr[i] & 0xf, v6.s6_addr[i] >> 4);
            q += buf;
        }
        return q;
    }
    return std::nullopt;
}

}  // namespace

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

    void log_whatsup(std::string_view whatsup, std::string_view text) {
        std::string line = (s.queue_id.empty() ? std::string("NOQUEUE") : s.queue_id) + ": " + std::string(whatsup) +
                           ": " + where + " from " + s.namaddr() + ": " + std::string(text) + ";";
        if (s.sender) line += " from=<" + *s.sender + ">";
        if (s.recipient) line += " to=<" + *s.recipient + ">";
        if (!s.protocol.empty()) line += " proto=" + s.protocol;
        if (s.helo_name) line += " helo=<" + *s.helo_name + ">";
        line = log::log_printable(line);
        log::info("%s", line.c_str());
        s.effects.log.push_back(std::move(line));
    }

    static std::string printable(std::string_view t) {
        std::string out;
        for (char ch : t.substr(0, 510)) {
            unsigned char u = static_cast<unsigned char>(ch);
            out.push_back(u < 0x20 || u == 0x7f ? ' ' : ch);
        }
        return out;
    }

    St reject(ErrClass cls, int code, std::string dsn, const std::string& text) {
        bool soft = warn_if_reject != 0 && cls != ErrClass::kSoftware && cls != ErrClass::kResource &&
                    cls != ErrClass::kData;
        Reply r;
        if (code < 400 || code > 599) {
            log::warn("SMTP reply code configuration error: %d %s %s", code, dsn.c_str(), text.c_str());
            r = make_reply(450, "4.7.1", "Service unavailable");
        } else if (!valid_dsn(dsn)) {
            log::warn("DSN detail code configuration error: %d %s %s", code, dsn.c_str(), text.c_str());
            r = make_reply(450, "4.7.1", "Service unavailable");
        } else {
            dsn[0] = static_cast<char>('0' + code / 100);
            r = make_reply(code, dsn, printable(text));
        }
        // An earlier temporary problem turns a hard reject into a deferral.
        if (!soft && defer_if_reject && r.code >= 500) {
            Reply d = *defer_if_reject;
            defer_if_reject.reset();
            r = d;
        }
        log_whatsup(soft ? "reject_warning" : "reject", r.text());
        if (soft) return St::kDunno;
        reply = std::move(r);
        return St::kReject;
    }

    St server_error() { return reject(ErrClass::kSoftware, 451, "4.3.5", "Server configuration error"); }
    St dict_retry(std::string_view name) {
        return reject(ErrClass::kData, 451, "4.3.0", "<" + std::string(name) + ">: Temporary lookup failure");
    }

    void set_defer_if_permit(int code, const std::string& dsn, const std::string& text) {
        if (defer_if_permit) return;  // keep the first reason
        std::string d = dsn;
        if (!d.empty()) d[0] = static_cast<char>('0' + code / 100);
        defer_if_permit = make_reply(code, d, printable(text));
    }
    void set_defer_if_reject(int code, const std::string& dsn, const std::string& text) {
        if (defer_if_reject) return;
        std::string d = dsn;
        if (!d.empty()) d[0] = static_cast<char>('0' + code / 100);
        defer_if_reject = make_reply(code, d, printable(text));
    }

    static std::string rejected(std::string_view name, std::string_view cls, std::string_view why) {
        return "<" + std::string(name) + ">: " + std::string(cls) + " rejected: " + std::string(why);
    }

    // ---- tables --------------------------------------------------------

    table::Table* get_table(const std::string& spec) {
        auto it = c.tables_.find(spec);
        if (it != c.tables_.end()) return it->second.get();
        Result<table::TablePtr> t = c.hooks_.open_table ? c.hooks_.open_table(spec) : table::open_table(spec);
        if (!t) {
            log::warn("%s: table lookup problem: %s", spec.c_str(), t.error().message.c_str());
            return nullptr;
        }
        table::Table* raw = t->get();
        c.tables_.emplace(spec, std::move(*t));
        return raw;
    }

    // Looks keys up in order; the first hit goes through check_table_result.
    St lookup_keys(const std::string& spec, std::vector<std::string> keys, std::string_view datum,
                   std::string_view reply_name, std::string_view reply_class, std::string_view def_acl) {
        table::Table* t = get_table(spec);
        if (t == nullptr) return server_error();
        table::AccessResult r =
            table::match_keys(keys, [t](std::string_view k) { return t->lookup(k); });
        if (!r) {
            if (r.error().temporary()) return dict_retry(reply_name);
            log::warn("%s: table lookup problem: %s", spec.c_str(), r.error().message.c_str());
            return table_result(spec, "451 4.3.5 Server configuration error", datum, reply_name, reply_class,
                                def_acl);
        }
        if (!r->has_value()) return St::kDunno;
        return table_result(spec, (*r)->value, datum, reply_name, reply_class, def_acl);
    }

    St check_client_acl(const std::string& spec, const std::string& name, const std::string& addr,
                        std::string_view reply_name, std::string_view reply_class, std::string_view def_acl) {
        table::Table* t = get_table(spec);
        if (t == nullptr) return server_error();
        std::vector<std::string> keys;
        if (is_pattern_table(*t)) {
            keys = {name, addr};
        } else {
            keys = table::access_client_keys(name, addr, cfg().access_parent_matches_subdomains);
        }
        return lookup_keys(spec, keys, addr, reply_name, reply_class, def_acl);
    }

    St check_domain_acl(const std::string& spec, const std::string& domain, std::string_view reply_name,
                        std::string_view reply_class, std::string_view def_acl) {
        table::Table* t = get_table(spec);
        if (t == nullptr) return server_error();
        std::vector<std::string> keys;
        if (is_pattern_table(*t) || valid_host_address(domain)) {
            keys = {domain};
        } else {
            keys = table::access_domain_keys(domain, cfg().access_parent_matches_subdomains);
        }
        return lookup_keys(spec, keys, domain, reply_name, reply_class, def_acl);
    }

    St check_mail_acl(const std::string& spec, const std::string& addr, std::string_view reply_name,
                      std::string_view reply_class, std::string_view def_acl) {
        table::Table* t = get_table(spec);
        if (t == nullptr) return server_error();
        std::vector<std::string> keys;
        // As Postfix, the tables see the address rewritten in the local
        // context (unqualified: @$myorigin); the reply names it as received.
        if (addr.empty()) {
            keys = {cfg().null_access_lookup_key};
        } else if (is_pattern_table(*t)) {
            keys = {qualify(addr)};
        } else {
            keys = table::access_address_keys(qualify(addr), cfg().access_parent_matches_subdomains);
        }
        return lookup_keys(spec, keys, addr, reply_name, reply_class, def_acl);
    }

    // ---- smtpd_sender_login_maps ---------------------------------------

    // The owners (SASL login names) smtpd_sender_login_maps lists for the
    // sender, in address-map order (user@domain, user for a local domain,
    // @domain); nullopt when no table lists it.
    Result<std::optional<std::string>> sender_owners(const std::string& sender) {
        table::AddressLookupOptions opts;
        size_t at = sender.rfind('@');
        if (at == std::string::npos) {
            opts.domain_is_local = true;
        } else if (c.hooks_.classify_domain) {
            opts.domain_is_local = c.hooks_.classify_domain(std::string_view(sender).substr(at + 1)) ==
                                   AddressClass::kLocal;
        }
        for (const auto& spec : cfg().sender_login_maps) {
            table::Table* t = get_table(spec);
            if (t == nullptr) return make_error(spec + ": table unavailable");
            opts.pattern_table = t->is_pattern();
            auto r = table::find_address(sender, opts, [t](std::string_view k) { return t->lookup(k); });
            if (!r) return r.error();
            if (r->has_value()) return std::optional<std::string>((*r)->value);
        }
        return std::optional<std::string>();
    }

    // The client logged in and does not own the sender address (with
    // allow_unknown, an address no table lists is anybody's).
    St reject_auth_sender_login_mismatch(bool allow_unknown) {
        if (cfg().sender_login_maps.empty() || s.sasl_username.empty()) return St::kDunno;
        auto owners = sender_owners(*s.sender);
        if (!owners) {
            if (owners.error().temporary()) return dict_retry(*s.sender);
            log::warn("smtpd_sender_login_maps: %s", owners.error().message.c_str());
            return server_error();
        }
        if (!owners->has_value()) {
            if (allow_unknown) return St::kDunno;
        } else {
            for (const auto& name : util::split_list(**owners)) {
                if (util::iequals(name, s.sasl_username)) return St::kDunno;
            }
        }
        return reject(ErrClass::kPolicy, 553, "5.7.1",
                      "<" + *s.sender + ">: Sender address rejected: not owned by user " + s.sasl_username);
    }

    // The client did not log in and the sender address has an owner.
    St reject_unauth_sender_login_mismatch() {
        if (cfg().sender_login_maps.empty() || !s.sasl_username.empty()) return St::kDunno;
        auto owners = sender_owners(*s.sender);
        if (!owners) {
            if (owners.error().temporary()) return dict_retry(*s.sender);
            log::warn("smtpd_sender_login_maps: %s", owners.error().message.c_str());
            return server_error();
        }
        if (!owners->has_value()) return St::kDunno;
        return reject(ErrClass::kPolicy, 553, "5.7.1", "<" + *s.sender + ">: Sender address rejected: not logged in");
    }

    // ---- access-map results (Postfix's check_table_result) -------------

    bool can_delegate(const std::string& spec, std::string_view action) {
        if (where == "ETRN") {
            log::warn("access table %s: action %.*s is unavailable in smtpd_etrn_restrictions", spec.c_str(),
                      static_cast<int>(action.size()), action.data());
            return false;
        }
        if (!s.sender) {
            log::warn("access table %s: with smtpd_delay_reject=no, action %.*s is always skipped in %s or %s "
                      "restrictions",
                      spec.c_str(), static_cast<int>(action.size()), action.data(), kClassClient, kClassHelo);
            return false;
        }
        return true;
    }

    St table_result(const std::string& spec, std::string_view value, std::string_view datum,
                    std::string_view reply_name, std::string_view reply_class, std::string_view def_acl) {
        size_t sp = value.find_first_of(" \t");
        std::string_view cmd = value.substr(0, sp);
        std::string_view text = sp == std::string_view::npos ? std::string_view() : util::trim(value.substr(sp));
        std::string dsn, why;
        std::string datum_s(datum);

        if (iequals(cmd, "DUNNO")) return St::kDunno;
        if (iequals(cmd, "REJECT")) {
            dsn_split("5.7.1", text, &dsn, &why);
            return reject(ErrClass::kPolicy, cfg().access_map_reject_code, dsn,
                          rejected(reply_name, reply_class, why.empty() ? "Access denied" : why));
        }
        if (iequals(cmd, "DEFER")) {
            dsn_split("4.7.1", text, &dsn, &why);
            return reject(ErrClass::kPolicy, cfg().access_map_defer_code, dsn,
                          rejected(reply_name, reply_class, why.empty() ? "Access denied" : why));
        }
        if (iequals(cmd, "INFO")) {
            log_whatsup("info", text);
            return St::kDunno;
        }
        if (iequals(cmd, "WARN")) {
            log_whatsup("warn", text);
            return St::kDunno;
        }
        if (iequals(cmd, "FILTER")) {
            if (!can_delegate(spec, "FILTER")) return St::kDunno;
            if (text.empty()) {
                log::warn("access table %s entry \"%s\" has FILTER entry without value", spec.c_str(),
                          datum_s.c_str());
                return St::kDunno;
            }
            if (text.find(':') == std::string_view::npos) {
                log::warn("access table %s entry \"%s\" requires transport:destination", spec.c_str(),
                          datum_s.c_str());
                return St::kDunno;
            }
            log_whatsup("filter", "<" + std::string(reply_name) + ">: " + std::string(reply_class) +
                                      " triggers FILTER " + std::string(text));
            s.effects.filter = std::string(text);
            return St::kDunno;
        }
        if (iequals(cmd, "HOLD")) {
            if (!can_delegate(spec, "HOLD") || s.effects.hold) return St::kDunno;
            log_whatsup("hold", "<" + std::string(reply_name) + ">: " + std::string(reply_class) + " " +
                                    (text.empty() ? std::string("triggers HOLD action") : std::string(text)));
            s.effects.hold = true;
            s.effects.hold_reason = std::string(text);
            return St::kDunno;
        }
        if (iequals(cmd, "DISCARD")) {
            if (!can_delegate(spec, "DISCARD")) return St::kDunno;
            log_whatsup("discard", "<" + std::string(reply_name) + ">: " + std::string(reply_class) + " " +
                                       (text.empty() ? std::string("triggers DISCARD action") : std::string(text)));
            s.effects.discard = true;
            return St::kOk;
        }
        if (iequals(cmd, "REDIRECT") || iequals(cmd, "BCC")) {
            std::string upper = iequals(cmd, "BCC") ? "BCC" : "REDIRECT";
            if (!can_delegate(spec, upper)) return St::kDunno;
            if (text.find('@') == std::string_view::npos) {
                log::warn("access table %s entry \"%s\" requires user@domain target", spec.c_str(),
                          datum_s.c_str());
                return St::kDunno;
            }
            log_whatsup(upper == "BCC" ? "bcc" : "redirect",
                        "<" + std::string(reply_name) + ">: " + std::string(reply_class) + " triggers " + upper +
                            " " + std::string(text));
            if (upper == "BCC") {
                s.effects.bcc.emplace_back(text);
            } else {
                s.effects.redirect = std::string(text);
            }
            return St::kDunno;
        }
        if (iequals(cmd, "DEFER_IF_PERMIT")) {
            dsn_split("4.7.1", text, &dsn, &why);
            set_defer_if_permit(cfg().access_map_defer_code, dsn,
                                rejected(reply_name, reply_class, why.empty() ? "Service unavailable" : why));
            return St::kDunno;
        }
        if (iequals(cmd, "DEFER_IF_REJECT")) {
            dsn_split("4.7.1", text, &dsn, &why);
            set_defer_if_reject(cfg().access_map_defer_code, dsn,
                                rejected(reply_name, reply_class, why.empty() ? "Service unavailable" : why));
            return St::kDunno;
        }
        if (iequals(cmd, "PREPEND")) {
            if (!s.sender) {
                log::warn("access table %s: with smtpd_delay_reject=no, action PREPEND is always skipped in %s "
                          "or %s restrictions",
                          spec.c_str(), kClassClient, kClassHelo);
                return St::kDunno;
            }
            if (where == "END-OF-MESSAGE") {
                log::warn("access table %s: action PREPEND must be used before smtpd_end_of_data_restrictions",
                          spec.c_str());
                return St::kDunno;
            }
            if (text.empty() || !is_header_line(text)) {
                log::warn("access table %s entry \"%s\" requires header: text", spec.c_str(), datum_s.c_str());
                return St::kDunno;
            }
            s.effects.prepend.emplace_back(text);
            return St::kDunno;
        }
        // All-numeric: OK (some out-of-band authentication stores a time stamp).
        if (all_digits(value)) return St::kOk;
        // "4NN text" / "5NN text", optionally with an enhanced status code.
        if (cmd.size() == 3 && !text.empty() && (cmd[0] == '4' || cmd[0] == '5') && all_digits(cmd)) {
            int code = std::stoi(std::string(cmd));
            std::string def = std::string(1, cmd[0]) + ".7.1";
            dsn_split(def, text, &dsn, &why);
            return reject(ErrClass::kPolicy, code, dsn,
                          rejected(reply_name, reply_class, why.empty() ? "Access denied" : why));
        }
        if (iequals(cmd, "OK") || iequals(cmd, "RELAY")) return St::kOk;
        if (value.find(':') != std::string_view::npos) {
            std::string v(value);
            log::warn("access table %s has entry with lookup table: %s", spec.c_str(), v.c_str());
            log::warn("do not specify lookup tables inside SMTPD access maps");
            log::warn("define a restriction class and specify its name instead.");
            return server_error();
        }
        if (recursion > kMaxRecursion) {
            std::string v(value);
            log::warn("access table %s entry %s causes unreasonable recursion", spec.c_str(), v.c_str());
            return server_error();
        }
        // Anything else is a list of restrictions (often a class name).
        std::vector<std::string> list = util::split_list(value);
        if (list.empty()) {
            std::string v(value);
            log::warn("access table %s entry %s has empty value", spec.c_str(), v.c_str());
            return St::kOk;
        }
        return generic(list, reply_name, reply_class, def_acl);
    }

    // ---- built-in restrictions ----------------------------------------

    St reject_unknown_client() {
        if (s.client_name_status == PeerStatus::kOk) return St::kDunno;
        int code = s.client_name_status == PeerStatus::kPermFail ? cfg().unknown_client_reject_code : 450;
        return reject(ErrClass::kPolicy, code, "4.7.25",
                      "Client host rejected: cannot find your hostname, [" + s.client_addr + "]");
    }

    St reject_unknown_reverse_client() {
        if (s.reverse_client_name_status == PeerStatus::kOk) return St::kDunno;
        int code = s.reverse_client_name_status == PeerStatus::kPermFail ? cfg().unknown_client_reject_code : 450;
        return reject(ErrClass::kPolicy, code, "4.7.1",
                      "Client host rejected: cannot find your reverse hostname, [" + s.client_addr + "]");
    }

    St reject_invalid_hostaddr(const std::string& helo) {
        std::string_view a = helo;
        if (a.size() > 2 && a.front() == '[' && a.back() == ']') a = a.substr(1, a.size() - 2);
        if (valid_host_address(a)) return St::kDunno;
        return reject(ErrClass::kPolicy, cfg().invalid_hostname_reject_code, "5.5.2",
                      rejected(helo, kClassHelo, "invalid ip address"));
    }

    St reject_invalid_helo() {
        const std::string& h = *s.helo_name;
        if (!h.empty() && h.front() == '[') return reject_invalid_hostaddr(h);
        std::string_view name = drop_trailing_dot(h);
        if (valid_hostname(name) || valid_host_address(name)) return St::kDunno;
        return reject(ErrClass::kPolicy, cfg().invalid_hostname_reject_code, "5.5.2",
                      rejected(h, kClassHelo, "Invalid name"));
    }

    St reject_non_fqdn_helo() {
        const std::string& h = *s.helo_name;
        if (!h.empty() && h.front() == '[') return reject_invalid_hostaddr(h);
        std::string_view name = drop_trailing_dot(h);
        if (valid_hostname(name) && name.find('.') != std::string_view::npos) return St::kDunno;
        return reject(ErrClass::kPolicy, cfg().non_fqdn_reject_code, "5.5.2",
                      rejected(h, kClassHelo, "need fully-qualified hostname"));
    }

    St reject_unknown_helo() {
        const std::string& h = *s.helo_name;
        if (!h.empty() && h.front() == '[') return reject_invalid_hostaddr(h);
        if (c.hooks_.dns == nullptr) {
            log::warn("reject_unknown_helo_hostname: no DNS resolver configured");
            return St::kDunno;
        }
        DnsStatus st = c.hooks_.dns->lookup_host(drop_trailing_dot(h));
        switch (st) {
        case DnsStatus::kOk:
        case DnsStatus::kNullMx:
            return St::kDunno;
        case DnsStatus::kTempFail:
            set_defer_if_permit(450, "4.7.1", rejected(h, kClassHelo, "Host not found"));
            return St::kDunno;
        case DnsStatus::kMalformed:
            return reject(ErrClass::kPolicy, cfg().unknown_hostname_reject_code, "4.7.1",
                          rejected(h, kClassHelo, "Malformed DNS server reply"));
        case DnsStatus::kNotFound:
            break;
        }
        return reject(ErrClass::kPolicy, cfg().unknown_hostname_reject_code, "4.7.1",
                      rejected(h, kClassHelo, "Host not found"));
    }

    St reject_non_fqdn_address(const std::string& addr, const char* cls) {
        std::string domain = domain_of(addr);
        if (domain.size() > 1 && domain.front() == '[' && domain.back() == ']') return St::kDunno;
        std::string_view d = drop_trailing_dot(domain);
        if (!d.empty() && valid_hostname(d) && d.find('.') != std::string_view::npos) return St::kDunno;
        return reject(ErrClass::kPolicy, cfg().non_fqdn_reject_code, "4.5.2",
                      rejected(addr, cls, "need fully-qualified address"));
    }

    AddressClass classify(const std::string& domain) {
        if (!c.hooks_.classify_domain) return AddressClass::kDefault;
        return c.hooks_.classify_domain(domain);
    }

    static bool is_final(AddressClass cls) {
        return cls == AddressClass::kLocal || cls == AddressClass::kVirtualAlias ||
               cls == AddressClass::kVirtualMailbox;
    }

    St reject_unknown_address(const std::string& addr, const char* cls) {
        if (addr.find('@') == std::string::npos) return St::kDunno;
        std::string domain = domain_of(addr);
        if (domain.empty() || is_final(classify(domain))) return St::kDunno;
        if (domain.front() == '[' && domain.back() == ']') return St::kDunno;
        bool sender = std::string_view(cls) == kClassSender;
        const char* dsn = sender ? "4.1.8" : "4.1.2";
        if (c.hooks_.dns == nullptr) {
            log::warn("reject_unknown_%s_domain: no DNS resolver configured", sender ? "sender" : "recipient");
            return St::kDunno;
        }
        DnsStatus st = c.hooks_.dns->lookup_mail_domain(drop_trailing_dot(domain));
        switch (st) {
        case DnsStatus::kOk:
            return St::kDunno;
        case DnsStatus::kNullMx:
            return reject(ErrClass::kPolicy, sender ? 550 : 556, sender ? "4.7.27" : "4.1.10",
                          rejected(addr, cls, "Domain " + domain + " does not accept mail (nullMX)"));
        case DnsStatus::kTempFail:
            set_defer_if_permit(450, dsn, rejected(addr, cls, "Domain not found"));
            return St::kDunno;
        case DnsStatus::kMalformed:
            return reject(ErrClass::kPolicy, cfg().unknown_address_reject_code, dsn,
                          rejected(addr, cls, "Malformed DNS server reply"));
        case DnsStatus::kNotFound:
            break;
        }
        return reject(ErrClass::kPolicy, cfg().unknown_address_reject_code, dsn,
                      rejected(addr, cls, "Domain not found"));
    }

    // Postfix classifies an address after rewriting it in the local
    // context: an unqualified address gets @$myorigin.
    std::string qualify(const std::string& addr) const {
        if (addr.find('@') != std::string::npos || cfg().myorigin.empty()) return addr;
        return addr + "@" + cfg().myorigin;
    }

    AddressClass classify_address(const std::string& qualified) {
        if (qualified.find('@') == std::string::npos) return AddressClass::kLocal;
        return classify(domain_of(qualified));
    }

    St permit_auth_destination(const std::string& rcpt) {
        AddressClass cls = classify_address(qualify(rcpt));
        if (cls == AddressClass::kTempFail) return dict_retry(rcpt);
        if (cls == AddressClass::kDefault) return St::kDunno;
        return St::kOk;
    }

    St reject_unauth_destination(const std::string& rcpt, int code, const char* dsn) {
        St auth = permit_auth_destination(rcpt);
        if (auth == St::kOk) return St::kDunno;
        if (auth == St::kReject) return auth;
        return reject(ErrClass::kPolicy, code, dsn, "<" + rcpt + ">: Relay access denied");
    }

    St check_rcpt_maps(const std::string& addr, const char* cls) {
        bool sender = std::string_view(cls) == kClassSender;
        std::string full = qualify(addr);
        AddressClass ac = classify_address(full);
        if (ac == AddressClass::kTempFail) return dict_retry(addr);
        // An address that canonical or virtual alias mapping rewrites is
        // assumed deliverable, whatever its class.
        if (c.hooks_.lookup_rewritten) {
            UserLookup r = c.hooks_.lookup_rewritten(full, ac, sender);
            if (r == UserLookup::kTempFail) return dict_retry(addr);
            if (r == UserLookup::kFound) return St::kDunno;
        }
        if (ac == AddressClass::kDefault) return St::kDunno;
        if (ac == AddressClass::kLocal) {
            std::string lp = local_part_of(full);
            if (lp == "postmaster" || lp == "mailer-daemon" || lp == "double-bounce") return St::kDunno;
        }
        UserLookup u = UserLookup::kNoTable;
        if (ac == AddressClass::kVirtualAlias) {
            // Every address of a virtual alias domain must be an alias.
            u = UserLookup::kNotFound;
        } else if (c.hooks_.lookup_user) {
            u = c.hooks_.lookup_user(full, ac);
        }
        if (u == UserLookup::kTempFail) return dict_retry(addr);
        if (u != UserLookup::kNotFound) return St::kDunno;
        int code = cfg().unknown_local_recipient_reject_code;
        const char* table_name = " in local recipient table";
        switch (ac) {
        case AddressClass::kVirtualAlias:
            code = cfg().unknown_virtual_alias_reject_code;
            table_name = " in virtual alias table";
            break;
        case AddressClass::kVirtualMailbox:
            code = cfg().unknown_virtual_mailbox_reject_code;
            table_name = " in virtual mailbox table";
            break;
        case AddressClass::kRelay:
            code = cfg().unknown_relay_recipient_reject_code;
            table_name = " in relay recipient table";
            break;
        default:
            break;
        }
        std::string why = std::string("User unknown") + (cfg().show_user_unknown_table_name ? table_name : "");
        return reject(ErrClass::kBounce, code, sender ? "5.1.0" : "5.1.1", rejected(addr, cls, why));
    }

    St check_recipient_rcpt_maps() {
        // receive_override_options = no_unknown_recipient_checks (after a content filter).
        if (cfg().no_unknown_recipient_checks) return St::kDunno;
        if (rcpt_maps_checked || !s.recipient || s.recipient->empty()) return St::kDunno;
        if (warn_if_reject == 0) rcpt_maps_checked = true;
        return check_rcpt_maps(*s.recipient, kClassRecipient);
    }

    St check_sender_rcpt_maps() {
        if (sender_maps_checked || !s.sender || s.sender->empty()) return St::kDunno;
        if (warn_if_reject == 0) sender_maps_checked = true;
        return check_rcpt_maps(*s.sender, kClassSender);
    }

    // The reply is the template rbl_reply_maps gives for the RBL domain, or
    // default_rbl_reply, with Postfix's $rbl_* and client attributes.
    St rbl_reply(std::string_view rbl_domain, const DnsListAnswer& a, std::string_view what, const char* cls) {
        std::string tmpl = cfg().default_rbl_reply;
        for (const auto& spec : cfg().rbl_reply_maps) {
            table::Table* t = get_table(spec);
            if (t == nullptr) return server_error();
            auto r = t->lookup(rbl_domain);
            if (!r) return dict_retry(std::string(what));
            if (*r) {
                tmpl = **r;
                break;
            }
        }
        std::map<std::string, std::string, std::less<>> attr = {
            {"rbl_code", std::to_string(cfg().maps_rbl_reject_code)},
            {"rbl_class", cls},
            {"rbl_what", std::string(what)},
            {"rbl_domain", std::string(rbl_domain)},
            {"rbl_reason", a.txt.substr(0, 500)},
            {"rbl_txt", a.txt.substr(0, 500)},
            {"client", s.namaddr()},
            {"client_address", s.client_addr},
            {"client_name", s.client_name},
            {"reverse_client_name", s.reverse_client_name},
            {"helo_name", s.helo_name.value_or("")},
            {"sender", s.sender.value_or("")},
            {"recipient", s.recipient.value_or("")},
        };
        auto text = config::expand_value(tmpl, [&](std::string_view name) -> std::optional<std::string> {
            auto it = attr.find(name);
            if (it == attr.end() || it->second.empty()) return std::nullopt;
            std::string v;  // literal: a '$' in the TXT record is not expanded
            for (char ch : it->second) v += ch == '$' ? "$$" : std::string(1, ch);
            return v;
        });
        if (!text) {
            log::warn("rbl reply template error: %s", text.error().message.c_str());
            return server_error();
        }
        // "NNN [X.Y.Z] text"; the DSN defaults to X.7.1.
        std::string_view rest = *text;
        int code = 0;
        if (rest.size() >= 3 && std::isdigit(static_cast<unsigned char>(rest[0])) &&
            std::isdigit(static_cast<unsigned char>(rest[1])) && std::isdigit(static_cast<unsigned char>(rest[2]))) {
            code = (rest[0] - '0') * 100 + (rest[1] - '0') * 10 + (rest[2] - '0');
            rest.remove_prefix(3);
        }
        rest = util::trim(rest);
        std::string dsn = "4.7.1";
        if (size_t sp = rest.find(' '); sp != std::string_view::npos && valid_dsn(rest.substr(0, sp))) {
            dsn = std::string(rest.substr(0, sp));
            rest = util::trim(rest.substr(sp + 1));
        }
        return reject(ErrClass::kPolicy, code, dsn, std::string(rest));
    }

    // Looks up "query" in a DNS list given as "domain" or "domain=pattern".
    std::optional<DnsListAnswer> dnsxl(const std::string& prefix, const std::string& list_spec,
                                       std::string* rbl_domain) {
        size_t eq = list_spec.find('=');
        *rbl_domain = list_spec.substr(0, eq);
        if (c.hooks_.dns == nullptr) {
            log::warn("%s: no DNS resolver configured", rbl_domain->c_str());
            return std::nullopt;
        }
        std::string query = prefix + *rbl_domain;
        DnsListAnswer a = c.hooks_.dns->lookup_dnsxl(query);
        if (a.status == DnsStatus::kTempFail) {
            log::warn("%s: RBL lookup error", query.c_str());
            return std::nullopt;
        }
        if (a.status != DnsStatus::kOk) return std::nullopt;
        if (eq != std::string::npos) {
            std::string pattern = list_spec.substr(eq + 1);
            bool any = false;
            for (const auto& ip : a.addresses) any = any || rbl_address_matches(pattern, ip);
            if (!any) return std::nullopt;
        }
        return a;
    }

    // permit_dnswl_client / permit_rhswl_client: a listed client is
    // permitted, but never for a recipient it may not relay to; a DNS
    // failure turns a later reject into a deferral.
    St permit_dnswl(const std::string& list_spec, const std::optional<std::string>& prefix,
                    const std::string& reply_name, const std::string& reply_class) {
        if (!prefix) return St::kDunno;
        if (where == "RCPT" && s.recipient && permit_auth_destination(*s.recipient) != St::kOk) return St::kDunno;
        size_t eq = list_spec.find('=');
        std::string domain = list_spec.substr(0, eq);
        if (c.hooks_.dns == nullptr) return St::kDunno;
        DnsListAnswer a = c.hooks_.dns->lookup_dnsxl(*prefix + domain);
        if (a.status == DnsStatus::kTempFail) {
            set_defer_if_reject(450, "4.7.1", rejected(reply_name, reply_class, "Service unavailable"));
            return St::kDunno;
        }
        if (a.status != DnsStatus::kOk) return St::kDunno;
        if (eq != std::string::npos) {
            bool any = false;
            for (const auto& ip : a.addresses) any = any || rbl_address_matches(list_spec.substr(eq + 1), ip);
            if (!any) return St::kDunno;
        }
        return St::kOk;
    }

    St reject_rbl_addr(const std::string& list_spec, const std::string& addr, const char* cls) {
        auto prefix = reverse_query(addr);
        if (!prefix) return St::kDunno;
        std::string rbl_domain;
        auto a = dnsxl(*prefix, list_spec, &rbl_domain);
        if (!a) return St::kDunno;
        return rbl_reply(rbl_domain, *a, addr, cls);
    }

    St reject_rbl_domain(const std::string& list_spec, std::string what, const char* cls) {
        size_t at = what.rfind('@');
        if (at != std::string::npos) what = what.substr(at + 1);
        if (what.empty() || what.front() == '[') return St::kDunno;
        std::string rbl_domain;
        auto a = dnsxl(util::lowercase(what) + ".", list_spec, &rbl_domain);
        if (!a) return St::kDunno;
        return rbl_reply(rbl_domain, *a, what, cls);
    }

    // ---- the list walker (Postfix's generic_checks) --------------------

    // Takes the table argument of a check_*_access restriction. Returns
    // nullopt (after arranging a server error) when it is missing.
    std::optional<std::string> map_arg(const std::vector<std::string>& list, size_t* i, bool implicit,
                                       std::string_view name) {
        if (implicit) return list[*i];
        if (*i + 1 >= list.size() || list[*i + 1].find(':') == std::string::npos) {
            std::string n(name);
            std::string arg = *i + 1 < list.size() ? list[*i + 1] : "";
            log::warn("restriction %s: bad argument \"%s\": need maptype:mapname", n.c_str(), arg.c_str());
            return std::nullopt;
        }
        *i += 1;
        return list[*i];
    }

    std::optional<std::string> domain_arg(const std::vector<std::string>& list, size_t* i, const std::string& name) {
        if (*i + 1 >= list.size()) {
            log::warn("restriction %s requires domain name argument", name.c_str());
            return std::nullopt;
        }
        *i += 1;
        return list[*i];
    }

    St generic(const std::vector<std::string>& list, std::string_view reply_name_v, std::string_view reply_class_v,
               std::string_view def_acl) {
        const std::string reply_name(reply_name_v);
        const std::string reply_class(reply_class_v);
        int saved_recursion = recursion++;
        St status = St::kDunno;
        for (size_t i = 0; i < list.size(); ++i) {
            if (s.effects.discard) break;
            std::string name = list[i];
            if (iequals(name, "warn_if_reject")) {
                if (warn_if_reject == 0) warn_if_reject = recursion;
                continue;
            }
            bool implicit = false;
            if (name.find(':') != std::string::npos) {
                if (def_acl.empty()) {
                    log::warn("specify one of (%s, %s, %s, %s, %s, %s) before %s restriction \"%s\"",
                              kCheckClientAcl, kCheckReverseClientAcl, kCheckHeloAcl, kCheckSenderAcl,
                              kCheckRecipAcl, kCheckEtrnAcl, reply_class.c_str(), name.c_str());
                    status = server_error();
                    break;
                }
                name = std::string(def_acl);
                implicit = true;
            }
            status = one(list, &i, name, implicit, reply_name, reply_class, def_acl);
            if (warn_if_reject >= recursion) warn_if_reject = 0;
            if (status != St::kDunno) break;
            if (defer_if_permit && defer_if_reject) break;
        }
        recursion = saved_recursion;
        if (warn_if_reject >= recursion) warn_if_reject = 0;
        return status;
    }

    St one(const std::vector<std::string>& list, size_t* i, const std::string& name, bool implicit,
           const std::string& reply_name, const std::string& reply_class, std::string_view def_acl) {
        auto is = [&](const char* n) { return iequals(name, n); };
        auto map = [&]() { return map_arg(list, i, implicit, name); };

        // Generic restrictions.
        if (is("permit")) {
            if (*i + 1 < list.size()) {
                log::warn("restriction `%s' after `%s' is ignored", list[*i + 1].c_str(), "permit");
            }
            return St::kOk;
        }
        if (is("defer")) {
            return reject(ErrClass::kPolicy, cfg().defer_code, "4.3.2",
                          rejected(reply_name, reply_class, "Try again later"));
        }
        if (is("reject")) {
            return reject(ErrClass::kPolicy, cfg().reject_code, "5.7.1",
                          rejected(reply_name, reply_class, "Access denied"));
        }
        if (is("reject_unauth_pipelining")) {
            if (!s.improper_pipelining) return St::kDunno;
            return reject(ErrClass::kProtocol, 503, "5.5.0",
                          rejected(reply_name, reply_class, "Improper use of SMTP command pipelining"));
        }
        if (is("defer_if_permit")) {
            set_defer_if_permit(450, "4.7.0", rejected(reply_name, reply_class, "defer_if_permit requested"));
            return St::kDunno;
        }
        if (is("defer_if_reject")) {
            set_defer_if_reject(450, "4.7.0", rejected(reply_name, reply_class, "defer_if_reject requested"));
            return St::kDunno;
        }
        if (is("reject_plaintext_session")) {
            if (s.tls_active) return St::kDunno;
            return reject(ErrClass::kPolicy, cfg().plaintext_reject_code, "4.7.1", "Session encryption is required");
        }
        // Client name/address restrictions.
        if (is("reject_unknown_client_hostname") || is("reject_unknown_client")) return reject_unknown_client();
        if (is("reject_unknown_reverse_client_hostname")) return reject_unknown_reverse_client();
        if (is("permit_mynetworks")) return s.client_in_mynetworks ? St::kOk : St::kDunno;
        if (is(kCheckClientAcl)) {
            auto t = map();
            if (!t) return server_error();
            return check_client_acl(*t, s.client_name, s.client_addr, s.namaddr(), kClassClient, def_acl);
        }
        if (is(kCheckReverseClientAcl)) {
            auto t = map();
            if (!t) return server_error();
            St st = check_client_acl(*t, s.reverse_client_name, s.client_addr, s.reverse_client_name,
                                     kClassRevClient, def_acl);
            if (st == St::kOk && !s.effects.discard) {
                log::warn("restriction %s returns OK for %s", name.c_str(), s.reverse_client_name.c_str());
                log::warn("this is not allowed for security reasons");
                log::warn("use DUNNO instead of OK if you want to make an exception");
                return server_error();
            }
            return st;
        }
        if (is("reject_rbl_client") || is("reject_rbl")) {
            auto d = domain_arg(list, i, name);
            if (!d) return St::kDunno;
            return reject_rbl_addr(*d, s.client_addr, kClassClient);
        }
        if (is("permit_dnswl_client")) {
            auto d = domain_arg(list, i, name);
            if (!d) return St::kDunno;
            return permit_dnswl(*d, reverse_query(s.client_addr), s.client_addr, kClassClient);
        }
        if (is("permit_rhswl_client")) {
            auto d = domain_arg(list, i, name);
            if (!d || iequals(s.client_name, "unknown")) return St::kDunno;
            return permit_dnswl(*d, util::lowercase(s.client_name) + ".", s.client_name, kClassClient);
        }
        if (is("check_sasl_access")) {
            auto t = map();
            if (!t) return server_error();
            if (s.sasl_username.empty()) return St::kDunno;
            return lookup_keys(*t, {s.sasl_username}, s.sasl_username, printable(s.sasl_username),
                               "SASL login name", def_acl);
        }
        if (is("reject_rhsbl_client")) {
            auto d = domain_arg(list, i, name);
            if (!d || iequals(s.client_name, "unknown")) return St::kDunno;
            return reject_rbl_domain(*d, s.client_name, kClassClient);
        }
        if (is("reject_rhsbl_reverse_client")) {
            auto d = domain_arg(list, i, name);
            if (!d || iequals(s.reverse_client_name, "unknown")) return St::kDunno;
            return reject_rbl_domain(*d, s.reverse_client_name, kClassRevClient);
        }
        // HELO/EHLO restrictions.
        if (is(kCheckHeloAcl)) {
            auto t = map();
            if (!t) return server_error();
            if (!s.helo_name) return St::kDunno;
            return check_domain_acl(*t, *s.helo_name, *s.helo_name, kClassHelo, def_acl);
        }
        if (is("reject_invalid_helo_hostname") || is("reject_invalid_hostname")) {
            return s.helo_name ? reject_invalid_helo() : St::kDunno;
        }
        if (is("reject_unknown_helo_hostname") || is("reject_unknown_hostname")) {
            return s.helo_name ? reject_unknown_helo() : St::kDunno;
        }
        if (is("reject_non_fqdn_helo_hostname") || is("reject_non_fqdn_hostname")) {
            return s.helo_name ? reject_non_fqdn_helo() : St::kDunno;
        }
        if (is("reject_rhsbl_helo")) {
            auto d = domain_arg(list, i, name);
            if (!d || !s.helo_name) return St::kDunno;
            return reject_rbl_domain(*d, *s.helo_name, kClassHelo);
        }
        // Sender restrictions.
        if (is(kCheckSenderAcl)) {
            auto t = map();
            if (!t) return server_error();
            if (!s.sender) return St::kDunno;
            return check_mail_acl(*t, *s.sender, *s.sender, kClassSender, def_acl);
        }
        if (is("reject_unknown_sender_domain") || is("reject_unknown_address")) {
            if (!s.sender || s.sender->empty()) return St::kDunno;
            return reject_unknown_address(*s.sender, kClassSender);
        }
        if (is("reject_non_fqdn_sender")) {
            if (!s.sender || s.sender->empty()) return St::kDunno;
            return reject_non_fqdn_address(*s.sender, kClassSender);
        }
        if (is("reject_rhsbl_sender")) {
            auto d = domain_arg(list, i, name);
            if (!d || !s.sender || s.sender->empty()) return St::kDunno;
            return reject_rbl_domain(*d, *s.sender, kClassSender);
        }
        if (is("reject_unlisted_sender")) return check_sender_rcpt_maps();
        // smtpd_sender_login_maps: who may use a sender address.
        if (is("reject_sender_login_mismatch")) {
            if (!s.sender || s.sender->empty()) return St::kDunno;
            St st = reject_auth_sender_login_mismatch(false);
            return st == St::kDunno ? reject_unauth_sender_login_mismatch() : st;
        }
        if (is("reject_known_sender_login_mismatch")) {
            if (!s.sender || s.sender->empty()) return St::kDunno;
            St st = reject_auth_sender_login_mismatch(true);
            return st == St::kDunno ? reject_unauth_sender_login_mismatch() : st;
        }
        if (is("reject_authenticated_sender_login_mismatch")) {
            if (!s.sender || s.sender->empty()) return St::kDunno;
            return reject_auth_sender_login_mismatch(false);
        }
        if (is("reject_unauthenticated_sender_login_mismatch")) {
            if (!s.sender || s.sender->empty()) return St::kDunno;
            return reject_unauth_sender_login_mismatch();
        }
        // Recipient restrictions.
        if (is(kCheckRecipAcl)) {
            auto t = map();
            if (!t) return server_error();
            if (!s.recipient) return St::kDunno;
            return check_mail_acl(*t, *s.recipient, *s.recipient, kClassRecipient, def_acl);
        }
        if (is("permit_auth_destination")) {
            return s.recipient ? permit_auth_destination(*s.recipient) : St::kDunno;
        }
        if (is("reject_unauth_destination")) {
            if (!s.recipient) return St::kDunno;
            return reject_unauth_destination(*s.recipient, cfg().relay_domains_reject_code, "5.7.1");
        }
        if (is("defer_unauth_destination")) {
            if (!s.recipient) return St::kDunno;
            return reject_unauth_destination(*s.recipient, cfg().relay_domains_reject_code - 100, "4.7.1");
        }
        if (is("permit_sasl_authenticated")) return s.sasl_username.empty() ? St::kDunno : St::kOk;
        if (is("reject_unknown_recipient_domain")) {
            if (!s.recipient) return St::kDunno;
            return reject_unknown_address(*s.recipient, kClassRecipient);
        }
        if (is("reject_non_fqdn_recipient")) {
            if (!s.recipient) return St::kDunno;
            return reject_non_fqdn_address(*s.recipient, kClassRecipient);
        }
        if (is("reject_rhsbl_recipient")) {
            auto d = domain_arg(list, i, name);
            if (!d || !s.recipient) return St::kDunno;
            return reject_rbl_domain(*d, *s.recipient, kClassRecipient);
        }
        if (is("reject_unlisted_recipient") || is("check_recipient_maps")) return check_recipient_rcpt_maps();
        if (is("reject_multi_recipient_bounce")) {
            unsigned already = where == "RCPT" ? 0 : 1;
            if (s.sender && s.sender->empty() && s.rcpt_count > already) {
                return reject(ErrClass::kPolicy, 550, "5.5.3",
                              rejected(reply_name, reply_class, "Multi-recipient bounce"));
            }
            return St::kDunno;
        }
        // ETRN restrictions.
        if (is(kCheckEtrnAcl)) {
            auto t = map();
            if (!t) return server_error();
            if (!s.etrn_domain) return St::kDunno;
            return check_domain_acl(*t, *s.etrn_domain, *s.etrn_domain, kClassEtrn, def_acl);
        }
        // User-defined restriction class (names are case-sensitive, as in Postfix).
        auto cls = cfg().restriction_classes.find(name);
        if (cls != cfg().restriction_classes.end()) {
            if (recursion > kMaxRecursion) {
                log::warn("restriction class %s causes unreasonable recursion", name.c_str());
                return server_error();
            }
            return generic(cls->second, reply_name, reply_class, def_acl);
        }
        // Postfix restrictions that mailroom does not implement yet: say so
        // (the reply is the same as for an unknown name).
        static const char* const kUnsupported[] = {
            "check_policy_service", "reject_unverified_sender", "reject_unverified_recipient",
            "permit_tls_clientcerts", "permit_tls_all_clientcerts", "check_ccert_access",
            "check_client_mx_access", "check_client_ns_access", "check_client_a_access",
            "check_reverse_client_mx_access", "check_reverse_client_ns_access", "check_reverse_client_a_access",
            "check_helo_mx_access", "check_helo_ns_access", "check_helo_a_access", "check_sender_mx_access",
            "check_sender_ns_access", "check_sender_a_access", "check_recipient_mx_access",
            "check_recipient_ns_access", "check_recipient_a_access", "permit_mx_backup", "permit_inet_interfaces",
            "permit_naked_ip_address", "reject_maps_rbl", "check_relay_domains", "sleep"};
        for (const char* u : kUnsupported) {
            if (is(u)) {
                log::warn("smtpd restriction \"%s\" is not supported by this mail system", name.c_str());
                return server_error();
            }
        }
        log::warn("unknown smtpd restriction: \"%s\"", name.c_str());
        return server_error();
    }

    // Runs one list with its stage's reply name and class.
    St run_client() {
        if (cfg().client_restrictions.empty()) return St::kDunno;
        return generic(cfg().client_restrictions, s.namaddr(), kClassClient, kCheckClientAcl);
    }
    St run_helo() {
        if (!s.helo_name || cfg().helo_restrictions.empty()) return St::kDunno;
        return generic(cfg().helo_restrictions, *s.helo_name, kClassHelo, kCheckHeloAcl);
    }
    St run_mail() {
        if (!s.sender) return St::kDunno;
        St st = St::kDunno;
        if (!cfg().sender_restrictions.empty()) {
            st = generic(cfg().sender_restrictions, *s.sender, kClassSender, kCheckSenderAcl);
        }
        if (cfg().reject_unlisted_sender && st != St::kReject && !s.effects.discard && !s.sender->empty()) {
            St u = check_sender_rcpt_maps();
            if (u == St::kReject) st = u;
        }
        return st;
    }
};

Checker::Checker(CheckConfig config, CheckHooks hooks) : config_(std::move(config)), hooks_(std::move(hooks)) {}
Checker::~Checker() = default;

Status Checker::validate() const {
    static const std::vector<std::string> required = {"reject_unauth_destination", "defer_unauth_destination",
                                                      "reject", "defer", "defer_if_permit",
                                                      "check_relay_domains"};
    std::function<bool(const std::vector<std::string>&, int)> has = [&](const std::vector<std::string>& list,
                                                                         int depth) {
        if (depth > kMaxRecursion) return false;
        for (size_t i = 0; i < list.size(); ++i) {
            if (iequals(list[i], "warn_if_reject") && i + 1 < list.size()) {
                ++i;
                continue;
            }
            if (iequals(list[i], "permit")) return false;
            for (const auto& r : required) {
                if (iequals(list[i], r)) return true;
            }
            auto c = config_.restriction_classes.find(list[i]);
            if (c != config_.restriction_classes.end() && has(c->second, depth + 1)) return true;
        }
        return false;
    };
    if (has(config_.recipient_restrictions, 0) || has(config_.relay_restrictions, 0)) return ok_status();
    return make_error(
        "in parameter smtpd_relay_restrictions or smtpd_recipient_restrictions, specify at least one working "
        "instance of: reject_unauth_destination, defer_unauth_destination, reject, defer, defer_if_permit or "
        "check_relay_domains");
}

CheckResult Checker::run_stage(SessionState& state, int stage) {
    static const char* const kWhere[] = {"CONNECT", "HELO", "MAIL", "RCPT", "ETRN", "DATA", "END-OF-MESSAGE", "VRFY"};
    Eval ev(*this, state, kWhere[stage]);
    St st = St::kDunno;

    auto finish = [&](St s) {
        CheckResult r;
        if (s != St::kReject && ev.defer_if_permit) {
            Reply d = *ev.defer_if_permit;
            ev.log_whatsup("reject", d.text());
            r.verdict = Verdict::kReject;
            r.reply = d;
            return r;
        }
        if (s == St::kReject) {
            r.verdict = Verdict::kReject;
            r.reply = ev.reply;
        } else {
            r.verdict = s == St::kOk ? Verdict::kPermit : Verdict::kDunno;
        }
        return r;
    };

    switch (stage) {
    case kStageClient:
        if (config_.delay_reject) return {};
        return finish(ev.run_client());
    case kStageHelo:
        if (config_.delay_reject) return {};
        return finish(ev.run_helo());
    case kStageMail:
        if (config_.delay_reject) return {};
        return finish(ev.run_mail());
    case kStageRcpt: {
        if (!state.recipient) return {};
        // RFC 5321 section 4.5.1: "postmaster" is always accepted.
        if (iequals(*state.recipient, "postmaster")) return CheckResult{Verdict::kPermit, {}};
        if (config_.delay_reject) {
            if ((st = ev.run_client()) == St::kReject) return finish(st);
            if ((st = ev.run_helo()) == St::kReject) return finish(st);
            if ((st = ev.run_mail()) == St::kReject) return finish(st);
        }
        const std::vector<std::string>* order[2] = {&config_.recipient_restrictions, &config_.relay_restrictions};
        if (config_.relay_before_recipient) std::swap(order[0], order[1]);
        st = St::kDunno;
        for (const auto* list : order) {
            st = list->empty() ? St::kDunno
                               : ev.generic(*list, *state.recipient, kClassRecipient, kCheckRecipAcl);
            if (st == St::kReject) break;
        }
        if (st != St::kReject && ev.defer_if_permit) return finish(st);
        if (config_.reject_unlisted_recipient && st != St::kReject && !state.effects.discard) {
            St u = ev.check_recipient_rcpt_maps();
            if (u == St::kReject) st = u;
        }
        return finish(st);
    }
    case kStageEtrn:
        if (!state.etrn_domain) return {};
        if (config_.delay_reject) {
            if ((st = ev.run_client()) == St::kReject) return finish(st);
            if ((st = ev.run_helo()) == St::kReject) return finish(st);
        }
        if (config_.etrn_restrictions.empty()) return finish(St::kDunno);
        return finish(ev.generic(config_.etrn_restrictions, *state.etrn_domain, kClassEtrn, kCheckEtrnAcl));
    case kStageData:
        if (config_.data_restrictions.empty()) return {};
        return finish(ev.generic(config_.data_restrictions, "DATA", kClassData, ""));
    case kStageEod:
        if (config_.end_of_data_restrictions.empty()) return {};
        return finish(ev.generic(config_.end_of_data_restrictions, "END-OF-MESSAGE", kClassEod, ""));
    case kStageVrfy:
        if (!state.recipient || state.recipient->empty()) return {};
        return finish(ev.check_recipient_rcpt_maps());
    default:
        break;
    }
    return {};
}

CheckResult Checker::check_client(SessionState& state) { return run_stage(state, kStageClient); }
CheckResult Checker::check_helo(SessionState& state) { return run_stage(state, kStageHelo); }
CheckResult Checker::check_mail(SessionState& state) { return run_stage(state, kStageMail); }
CheckResult Checker::check_rcpt(SessionState& state) { return run_stage(state, kStageRcpt); }
CheckResult Checker::check_etrn(SessionState& state) { return run_stage(state, kStageEtrn); }
CheckResult Checker::check_data(SessionState& state) { return run_stage(state, kStageData); }
CheckResult Checker::check_end_of_data(SessionState& state) { return run_stage(state, kStageEod); }
CheckResult Checker::check_vrfy(SessionState& state) { return run_stage(state, kStageVrfy); }

namespace {

bool domain_in_list(const std::vector<std::string>& list, std::string_view domain, bool parent_matches) {
    std::string d = util::lowercase(drop_trailing_dot(domain));
    for (const auto& raw : list) {
        if (raw.find(':') != std::string::npos) continue;  // type:table: not handled here
        std::string e = util::lowercase(raw);
        bool dot = !e.empty() && e.front() == '.';
        std::string_view pat = dot ? std::string_view(e).substr(1) : std::string_view(e);
        if (pat.empty()) continue;
        if (!dot && d == pat) return true;
        if ((dot || parent_matches) && d.size() > pat.size() &&
            d.compare(d.size() - pat.size(), pat.size(), pat) == 0 && d[d.size() - pat.size() - 1] == '.') {
            return true;
        }
    }
    return false;
}

}  // namespace

struct DomainLists::Tables {
    // One entry per list, in classify() order; empty Maps: no tables.
    table::Maps lists[4];
    bool failed[4] = {};  // a table of the list could not be opened
    bool may_block = false;
    mutable std::mutex mu;
};

namespace {
constexpr const char* kDomainListNames[4] = {"mydestination", "virtual_alias_domains", "virtual_mailbox_domains",
                                             "relay_domains"};
}

DomainLists DomainLists::from_config(const config::Config& config) {
    DomainLists l;
    auto list = [&](const char* name) {
        Result<std::string> v = config.get(name);
        std::vector<std::string> warnings;
        auto out = table::expand_list_files(v ? util::split_list(*v) : std::vector<std::string>{}, &warnings);
        for (const auto& w : warnings) log::warn("%s: %s", name, w.c_str());
        return out;
    };
    l.mydestination = list("mydestination");
    l.virtual_alias_domains = list("virtual_alias_domains");
    l.virtual_mailbox_domains = list("virtual_mailbox_domains");
    l.relay_domains = list("relay_domains");
    if (auto ifaces = config.get_list("inet_interfaces")) l.own_addresses = util::interface_addresses(*ifaces);
    Result<std::string> parent = config.get("parent_domain_matches_subdomains");
    l.relay_parent_matches_subdomains =
        parent ? table::parent_domain_matches_subdomains(*parent, "relay_domains") : true;
    auto t = std::make_shared<Tables>();
    const std::vector<std::string>* lists[4] = {&l.mydestination, &l.virtual_alias_domains,
                                                &l.virtual_mailbox_domains, &l.relay_domains};
    bool any = false;
    for (int i = 0; i < 4; ++i) {
        std::string specs;
        for (const auto& e : *lists[i]) {
            if (e.find(':') != std::string::npos && e.front() != '[' && e.front() != '!') specs += e + " ";
        }
        if (specs.empty()) continue;
        any = true;
        auto maps = table::Maps::open(specs);
        if (!maps) {
            log::warn("%s: %s", kDomainListNames[i], maps.error().message.c_str());
            t->failed[i] = true;
            continue;
        }
        if (maps->may_block()) t->may_block = true;
        t->lists[i] = std::move(*maps);
    }
    if (any) l.tables = std::move(t);
    return l;
}

bool DomainLists::may_block() const { return tables && tables->may_block; }

AddressClass DomainLists::classify(std::string_view domain) const {
    static constexpr AddressClass kClasses[4] = {AddressClass::kLocal, AddressClass::kVirtualAlias,
                                                 AddressClass::kVirtualMailbox, AddressClass::kRelay};
    const std::vector<std::string>* lists[4] = {&mydestination, &virtual_alias_domains, &virtual_mailbox_domains,
                                                &relay_domains};
    std::string d = util::lowercase(drop_trailing_dot(domain));
    if (util::is_own_address_literal(d, own_addresses)) return AddressClass::kLocal;
    for (int i = 0; i < 4; ++i) {
        bool parent = i == 3 && relay_parent_matches_subdomains;
        if (domain_in_list(*lists[i], d, parent)) return kClasses[i];
        if (!tables) continue;
        if (tables->failed[i]) return AddressClass::kTempFail;
        const table::Maps& maps = tables->lists[i];
        if (maps.empty()) continue;
        std::lock_guard<std::mutex> lock(tables->mu);
        auto found = table::match_keys(table::access_domain_keys(d, parent),
                                       [&maps](std::string_view key) { return maps.lookup(key); });
        if (!found) {
            log::warn("%s lookup of %s: %s", kDomainListNames[i], d.c_str(), found.error().message.c_str());
            return AddressClass::kTempFail;
        }
        if (found->has_value()) return kClasses[i];
    }
    return AddressClass::kDefault;
}

Result<CheckConfig> CheckConfig::from_config(const config::Config& config) {
    CheckConfig c;
    auto list = [&](const char* name, std::vector<std::string>* out) -> Status {
        Result<std::string> v = config.get(name);
        if (!v) return v.error();
        *out = util::split_list(*v);
        return ok_status();
    };
    struct ListParam {
        const char* name;
        std::vector<std::string>* field;
    };
    const ListParam lists[] = {
        {"smtpd_client_restrictions", &c.client_restrictions},
        {"smtpd_helo_restrictions", &c.helo_restrictions},
        {"smtpd_sender_restrictions", &c.sender_restrictions},
        {"smtpd_relay_restrictions", &c.relay_restrictions},
        {"smtpd_recipient_restrictions", &c.recipient_restrictions},
        {"smtpd_data_restrictions", &c.data_restrictions},
        {"smtpd_end_of_data_restrictions", &c.end_of_data_restrictions},
        {"smtpd_etrn_restrictions", &c.etrn_restrictions},
    };
    for (const auto& l : lists) {
        if (Status st = list(l.name, l.field); !st) return st.error();
    }
    if (Status st = list("smtpd_sender_login_maps", &c.sender_login_maps); !st) return st.error();
    if (Status st = list("rbl_reply_maps", &c.rbl_reply_maps); !st) return st.error();
    if (auto v = config.raw("default_rbl_reply")) c.default_rbl_reply = *v;  // expanded per reply
    struct FlagParam {
        const char* name;
        bool* field;
    };
    const FlagParam flags[] = {
        {"smtpd_delay_reject", &c.delay_reject},
        {"smtpd_relay_before_recipient_restrictions", &c.relay_before_recipient},
        {"smtpd_reject_unlisted_recipient", &c.reject_unlisted_recipient},
        {"smtpd_reject_unlisted_sender", &c.reject_unlisted_sender},
        {"show_user_unknown_table_name", &c.show_user_unknown_table_name},
    };
    for (const auto& f : flags) {
        if (Status st = config::read_param(config, f.name, f.field); !st) return st.error();
    }
    struct CodeParam {
        const char* name;
        int* field;
    };
    const CodeParam codes[] = {
        {"reject_code", &c.reject_code},
        {"defer_code", &c.defer_code},
        {"access_map_reject_code", &c.access_map_reject_code},
        {"access_map_defer_code", &c.access_map_defer_code},
        {"relay_domains_reject_code", &c.relay_domains_reject_code},
        {"unknown_client_reject_code", &c.unknown_client_reject_code},
        {"unknown_hostname_reject_code", &c.unknown_hostname_reject_code},
        {"unknown_address_reject_code", &c.unknown_address_reject_code},
        {"invalid_hostname_reject_code", &c.invalid_hostname_reject_code},
        {"non_fqdn_reject_code", &c.non_fqdn_reject_code},
        {"maps_rbl_reject_code", &c.maps_rbl_reject_code},
        {"plaintext_reject_code", &c.plaintext_reject_code},
        {"unknown_local_recipient_reject_code", &c.unknown_local_recipient_reject_code},
        {"unknown_virtual_mailbox_reject_code", &c.unknown_virtual_mailbox_reject_code},
        {"unknown_virtual_alias_reject_code", &c.unknown_virtual_alias_reject_code},
        {"unknown_relay_recipient_reject_code", &c.unknown_relay_recipient_reject_code},
    };
    for (const auto& p : codes) {
        if (Status st = config::read_param(config, p.name, p.field); !st) return st.error();
    }
    Result<std::string> key = config.get("smtpd_null_access_lookup_key");
    if (!key) return key.error();
    c.null_access_lookup_key = *key;
    Result<std::string> origin = config.get("myorigin");
    if (!origin) return origin.error();
    c.myorigin = util::lowercase(util::trim(*origin));
    Result<std::string> parent = config.get("parent_domain_matches_subdomains");
    if (!parent) return parent.error();
    c.access_parent_matches_subdomains = table::parent_domain_matches_subdomains(*parent, "smtpd_access_maps");

    std::vector<std::string> classes;
    if (Status st = list("smtpd_restriction_classes", &classes); !st) return st.error();
    for (const auto& name : classes) {
        Result<std::string> v = config.get(name);
        std::vector<std::string> items = v ? util::split_list(*v) : std::vector<std::string>{};
        if (items.empty()) return make_error("restriction class `" + name + "' needs a definition");
        c.restriction_classes[name] = std::move(items);
    }
    return c;
}

// RecipientTables

struct RecipientTables::Tables {
    struct Class {
        bool configured = false;
        std::optional<table::Maps> maps;  // empty when the tables could not be opened
    };
    Class local, virtual_mailbox, relay;
    Class canonical, recipient_canonical, sender_canonical, virtual_alias;
    std::string recipient_delimiter;
    mutable std::mutex mu;  // check workers share the tables

    Class open_class(const config::Config& cfg, const char* name, bool* may_block) {
        Class c;
        Result<std::string> value = cfg.get(name);
        if (!value || util::trim(*value).empty()) return c;
        c.configured = true;
        auto maps = table::Maps::open(*value);
        if (!maps) {
            log::warn("%s: %s", name, maps.error().message.c_str());
            return c;
        }
        if (maps->may_block()) *may_block = true;
        c.maps = std::move(*maps);
        return c;
    }

    // kFound, kNotFound, kTempFail, or kNoTable for an empty parameter.
    UserLookup find(const Class& c, std::string_view address, bool local) const {
        if (!c.configured) return UserLookup::kNoTable;
        if (!c.maps) return UserLookup::kTempFail;
        std::string key = util::lowercase(address);
        for (const auto& t : c.maps->tables()) {
            table::AddressLookupOptions opts;
            opts.recipient_delimiter = recipient_delimiter;
            opts.domain_is_local = local;
            opts.pattern_table = t->is_pattern();
            table::Table* raw = t.get();
            auto r = table::find_address(key, opts, [raw](std::string_view k) { return raw->lookup(k); });
            if (!r) return UserLookup::kTempFail;
            if (r->has_value()) return UserLookup::kFound;
        }
        return UserLookup::kNotFound;
    }
};

std::shared_ptr<RecipientTables> RecipientTables::open(const config::Config& config) {
    auto out = std::make_shared<RecipientTables>();
    auto t = std::make_shared<Tables>();
    bool block = false;
    t->local = t->open_class(config, "local_recipient_maps", &block);
    t->virtual_mailbox = t->open_class(config, "virtual_mailbox_maps", &block);
    t->relay = t->open_class(config, "relay_recipient_maps", &block);
    t->canonical = t->open_class(config, "canonical_maps", &block);
    t->recipient_canonical = t->open_class(config, "recipient_canonical_maps", &block);
    t->sender_canonical = t->open_class(config, "sender_canonical_maps", &block);
    t->virtual_alias = t->open_class(config, "virtual_alias_maps", &block);
    if (Result<std::string> d = config.get("recipient_delimiter"); d) t->recipient_delimiter = *d;
    out->t_ = std::move(t);
    out->may_block_ = block;
    return out;
}

UserLookup RecipientTables::lookup_user(std::string_view address, AddressClass cls) const {
    const Tables::Class* c = nullptr;
    switch (cls) {
    case AddressClass::kLocal: c = &t_->local; break;
    case AddressClass::kVirtualMailbox: c = &t_->virtual_mailbox; break;
    case AddressClass::kRelay: c = &t_->relay; break;
    default: return UserLookup::kNoTable;
    }
    std::lock_guard<std::mutex> lock(t_->mu);
    return t_->find(*c, address, cls == AddressClass::kLocal);
}

UserLookup RecipientTables::lookup_rewritten(std::string_view address, AddressClass cls, bool sender) const {
    std::lock_guard<std::mutex> lock(t_->mu);
    bool local = cls == AddressClass::kLocal;
    UserLookup result = UserLookup::kNoTable;
    for (const Tables::Class* c : {sender ? &t_->sender_canonical : &t_->recipient_canonical, &t_->canonical,
                                   &t_->virtual_alias}) {
        UserLookup u = t_->find(*c, address, local);
        if (u == UserLookup::kFound || u == UserLookup::kTempFail) return u;
        if (u == UserLookup::kNotFound) result = u;
    }
    return result;
}

void RecipientTables::install(const std::shared_ptr<RecipientTables>& tables, CheckHooks& hooks) {
    if (!hooks.lookup_user) {
        hooks.lookup_user = [tables](std::string_view address, AddressClass cls) {
            return tables->lookup_user(address, cls);
        };
    }
    if (!hooks.lookup_rewritten) {
        hooks.lookup_rewritten = [tables](std::string_view address, AddressClass cls, bool sender) {
            return tables->lookup_rewritten(address, cls, sender);
        };
    }
}

}  // namespace mailroom::smtpd
