// imap_mailboxes.cc - see imap_session.h: the authenticated state (RFC 3501
// 6.3): SELECT/EXAMINE (CONDSTORE, QRESYNC), CREATE, DELETE, RENAME,
// SUBSCRIBE, UNSUBSCRIBE, LIST/LSUB (LIST-EXTENDED, LIST-STATUS,
// SPECIAL-USE, CHILDREN), STATUS (STATUS=SIZE), APPEND (UIDPLUS,
// APPENDLIMIT), NAMESPACE, ENABLE, GETQUOTA/GETQUOTAROOT.
#include <algorithm>
#include <ctime>

#include "imapd/imap_session.h"
#include "imapd/mailbox_name.h"
#include "lib/imap/imap_date.h"
#include "lib/imap/imap_string.h"
#include "lib/imap/sequence_set.h"
#include "lib/log/log.h"
#include "lib/util/strings.h"

namespace mailroom::imapd {
namespace {

// LIST pattern match: '*' any characters, '%' any but the separator.
bool match_pattern(std::string_view pat, std::string_view name) {
    if (pat.empty()) return name.empty();
    if (pat[0] == '*' || pat[0] == '%') {
        for (std::size_t i = 0; i <= name.size(); ++i) {
            if (match_pattern(pat.substr(1), name.substr(i))) return true;
            if (i < name.size() && pat[0] == '%' && name[i] == '.') return false;
        }
        return false;
    }
    if (name.empty() || pat[0] != name[0]) return false;
    return match_pattern(pat.substr(1), name.substr(1));
}

bool list_match(const std::string& pattern, const std::string& name) {
    // INBOX is case-insensitive, also as the first component of a pattern.
    if (iequals(name, "INBOX")) {
        std::string p = pattern;
        if (p.size() >= 5 && iequals(p.substr(0, 5), "INBOX")) p = "INBOX" + p.substr(5);
        return match_pattern(p, "INBOX");
    }
    return match_pattern(pattern, name);
}

std::string attrs_text(std::uint32_t a) {
    std::vector<std::string> out;
    if (a & access::kAttrNoselect) out.push_back("\\Noselect");
    if (a & access::kAttrNonExistent) out.push_back("\\NonExistent");
    if (a & access::kAttrHasChildren) out.push_back("\\HasChildren");
    if (a & access::kAttrHasNoChildren) out.push_back("\\HasNoChildren");
    if (a & access::kAttrSubscribed) out.push_back("\\Subscribed");
    if (a & access::kAttrDrafts) out.push_back("\\Drafts");
    if (a & access::kAttrSent) out.push_back("\\Sent");
    if (a & access::kAttrTrash) out.push_back("\\Trash");
    if (a & access::kAttrJunk) out.push_back("\\Junk");
    if (a & access::kAttrArchive) out.push_back("\\Archive");
    return "(" + util::join(out, " ") + ")";
}

// "06-Dec-2026 10:00:00 +0100" (also " 6-Dec-..." and "6-Dec-...") -> UTC seconds.
std::optional<std::time_t> parse_date_time(std::string_view text) {
    static const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    std::string s(text);
    if (s.size() == 25) s.insert(0, "0");
    if (s.size() != 26) return std::nullopt;
    if (s[0] == ' ') s[0] = '0';
    auto num = [&](std::size_t at, std::size_t n, int* out) {
        int v = 0;
        for (std::size_t i = at; i < at + n; ++i) {
            if (s[i] < '0' || s[i] > '9') return false;
            v = v * 10 + (s[i] - '0');
        }
        *out = v;
        return true;
    };
    int day, year, hh, mm, ss, zh, zm;
    if (!num(0, 2, &day) || s[2] != '-' || s[6] != '-' || !num(7, 4, &year) || s[11] != ' ' || !num(12, 2, &hh) ||
        s[14] != ':' || !num(15, 2, &mm) || s[17] != ':' || !num(18, 2, &ss) || s[20] != ' ' ||
        (s[21] != '+' && s[21] != '-') || !num(22, 2, &zh) || !num(24, 2, &zm))
        return std::nullopt;
    int month = -1;
    for (int i = 0; i < 12; ++i)
        if (iequals(std::string_view(s).substr(3, 3), kMonths[i])) month = i;
    if (month < 0 || day < 1 || day > 31 || hh > 23 || mm > 59 || ss > 60 || zm > 59) return std::nullopt;
    const std::int64_t days = imap::days_from_civil(year, static_cast<unsigned>(month + 1), static_cast<unsigned>(day));
    const std::int64_t zone = (s[21] == '-' ? -1 : 1) * (zh * 60 + zm) * 60;
    return static_cast<std::time_t>(days * 86400 + hh * 3600 + mm * 60 + ss - zone);
}

}  // namespace

std::string ImapSession::store_name(const std::string& wire) const {
    if (iequals(wire, "INBOX")) return "INBOX";
    if (!rev2_) return wire;
    auto name = utf8_to_mutf7(wire);
    return name ? *name : wire;
}

std::string ImapSession::wire_name(const std::string& name) const {
    if (!rev2_) return imap::imap_quote(name);
    auto utf8 = mutf7_to_utf8(name);
    return imap::imap_quote(utf8 ? *utf8 : name);
}

void ImapSession::store_error(const std::string& tag, const Error& e, const char* what) {
    using access::MailStore;
    if (e.is(ErrorCode::kNonExistent)) return tagged(tag, std::string("NO [NONEXISTENT] Mailbox doesn't exist: ") + what);
    if (e.is(ErrorCode::kAlreadyExists)) return tagged(tag, "NO [ALREADYEXISTS] Mailbox already exists");
    if (e.is(ErrorCode::kOverQuota)) return tagged(tag, "NO [OVERQUOTA] Quota exceeded (mailbox for user is full)");
    if (e.is(ErrorCode::kLimit)) return tagged(tag, "NO [LIMIT] " + e.message);
    if (e.is(ErrorCode::kCannot)) return tagged(tag, "NO [CANNOT] " + e.message);
    if (e.is(ErrorCode::kExpunged))
        return tagged(tag, "NO [EXPUNGEISSUED] Some of the requested messages no longer exist.");
    log::error("imap(%s): %s: %s", log::log_printable(mail_user_).c_str(), what, e.message.c_str());
    if (e.temporary()) return tagged(tag, "NO [UNAVAILABLE] Internal error occurred. Refer to server log for more information.");
    tagged(tag, "NO [SERVERBUG] Internal error occurred. Refer to server log for more information.");
}

void ImapSession::deselect() {
    if (!folder_) return;
    (void)folder_->flush();
    folder_.reset();
    saved_uids_.clear();
    state_ = State::kAuth;
}

bool ImapSession::authenticated_command(ImapCommand& cmd) {
    const std::string& n = cmd.name;
    if (n == "SELECT" || n == "EXAMINE") cmd_select(cmd, n == "EXAMINE");
    else if (n == "CREATE") cmd_create(cmd);
    else if (n == "DELETE") cmd_delete(cmd);
    else if (n == "RENAME") cmd_rename(cmd);
    else if (n == "SUBSCRIBE" || n == "UNSUBSCRIBE") cmd_subscribe(cmd, n == "SUBSCRIBE");
    else if (n == "LIST" || n == "LSUB") cmd_list(cmd, n == "LSUB");
    else if (n == "STATUS") cmd_status(cmd);
    else if (n == "APPEND") cmd_append(cmd);
    else if (n == "ENABLE") cmd_enable(cmd);
    else if (n == "GETQUOTAROOT" || n == "GETQUOTA" || n == "SETQUOTA") cmd_quota(cmd);
    else if (n == "NAMESPACE") {
        send("* NAMESPACE ((\"\" \".\")) NIL NIL");
        tagged(cmd.tag, "OK Namespace completed.");
    } else if (n == "CHECK" || n == "CLOSE" || n == "UNSELECT" || n == "EXPUNGE" || n == "FETCH" || n == "STORE" ||
               n == "SEARCH" || n == "COPY" || n == "MOVE" || n == "UID" || n == "SORT" || n == "THREAD") {
        bad(cmd.tag, "Error in IMAP command " + n + ": No mailbox selected.");
    } else {
        return false;
    }
    return true;
}

void ImapSession::cmd_select(const ImapCommand& cmd, bool read_only) {
    if (cmd.args.empty() || cmd.args.size() > 2 || !cmd.args[0].is_astring())
        return bad(cmd.tag, "Error in IMAP command " + cmd.name + ": Invalid arguments.");
    // (CONDSTORE) or (QRESYNC (uidvalidity modseq [known-uids]))
    std::optional<std::uint32_t> q_validity;
    std::uint64_t q_modseq = 0;
    std::optional<imap::SequenceSet> q_known;
    if (cmd.args.size() == 2) {
        if (cmd.args[1].type != ImapArg::Type::kList) return bad(cmd.tag, "Error in IMAP command SELECT: Invalid arguments.");
        const auto& l = cmd.args[1].list;
        for (std::size_t i = 0; i < l.size(); ++i) {
            const std::string p = upper(l[i].value);
            if (p == "CONDSTORE") {
                condstore_ = true;
            } else if (p == "QRESYNC" && i + 1 < l.size() && l[i + 1].type == ImapArg::Type::kList) {
                if (!qresync_) return bad(cmd.tag, "Error in IMAP command SELECT: QRESYNC not enabled.");
                const auto& q = l[++i].list;
                if (q.size() < 2) return bad(cmd.tag, "Error in IMAP command SELECT: Invalid QRESYNC parameters.");
                q_validity = static_cast<std::uint32_t>(std::strtoul(q[0].value.c_str(), nullptr, 10));
                q_modseq = std::strtoull(q[1].value.c_str(), nullptr, 10);
                if (q.size() >= 3 && q[2].type == ImapArg::Type::kAtom) q_known = imap::SequenceSet::parse(q[2].value);
            } else {
                return bad(cmd.tag, "Error in IMAP command SELECT: Invalid parameters.");
            }
        }
    }
    if (folder_) {
        deselect();
        if (qresync_ || rev2_) send("* OK [CLOSED] Previous mailbox closed.");
    }
    const std::string name = store_name(cmd.args[0]);
    auto folder = store_->open_folder(name, read_only);
    if (!folder) return store_error(cmd.tag, folder.error(), name.c_str());
    folder_ = std::move(*folder);
    state_ = State::kSelected;
    std::string kw = util::join(folder_->keywords(), " ");
    const std::string sys = "\\Answered \\Flagged \\Deleted \\Seen \\Draft";
    std::string out = "* FLAGS (" + sys + (kw.empty() ? "" : " " + kw) + ")\r\n";
    out += "* OK [PERMANENTFLAGS (" + (read_only ? std::string() : sys + (kw.empty() ? "" : " " + kw) + " \\*") +
           ")] " + (read_only ? "Read-only mailbox." : "Flags permitted.") + "\r\n";
    out += "* " + std::to_string(folder_->count()) + " EXISTS\r\n";
    if (rev2_) out += "* LIST () \".\" " + wire_name(name) + "\r\n";  // RFC 9051 6.3.2
    if (!rev2_) out += "* " + std::to_string(folder_->recent_count()) + " RECENT\r\n";
    if (auto first = folder_->first_unseen(); first && !rev2_)
        out += "* OK [UNSEEN " + std::to_string(*first + 1) + "] First unseen.\r\n";
    out += "* OK [UIDVALIDITY " + std::to_string(folder_->uid_validity()) + "] UIDs valid\r\n";
    out += "* OK [UIDNEXT " + std::to_string(folder_->uid_next()) + "] Predicted next UID\r\n";
    out += "* OK [HIGHESTMODSEQ " + std::to_string(folder_->highest_modseq()) + "] Highest\r\n";
    send_raw(out);
    if (q_validity && *q_validity == folder_->uid_validity()) {
        bool complete = true;
        auto gone = folder_->vanished_since(q_modseq, &complete);
        std::vector<std::uint32_t> vanished;
        const std::uint32_t max_uid = folder_->uid_next() ? folder_->uid_next() - 1 : 0;
        if (complete) {
            for (auto u : gone)
                if (!q_known || q_known->contains(u, max_uid)) vanished.push_back(u);
        } else if (q_known) {
            for (const auto& r : q_known->normalized(max_uid))
                for (std::uint32_t u = r.lo; u <= std::min(r.hi, max_uid) && u != 0; ++u)
                    if (!folder_->find_uid(u)) vanished.push_back(u);
        }
        if (!vanished.empty()) {
            std::string set;
            for (auto u : vanished) set += (set.empty() ? "" : ",") + std::to_string(u);
            send("* VANISHED (EARLIER) " + set);
        }
        std::string flags;
        for (std::size_t i = 0; i < folder_->count(); ++i)
            if (folder_->message(i).modseq > q_modseq) flags += fetch_flags_line(i, true) + "\r\n";
        if (!flags.empty()) send_raw(flags);
    }
    tagged(cmd.tag, read_only ? "OK [READ-ONLY] Examine completed." : "OK [READ-WRITE] Select completed.");
}

void ImapSession::cmd_create(const ImapCommand& cmd) {
    // CREATE name [(USE (\Sent))] (RFC 6154 CREATE-SPECIAL-USE: the use
    // comes from the name here, so only a matching one is accepted).
    if (cmd.args.empty() || cmd.args.size() > 2 || !cmd.args[0].is_astring())
        return bad(cmd.tag, "Error in IMAP command CREATE: Invalid arguments.");
    const std::string name = store_name(cmd.args[0]);
    if (cmd.args.size() == 2) {
        const auto& l = cmd.args[1].list;
        if (l.size() != 2 || !iequals(l[0].value, "USE") || l[1].type != ImapArg::Type::kList)
            return bad(cmd.tag, "Error in IMAP command CREATE: Invalid arguments.");
        std::uint32_t have = access::MailStore::special_use_of(name);
        for (const auto& u : l[1].list) {
            const std::string a = upper(u.value);
            std::uint32_t want = 0;
            if (a == "\\DRAFTS") want = access::kAttrDrafts;
            else if (a == "\\SENT") want = access::kAttrSent;
            else if (a == "\\TRASH") want = access::kAttrTrash;
            else if (a == "\\JUNK") want = access::kAttrJunk;
            else if (a == "\\ARCHIVE") want = access::kAttrArchive;
            if (want == 0 || !(have & want))
                return tagged(cmd.tag, "NO [USEATTR] Special-use is given by the mailbox name on this server.");
        }
    }
    if (auto st = store_->create(name); !st) return store_error(cmd.tag, st.error(), name.c_str());
    if (state_ == State::kSelected && !report_changes()) return;
    tagged(cmd.tag, "OK Create completed.");
}

void ImapSession::cmd_delete(const ImapCommand& cmd) {
    if (cmd.args.size() != 1 || !cmd.args[0].is_astring())
        return bad(cmd.tag, "Error in IMAP command DELETE: Invalid arguments.");
    const std::string name = store_name(cmd.args[0]);
    if (folder_ && folder_->name() == name) {
        deselect();
        if (qresync_ || rev2_) send("* OK [CLOSED] Previous mailbox closed.");
    }
    if (auto st = store_->remove(name); !st) return store_error(cmd.tag, st.error(), name.c_str());
    if (state_ == State::kSelected && !report_changes()) return;
    tagged(cmd.tag, "OK Delete completed.");
}

void ImapSession::cmd_rename(const ImapCommand& cmd) {
    if (cmd.args.size() != 2 || !cmd.args[0].is_astring() || !cmd.args[1].is_astring())
        return bad(cmd.tag, "Error in IMAP command RENAME: Invalid arguments.");
    const std::string from = store_name(cmd.args[0]);
    const std::string to = store_name(cmd.args[1]);
    if (auto st = store_->rename(from, to); !st) return store_error(cmd.tag, st.error(), from.c_str());
    if (state_ == State::kSelected && !report_changes()) return;
    tagged(cmd.tag, "OK Rename completed.");
}

void ImapSession::cmd_subscribe(const ImapCommand& cmd, bool on) {
    if (cmd.args.size() != 1 || !cmd.args[0].is_astring())
        return bad(cmd.tag, "Error in IMAP command " + cmd.name + ": Invalid arguments.");
    const std::string name = store_name(cmd.args[0]);
    auto st = on ? store_->subscribe(name) : store_->unsubscribe(name);
    if (!st) return store_error(cmd.tag, st.error(), name.c_str());
    if (state_ == State::kSelected && !report_changes()) return;
    tagged(cmd.tag, on ? "OK Subscribe completed." : "OK Unsubscribe completed.");
}

void ImapSession::cmd_list(const ImapCommand& cmd, bool lsub) {
    // LIST [(selection)] reference (pattern | (patterns)) [RETURN (options)]
    const auto& a = cmd.args;
    std::size_t i = 0;
    bool sel_subscribed = false, sel_special = false, ret_subscribed = false, ret_children = true;
    std::vector<std::string> want_status;
    bool extended = false;
    if (!lsub && i < a.size() && a[i].type == ImapArg::Type::kList) {
        extended = true;
        for (const auto& o : a[i].list) {
            const std::string v = upper(o.value);
            if (v == "SUBSCRIBED") sel_subscribed = true;
            else if (v == "SPECIAL-USE") sel_special = true;
            else if (v == "REMOTE" || v == "RECURSIVEMATCH") {
            } else return bad(cmd.tag, "Error in IMAP command LIST: Invalid selection option.");
        }
        ++i;
    }
    if (a.size() < i + 2 || !(a[i].is_astring() || a[i].type == ImapArg::Type::kNil))
        return bad(cmd.tag, "Error in IMAP command " + cmd.name + ": Invalid arguments.");
    const std::string reference = a[i].type == ImapArg::Type::kNil ? std::string() : store_name(a[i].value);
    std::vector<std::string> patterns;
    if (a[i + 1].type == ImapArg::Type::kList && !lsub) {
        extended = true;
        for (const auto& p : a[i + 1].list) patterns.push_back(p.value);
    } else {
        patterns.push_back(a[i + 1].value);
    }
    if (rev2_) {  // '*' and '%' are ASCII: a pattern converts as a name does
        for (auto& p : patterns)
            if (auto n = utf8_to_mutf7(p)) p = *n;
    }
    i += 2;
    if (!lsub && i < a.size()) {
        if (i + 2 != a.size() || !iequals(a[i].value, "RETURN") || a[i + 1].type != ImapArg::Type::kList)
            return bad(cmd.tag, "Error in IMAP command LIST: Invalid arguments.");
        const auto& r = a[i + 1].list;
        for (std::size_t k = 0; k < r.size(); ++k) {
            const std::string v = upper(r[k].value);
            if (v == "SUBSCRIBED") ret_subscribed = true;
            else if (v == "CHILDREN" || v == "SPECIAL-USE") ret_children = true;
            else if (v == "STATUS" && k + 1 < r.size() && r[k + 1].type == ImapArg::Type::kList) {
                for (const auto& s : r[++k].list) want_status.push_back(upper(s.value));
            } else return bad(cmd.tag, "Error in IMAP command LIST: Invalid return option.");
        }
    }
    (void)ret_children;
    if (patterns.size() == 1 && patterns[0].empty() && !extended) {
        send(std::string("* ") + (lsub ? "LSUB" : "LIST") + " (\\Noselect) \".\" \"\"");
        tagged(cmd.tag, lsub ? "OK Lsub completed." : "OK List completed.");
        return;
    }
    auto subs = store_->subscriptions();
    if (!subs) return store_error(cmd.tag, subs.error(), "subscriptions");
    auto subscribed = [&](const std::string& name) {
        for (const auto& s : *subs)
            if (s == name || (iequals(s, "INBOX") && name == "INBOX")) return true;
        return false;
    };
    std::string out;
    std::vector<std::string> selectable;
    if (lsub) {
        for (const auto& s : *subs) {
            const std::string full = reference + patterns[0];
            if (!list_match(full, s)) continue;
            out += std::string("* LSUB ") + (store_->exists(s) ? "()" : "(\\Noselect)") + " \".\" " + wire_name(s) +
                   "\r\n";
        }
    } else {
        auto boxes = store_->list(sel_subscribed);
        if (!boxes) return store_error(cmd.tag, boxes.error(), "list");
        for (const auto& b : *boxes) {
            bool hit = false;
            for (const auto& p : patterns)
                if (list_match(reference + p, b.name)) hit = true;
            if (!hit) continue;
            std::uint32_t attrs = b.attrs;
            const bool is_sub = subscribed(b.name);
            if (sel_subscribed && !is_sub) continue;
            if (sel_special && !(attrs & access::kSpecialUseAttrs)) continue;
            if ((sel_subscribed || ret_subscribed) && is_sub) attrs |= access::kAttrSubscribed;
            out += "* LIST " + attrs_text(attrs) + " \".\" " + wire_name(b.name) + "\r\n";
            if (!want_status.empty() && !(attrs & (access::kAttrNoselect | access::kAttrNonExistent))) {
                auto st = store_->status(b.name);
                if (st) out += status_items(b.name, *st, want_status) + "\r\n";
            }
        }
    }
    send_raw(out);
    if (state_ == State::kSelected && !report_changes()) return;
    tagged(cmd.tag, lsub ? "OK Lsub completed." : "OK List completed.");
}

std::string ImapSession::status_items(const std::string& name, const access::MailboxStatus& st,
                                      const std::vector<std::string>& items) const {
    std::vector<std::string> out;
    for (const auto& it : items) {
        if (it == "MESSAGES") out.push_back("MESSAGES " + std::to_string(st.messages));
        else if (it == "RECENT") out.push_back("RECENT " + std::to_string(st.recent));
        else if (it == "UIDNEXT") out.push_back("UIDNEXT " + std::to_string(st.uid_next));
        else if (it == "UIDVALIDITY") out.push_back("UIDVALIDITY " + std::to_string(st.uid_validity));
        else if (it == "UNSEEN") out.push_back("UNSEEN " + std::to_string(st.unseen));
        else if (it == "HIGHESTMODSEQ") out.push_back("HIGHESTMODSEQ " + std::to_string(st.highest_modseq));
        else if (it == "SIZE") out.push_back("SIZE " + std::to_string(st.size));
        else if (it == "DELETED") out.push_back("DELETED " + std::to_string(st.deleted));
    }
    return "* STATUS " + wire_name(name) + " (" + util::join(out, " ") + ")";
}

void ImapSession::cmd_status(const ImapCommand& cmd) {
    if (cmd.args.size() != 2 || !cmd.args[0].is_astring() || cmd.args[1].type != ImapArg::Type::kList ||
        cmd.args[1].list.empty())
        return bad(cmd.tag, "Error in IMAP command STATUS: Invalid arguments.");
    std::vector<std::string> items;
    for (const auto& i : cmd.args[1].list) {
        const std::string v = upper(i.value);
        if (v != "MESSAGES" && v != "RECENT" && v != "UIDNEXT" && v != "UIDVALIDITY" && v != "UNSEEN" &&
            v != "HIGHESTMODSEQ" && v != "SIZE" && v != "DELETED")
            return bad(cmd.tag, "Error in IMAP command STATUS: Invalid status item " + log::log_printable(i.value));
        if (v == "HIGHESTMODSEQ") condstore_ = true;
        items.push_back(v);
    }
    const std::string name = store_name(cmd.args[0]);
    auto st = store_->status(name);
    if (!st) return store_error(cmd.tag, st.error(), name.c_str());
    send(status_items(name, *st, items));
    if (state_ == State::kSelected && !report_changes()) return;
    tagged(cmd.tag, "OK Status completed.");
}

void ImapSession::cmd_append(ImapCommand& cmd) {
    // APPEND mailbox [(flags)] [date-time] literal
    auto& a = cmd.args;
    if (a.size() < 2 || a.size() > 4 || !a[0].is_astring() || a.back().type != ImapArg::Type::kLiteral)
        return bad(cmd.tag, "Error in IMAP command APPEND: Invalid arguments.");
    std::uint8_t flags = 0;
    std::vector<std::string> keywords;
    std::time_t when = 0;
    for (std::size_t i = 1; i + 1 < a.size(); ++i) {
        if (a[i].type == ImapArg::Type::kList) {
            for (const auto& f : a[i].list) {
                const std::string v = upper(f.value);
                if (v == "\\SEEN") flags |= access::kFlagSeen;
                else if (v == "\\ANSWERED") flags |= access::kFlagAnswered;
                else if (v == "\\FLAGGED") flags |= access::kFlagFlagged;
                else if (v == "\\DELETED") flags |= access::kFlagDeleted;
                else if (v == "\\DRAFT") flags |= access::kFlagDraft;
                else if (!f.value.empty() && f.value[0] != '\\' && f.type == ImapArg::Type::kAtom) keywords.push_back(f.value);
                else return bad(cmd.tag, "Error in IMAP command APPEND: Invalid flag " + log::log_printable(f.value));
            }
        } else if (a[i].type == ImapArg::Type::kQuoted) {
            auto t = parse_date_time(a[i].value);
            if (!t) return bad(cmd.tag, "Error in IMAP command APPEND: Invalid date-time.");
            when = *t;
        } else {
            return bad(cmd.tag, "Error in IMAP command APPEND: Invalid arguments.");
        }
    }
    const std::string name = store_name(a[0]);
    const std::string& message = a.back().value;
    if (message.empty()) return tagged(cmd.tag, "NO Can't save a zero byte message.");
    if (!store_->exists(name)) return tagged(cmd.tag, "NO [TRYCREATE] Mailbox doesn't exist: " + name);
    auto r = store_->append(name, message, flags, keywords, when);
    if (!r) return store_error(cmd.tag, r.error(), name.c_str());
    if (state_ == State::kSelected && !report_changes()) return;
    tagged(cmd.tag, "OK [APPENDUID " + std::to_string(r->uid_validity) + " " + std::to_string(r->uid) +
                        "] Append completed.");
}

void ImapSession::cmd_enable(const ImapCommand& cmd) {
    if (cmd.args.empty()) return bad(cmd.tag, "Error in IMAP command ENABLE: Invalid arguments.");
    std::string enabled;
    for (const auto& a : cmd.args) {
        const std::string v = upper(a.value);
        // CONDSTORE may be on already through a CONDSTORE enabling command
        // (RFC 7162 3.1); ENABLE still lists it the first time it is asked for.
        if (v == "CONDSTORE" && !enabled_condstore_) {
            condstore_ = true;
            enabled_condstore_ = true;
            enabled += " CONDSTORE";
        } else if (v == "IMAP4REV2" && !rev2_) {
            rev2_ = true;
            enabled += " IMAP4rev2";
        } else if (v == "QRESYNC" && !qresync_) {
            qresync_ = true;
            condstore_ = true;
            enabled += " QRESYNC";
        }
    }
    send("* ENABLED" + enabled);
    tagged(cmd.tag, "OK Enabled.");
}

void ImapSession::cmd_quota(const ImapCommand& cmd) {
    if (cmd.name == "SETQUOTA") return tagged(cmd.tag, "NO [NOPERM] Quota can't be changed by the user.");
    if (cmd.args.size() != 1 || !cmd.args[0].is_astring())
        return bad(cmd.tag, "Error in IMAP command " + cmd.name + ": Invalid arguments.");
    if (cmd.name == "GETQUOTA" && !cmd.args[0].value.empty())
        return tagged(cmd.tag, "NO [NONEXISTENT] Quota root doesn't exist.");
    auto q = store_->quota();
    if (!q) return store_error(cmd.tag, q.error(), "quota");
    if (cmd.name == "GETQUOTAROOT") {
        const std::string name = store_name(cmd.args[0]);
        if (!store_->exists(name)) return tagged(cmd.tag, "NO [NONEXISTENT] Mailbox doesn't exist: " + name);
        send("* QUOTAROOT " + wire_name(name) + (q->limited ? " \"\"" : ""));
    }
    if (q->limited) {
        std::vector<std::string> res;
        if (q->limits.bytes)
            res.push_back("STORAGE " + std::to_string(q->usage.bytes / 1024) + " " + std::to_string(q->limits.bytes / 1024));
        if (q->limits.count)
            res.push_back("MESSAGE " + std::to_string(q->usage.count) + " " + std::to_string(q->limits.count));
        send("* QUOTA \"\" (" + util::join(res, " ") + ")");
    } else if (cmd.name == "GETQUOTA") {
        return tagged(cmd.tag, "NO [NONEXISTENT] Quota root doesn't exist.");
    }
    if (state_ == State::kSelected && !report_changes()) return;
    tagged(cmd.tag, cmd.name == "GETQUOTA" ? "OK Getquota completed." : "OK Getquotaroot completed.");
}

}  // namespace mailroom::imapd
