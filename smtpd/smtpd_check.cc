// smtpd_check.cc - see smtpd_check.h; the evaluation is described in
// smtpd_check_eval.h.
//
// This part: replies and reject logging, the list walker (Postfix's
// generic_checks) with the table of restriction names, and the stages.
#include "smtpd/smtpd_check_eval.h"

#include <arpa/inet.h>

#include <cctype>
#include <cstdio>
#include <mutex>

#include "lib/config/param_read.h"
#include "lib/config/validate.h"
#include "lib/log/log.h"
#include "lib/table/access_match.h"
#include "lib/table/maps.h"
#include "lib/util/strings.h"

namespace mailroom::smtpd {

using util::iequals;

namespace check_internal {

bool all_digits(std::string_view s) {
    if (s.empty()) return false;
    for (char c : s) {
        if (!std::isdigit(static_cast<unsigned char>(c))) return false;
    }
    return true;
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

}  // namespace check_internal

void Checker::Eval::log_whatsup(std::string_view whatsup, std::string_view text) {
    std::string line = (s.queue_id.empty() ? std::string("NOQUEUE") : s.queue_id) + ": " + std::string(whatsup) +
                       ": " + where + " from " + s.namaddr() + ": " + std::string(text) + ";";
    if (std::string suffix = s.log_suffix(s.recipient); !suffix.empty()) line += " " + suffix;
    line = log::log_printable(line);
    log::info("%s", line.c_str());
    s.effects.log.push_back(std::move(line));
}

std::string Checker::Eval::printable(std::string_view t) {
    std::string out;
    for (char ch : t.substr(0, 510)) {
        unsigned char u = static_cast<unsigned char>(ch);
        out.push_back(u < 0x20 || u == 0x7f ? ' ' : ch);
    }
    return out;
}

St Checker::Eval::reject(ErrClass cls, int code, std::string dsn, const std::string& text) {
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

St Checker::Eval::dict_retry(std::string_view name) {
    return reject(ErrClass::kData, 451, "4.3.0", "<" + std::string(name) + ">: Temporary lookup failure");
}

void Checker::Eval::set_defer_if_permit(int code, const std::string& dsn, const std::string& text) {
    if (defer_if_permit) return;  // keep the first reason
    std::string d = dsn;
    if (!d.empty()) d[0] = static_cast<char>('0' + code / 100);
    defer_if_permit = make_reply(code, d, printable(text));
}

void Checker::Eval::set_defer_if_reject(int code, const std::string& dsn, const std::string& text) {
    if (defer_if_reject) return;
    std::string d = dsn;
    if (!d.empty()) d[0] = static_cast<char>('0' + code / 100);
    defer_if_reject = make_reply(code, d, printable(text));
}

std::string Checker::Eval::rejected(std::string_view name, std::string_view cls, std::string_view why) {
    return "<" + std::string(name) + ">: " + std::string(cls) + " rejected: " + std::string(why);
}

std::optional<std::string> Checker::Eval::map_arg(const std::vector<std::string>& list, size_t* i, bool implicit,
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

std::optional<std::string> Checker::Eval::domain_arg(const std::vector<std::string>& list, size_t* i, const std::string& name) {
    if (*i + 1 >= list.size()) {
        log::warn("restriction %s requires domain name argument", name.c_str());
        return std::nullopt;
    }
    *i += 1;
    return list[*i];
}

St Checker::Eval::generic(const std::vector<std::string>& list, std::string_view reply_name_v, std::string_view reply_class_v,
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

St Checker::Eval::one(const std::vector<std::string>& list, size_t* i, const std::string& name, bool implicit,
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
    // Postfix restrictions that mailroom does not implement yet (the one
    // list is lib/config/validate.cc's): say so; the reply is the same as
    // for an unknown name.
    if (config::restriction_kind(name) == config::RestrictionKind::kUnsupported) {
        log::warn("smtpd restriction \"%s\" is not supported by this mail system", name.c_str());
        return server_error();
    }
    log::warn("unknown smtpd restriction: \"%s\"", name.c_str());
    return server_error();
}

St Checker::Eval::run_client() {
    if (cfg().client_restrictions.empty()) return St::kDunno;
    return generic(cfg().client_restrictions, s.namaddr(), kClassClient, kCheckClientAcl);
}

St Checker::Eval::run_helo() {
    if (!s.helo_name || cfg().helo_restrictions.empty()) return St::kDunno;
    return generic(cfg().helo_restrictions, *s.helo_name, kClassHelo, kCheckHeloAcl);
}

St Checker::Eval::run_mail() {
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


Checker::Checker(CheckConfig config, CheckHooks hooks)
    : config_(std::move(config)),
      hooks_(std::move(hooks)),
      resolver_(config_.resolve, hooks_.classify_domain, hooks_.local_domain) {}
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

}  // namespace mailroom::smtpd
