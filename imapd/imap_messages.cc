// imap_messages.cc - see imap_session.h: the selected state (RFC 3501 6.4):
// CHECK, CLOSE, UNSELECT, EXPUNGE (UID EXPUNGE), FETCH, STORE
// (UNCHANGEDSINCE), SEARCH (ESEARCH, SEARCHRES), SORT, THREAD, COPY, MOVE
// and their UID forms.
#include <algorithm>

#include "imapd/imap_fetch.h"
#include "imapd/imap_session.h"
#include "lib/imap/fetch_structure.h"
#include "lib/imap/imap_string.h"
#include "lib/imap/search.h"
#include "lib/imap/sequence_set.h"
#include "lib/imap/sort_thread.h"
#include "lib/log/log.h"
#include "lib/util/strings.h"

namespace mailroom::imapd {
namespace {


imap::SearchArg to_search_arg(const ImapArg& a) {
    if (a.type == ImapArg::Type::kList) {
        std::vector<imap::SearchArg> l;
        for (const auto& x : a.list) l.push_back(to_search_arg(x));
        return imap::SearchArg::list_of(std::move(l));
    }
    if (a.is_string()) return imap::SearchArg::string(a.value);
    return imap::SearchArg::atom(a.value);
}

std::string numbers_text(const std::vector<std::uint32_t>& n) {
    std::string out;
    for (auto v : n) {
        out += ' ';
        out += std::to_string(v);
    }
    return out;
}

}  // namespace

std::string ImapSession::flags_text(const access::Message& m) const {
    std::vector<std::string> f;
    if (m.flags & access::kFlagAnswered) f.push_back("\\Answered");
    if (m.flags & access::kFlagFlagged) f.push_back("\\Flagged");
    if (m.flags & access::kFlagDeleted) f.push_back("\\Deleted");
    if (m.flags & access::kFlagSeen) f.push_back("\\Seen");
    if (m.flags & access::kFlagDraft) f.push_back("\\Draft");
    if (m.recent && !rev2_) f.push_back("\\Recent");
    if (m.keywords)
        for (auto& k : folder_->keywords_of(m)) f.push_back(k);
    return "(" + util::join(f, " ") + ")";
}

std::string ImapSession::fetch_flags_line(std::size_t index, bool with_uid) const {
    const auto& m = folder_->message(index);
    std::string s = "* " + std::to_string(index + 1) + " FETCH (";
    if (with_uid) s += "UID " + std::to_string(m.uid) + " ";
    s += "FLAGS " + flags_text(m);
    if (condstore_) s += " MODSEQ (" + std::to_string(m.modseq) + ")";
    return s + ")";
}

void ImapSession::send_expunges(const std::vector<access::FolderChange>& changes) {
    std::string out;
    std::vector<std::uint32_t> vanished;
    for (const auto& c : changes) {
        if (c.kind != access::FolderChange::Kind::kExpunge) continue;
        if (qresync_) vanished.push_back(c.uid);
        else out += "* " + std::to_string(c.seq) + " EXPUNGE\r\n";
    }
    if (!vanished.empty()) out += "* VANISHED " + imap::format_numbers(vanished) + "\r\n";
    if (!out.empty()) send_raw(out);
}

bool ImapSession::resolve_set(const std::string& tag, const ImapArg& arg, bool uid, std::vector<std::size_t>* out) {
    out->clear();
    auto set = arg.type == ImapArg::Type::kAtom ? imap::SequenceSet::parse(arg.value, true) : std::nullopt;
    if (!set) {
        bad(tag, "Error in IMAP command: Invalid messageset");
        return false;
    }
    const auto& msgs = folder_->messages();
    if (set->saved()) {
        for (auto u : saved_uids_)
            if (auto at = folder_->find_uid(u)) out->push_back(*at);
        std::sort(out->begin(), out->end());
        return true;
    }
    const std::uint32_t count = static_cast<std::uint32_t>(msgs.size());
    const std::uint32_t star = uid ? (count ? msgs.back().uid : 0) : count;
    for (const auto& r : set->normalized(star)) {
        const std::uint32_t lo = r.lo, hi = r.hi;
        if (uid) {
            auto first = std::lower_bound(msgs.begin(), msgs.end(), lo,
                                          [](const access::Message& m, std::uint32_t v) { return m.uid < v; });
            for (auto it = first; it != msgs.end() && it->uid <= hi; ++it)
                out->push_back(static_cast<std::size_t>(it - msgs.begin()));
        } else {
            if (lo == 0 || hi > count) {
                bad(tag, "Error in IMAP command: Invalid messageset");
                return false;
            }
            for (std::uint32_t n = lo; n <= hi; ++n) out->push_back(n - 1);
        }
    }
    std::sort(out->begin(), out->end());
    out->erase(std::unique(out->begin(), out->end()), out->end());
    return true;
}

bool ImapSession::selected_command(ImapCommand& cmd) {
    std::string n = cmd.name;
    bool uid = false;
    if (n == "UID") {
        if (cmd.args.empty() || cmd.args[0].type != ImapArg::Type::kAtom) {
            bad(cmd.tag, "Error in IMAP command UID: Invalid arguments.");
            return true;
        }
        uid = true;
        n = upper(cmd.args[0].value);
        cmd.args.erase(cmd.args.begin());
        cmd.name = "UID " + n;
    }
    if (n == "FETCH") cmd_fetch(cmd, uid);
    else if (n == "STORE") cmd_store(cmd, uid);
    else if (n == "SEARCH") cmd_search(cmd, uid);
    else if (n == "SORT" || n == "THREAD") cmd_sort_thread(cmd, uid, n == "THREAD");
    else if (n == "COPY" || n == "MOVE") cmd_copy(cmd, uid, n == "MOVE");
    else if (n == "EXPUNGE") cmd_expunge(cmd, uid);
    else if (uid) bad(cmd.tag, "Error in IMAP command UID: Unknown command " + log::log_printable(n));
    else if (n == "CHECK") {
        if (!report_changes()) return true;
        tagged(cmd.tag, "OK Check completed.");
    } else if (n == "CLOSE") {
        if (!folder_->read_only()) (void)folder_->expunge();
        deselect();
        tagged(cmd.tag, "OK Close completed.");
    } else if (n == "UNSELECT") {
        deselect();
        tagged(cmd.tag, "OK Unselect completed.");
    } else {
        return false;
    }
    return true;
}

void ImapSession::cmd_expunge(const ImapCommand& cmd, bool uid) {
    if (folder_->read_only()) return tagged(cmd.tag, "NO [READ-ONLY] Mailbox is read-only.");
    std::vector<std::uint32_t> uids;
    if (uid) {
        std::vector<std::size_t> idx;
        if (cmd.args.size() != 1) return bad(cmd.tag, "Error in IMAP command UID EXPUNGE: Invalid arguments.");
        if (!resolve_set(cmd.tag, cmd.args[0], true, &idx)) return;
        for (auto i : idx) uids.push_back(folder_->message(i).uid);
    } else if (!cmd.args.empty()) {
        return bad(cmd.tag, "Error in IMAP command EXPUNGE: Invalid arguments.");
    }
    auto r = folder_->expunge(uid ? &uids : nullptr);
    if (!r) return store_error(cmd.tag, r.error(), folder_->name().c_str());
    send_expunges(*r);
    if (!report_changes()) return;
    tagged(cmd.tag, "OK Expunge completed.");
}

void ImapSession::cmd_copy(const ImapCommand& cmd, bool uid, bool move) {
    if (cmd.args.size() != 2 || !cmd.args[1].is_astring())
        return bad(cmd.tag, "Error in IMAP command " + cmd.name + ": Invalid arguments.");
    if (move && folder_->read_only()) return tagged(cmd.tag, "NO [READ-ONLY] Mailbox is read-only.");
    std::vector<std::size_t> idx;
    if (!resolve_set(cmd.tag, cmd.args[0], uid, &idx)) return;
    const std::string dest = store_name(cmd.args[1]);
    if (!store_->exists(dest)) return tagged(cmd.tag, "NO [TRYCREATE] Mailbox doesn't exist: " + dest);
    if (idx.empty()) {
        if (uid && !report_changes()) return;
        return tagged(cmd.tag, move ? "OK No messages found." : "OK No messages found.");
    }
    std::vector<std::uint32_t> uids;
    for (auto i : idx) uids.push_back(folder_->message(i).uid);
    auto r = folder_->copy_to(dest, uids, move);
    if (!r) return store_error(cmd.tag, r.error(), dest.c_str());
    const std::string code = "[COPYUID " + std::to_string(r->dest_uid_validity) + " " +
                             imap::format_numbers(r->source_uids) + " " + imap::format_numbers(r->dest_uids) + "]";
    // (format_numbers sorts; both lists are in the same order and ascending
    // because copy_to numbers the copies in source UID order.)
    if (move) {
        send("* OK " + code + " Moved UIDs.");
        send_expunges(r->expunged);
        if (!report_changes()) return;
        return tagged(cmd.tag, "OK Move completed.");
    }
    if (uid && !report_changes()) return;
    tagged(cmd.tag, "OK " + code + " Copy completed.");
}

void ImapSession::cmd_store(const ImapCommand& cmd, bool uid) {
    // STORE set [(UNCHANGEDSINCE n)] item flags...
    const auto& a = cmd.args;
    std::size_t i = 1;
    std::optional<std::uint64_t> unchanged;
    if (a.size() >= 2 && a[1].type == ImapArg::Type::kList) {
        const auto& m = a[1].list;
        if (m.size() != 2 || !iequals(m[0].value, "UNCHANGEDSINCE"))
            return bad(cmd.tag, "Error in IMAP command STORE: Invalid modifier.");
        unchanged = std::strtoull(m[1].value.c_str(), nullptr, 10);
        condstore_ = true;
        ++i;
    }
    if (a.size() < i + 2 || a[i].type != ImapArg::Type::kAtom)
        return bad(cmd.tag, "Error in IMAP command STORE: Invalid arguments.");
    std::string item = upper(a[i].value);
    bool silent = false;
    if (item.size() > 7 && item.compare(item.size() - 7, 7, ".SILENT") == 0) {
        silent = true;
        item.resize(item.size() - 7);
    }
    access::StoreMode mode;
    if (item == "FLAGS") mode = access::StoreMode::kSet;
    else if (item == "+FLAGS") mode = access::StoreMode::kAdd;
    else if (item == "-FLAGS") mode = access::StoreMode::kRemove;
    else return bad(cmd.tag, "Error in IMAP command STORE: Invalid item " + log::log_printable(a[i].value));
    std::vector<const ImapArg*> flag_args;
    for (std::size_t k = i + 1; k < a.size(); ++k) {
        if (a[k].type == ImapArg::Type::kList)
            for (const auto& f : a[k].list) flag_args.push_back(&f);
        else flag_args.push_back(&a[k]);
    }
    std::uint8_t flags = 0;
    std::vector<std::string> keywords;
    for (const ImapArg* f : flag_args) {
        const std::string v = upper(f->value);
        if (f->type != ImapArg::Type::kAtom) return bad(cmd.tag, "Error in IMAP command STORE: Invalid flag.");
        if (v == "\\SEEN") flags |= access::kFlagSeen;
        else if (v == "\\ANSWERED") flags |= access::kFlagAnswered;
        else if (v == "\\FLAGGED") flags |= access::kFlagFlagged;
        else if (v == "\\DELETED") flags |= access::kFlagDeleted;
        else if (v == "\\DRAFT") flags |= access::kFlagDraft;
        else if (v == "\\RECENT") {
        } else if (v[0] == '\\') return bad(cmd.tag, "Error in IMAP command STORE: Invalid system flag " + log::log_printable(f->value));
        else keywords.push_back(f->value);
    }
    std::vector<std::size_t> idx;
    if (!resolve_set(cmd.tag, a[0], uid, &idx)) return;
    if (folder_->read_only()) return tagged(cmd.tag, "NO [READ-ONLY] Mailbox is read-only.");
    std::vector<std::uint32_t> uids;
    for (auto k : idx) uids.push_back(folder_->message(k).uid);
    auto r = folder_->store(uids, mode, flags, keywords, unchanged);
    if (!r) return store_error(cmd.tag, r.error(), folder_->name().c_str());
    std::string out;
    if (!silent || unchanged) {
        std::vector<std::uint32_t> show = silent ? r->changed : uids;
        for (auto u : show) {
            if (std::find(r->failed.begin(), r->failed.end(), u) != r->failed.end()) continue;
            if (auto at = folder_->find_uid(u)) out += fetch_flags_line(*at, uid) + "\r\n";
        }
    }
    if (!out.empty()) send_raw(out);
    if (uid && !report_changes()) return;
    if (!r->failed.empty()) {
        std::vector<std::uint32_t> failed = r->failed;
        if (!uid) {
            failed.clear();
            for (auto u : r->failed)
                if (auto at = folder_->find_uid(u)) failed.push_back(static_cast<std::uint32_t>(*at + 1));
        }
        return tagged(cmd.tag, "OK [MODIFIED " + imap::format_numbers(failed) + "] Conditional store failed.");
    }
    if (!r->gone.empty()) return tagged(cmd.tag, "NO [EXPUNGEISSUED] Some of the requested messages no longer exist.");
    tagged(cmd.tag, "OK Store completed.");
}

namespace {

// SEARCH's metadata of message i of the view.
imap::MessageMeta meta_of(const access::MailFolder& f, std::size_t i, const std::vector<std::string>& kwnames) {
    const auto& m = f.message(i);
    imap::MessageMeta meta;
    meta.seq = static_cast<std::uint32_t>(i + 1);
    meta.uid = m.uid;
    meta.flags = m.flags;  // the same bit order as lib/imap's kFlag*
    if (m.recent) meta.flags |= imap::kFlagRecent;
    for (std::size_t k = 0; k < kwnames.size() && k < 32; ++k)
        if (m.keywords & (1u << k)) meta.keywords.push_back(kwnames[k]);
    meta.internal_date = m.internal_date;
    meta.size = m.rfc822_size ? m.rfc822_size : m.size;
    meta.modseq = m.modseq;
    return meta;
}

// The view indexes of the messages `program` matches; `metas` gets every
// message's metadata (SORT and THREAD reuse it).
std::vector<std::size_t> search_folder(access::MailFolder& folder, const imap::SearchKey& program,
                                       const std::vector<std::uint32_t>& saved_uids,
                                       std::vector<imap::MessageMeta>* metas) {
    imap::SearchContext ctx;
    ctx.max_seq = static_cast<std::uint32_t>(folder.count());
    ctx.max_uid = folder.count() ? folder.messages().back().uid : 0;
    ctx.saved_uids = saved_uids;
    const auto kw = folder.keywords();
    metas->clear();
    metas->reserve(folder.count());
    for (std::size_t k = 0; k < folder.count(); ++k) metas->push_back(meta_of(folder, k, kw));
    std::string text;
    return imap::search_messages(program, ctx, *metas, [&](std::size_t k) -> std::string_view {
        auto t = folder.read_message(folder.message(k).uid);
        text = t ? std::move(*t) : std::string();
        return text;
    });
}

}  // namespace

void ImapSession::cmd_search(const ImapCommand& cmd, bool uid) {
    // SEARCH [RETURN (options)] [CHARSET name] keys
    const auto& a = cmd.args;
    std::size_t i = 0;
    bool esearch = false, r_min = false, r_max = false, r_count = false, r_all = false, r_save = false;
    if (i + 1 < a.size() && a[i].type == ImapArg::Type::kAtom && iequals(a[i].value, "RETURN") &&
        a[i + 1].type == ImapArg::Type::kList) {
        esearch = true;
        for (const auto& o : a[i + 1].list) {
            const std::string v = upper(o.value);
            if (v == "MIN") r_min = true;
            else if (v == "MAX") r_max = true;
            else if (v == "COUNT") r_count = true;
            else if (v == "ALL") r_all = true;
            else if (v == "SAVE") r_save = true;
            else return bad(cmd.tag, "Error in IMAP command SEARCH: Unknown return option " + log::log_printable(o.value));
        }
        if (!r_min && !r_max && !r_count && !r_save) r_all = true;
        i += 2;
    } else if (rev2_) {  // RFC 9051 6.4.4: ESEARCH replaces SEARCH, RETURN (ALL) by default
        esearch = r_all = true;
    }
    if (i + 1 < a.size() && a[i].type == ImapArg::Type::kAtom && iequals(a[i].value, "CHARSET")) {
        if (!imap::search_charset_supported(a[i + 1].value))
            return tagged(cmd.tag, "NO [BADCHARSET (UTF-8 US-ASCII)] Unsupported charset");
        i += 2;
    }
    std::vector<imap::SearchArg> sargs;
    for (; i < a.size(); ++i) sargs.push_back(to_search_arg(a[i]));
    if (sargs.empty()) return bad(cmd.tag, "Error in IMAP command SEARCH: Missing search parameters");
    auto built = imap::build_search(sargs);
    if (!built.key) return bad(cmd.tag, "Error in IMAP command SEARCH: " + built.error);
    std::vector<imap::MessageMeta> metas;
    auto hits = search_folder(*folder_, *built.key, saved_uids_, &metas);
    const bool modseq = built.key->has_modseq();
    if (modseq) condstore_ = true;
    std::vector<std::uint32_t> nums;
    std::uint64_t highest = 0;
    for (auto k : hits) {
        nums.push_back(uid ? folder_->message(k).uid : static_cast<std::uint32_t>(k + 1));
        highest = std::max(highest, folder_->message(k).modseq);
    }
    if (r_save) {
        saved_uids_.clear();
        for (auto k : hits) saved_uids_.push_back(folder_->message(k).uid);
    }
    if (!esearch) {
        std::string line = "* SEARCH" + numbers_text(nums);
        if (modseq && !nums.empty()) line += " (MODSEQ " + std::to_string(highest) + ")";
        send(line);
    } else if (r_min || r_max || r_count || r_all) {
        std::string line = "* ESEARCH (TAG " + imap::imap_quote(cmd.tag) + ")";
        if (uid) line += " UID";
        if (r_min && !nums.empty()) line += " MIN " + std::to_string(nums.front());
        if (r_max && !nums.empty()) line += " MAX " + std::to_string(nums.back());
        if (r_count) line += " COUNT " + std::to_string(nums.size());
        if (r_all && !nums.empty()) line += " ALL " + imap::format_numbers(nums);
        if (modseq && !nums.empty()) line += " MODSEQ " + std::to_string(highest);
        send(line);
    }
    if (uid && !report_changes()) return;
    tagged(cmd.tag, "OK Search completed.");
}

void ImapSession::cmd_sort_thread(const ImapCommand& cmd, bool uid, bool thread) {
    // SORT (criteria) charset keys / THREAD algorithm charset keys
    const auto& a = cmd.args;
    if (a.size() < 3) return bad(cmd.tag, "Error in IMAP command " + cmd.name + ": Invalid arguments.");
    std::vector<imap::SortCriterion> criteria;
    std::optional<imap::ThreadAlgorithm> algorithm;
    if (thread) {
        algorithm = imap::parse_thread_algorithm(a[0].value);
        if (!algorithm) return bad(cmd.tag, "Error in IMAP command THREAD: Unknown thread algorithm");
    } else {
        auto c = a[0].type == ImapArg::Type::kList ? imap::parse_sort_criteria(to_search_arg(a[0])) : std::nullopt;
        if (!c) return bad(cmd.tag, "Error in IMAP command SORT: Invalid sort criteria");
        criteria = std::move(*c);
    }
    if (!imap::search_charset_supported(a[1].value))
        return tagged(cmd.tag, "NO [BADCHARSET (UTF-8 US-ASCII)] Unsupported charset");
    std::vector<imap::SearchArg> sargs;
    for (std::size_t i = 2; i < a.size(); ++i) sargs.push_back(to_search_arg(a[i]));
    auto built = imap::build_search(sargs);
    if (!built.key) return bad(cmd.tag, "Error in IMAP command " + cmd.name + ": " + built.error);
    std::vector<imap::MessageMeta> metas;
    auto hits = search_folder(*folder_, *built.key, saved_uids_, &metas);
    std::vector<imap::SortItem> items;
    items.reserve(hits.size());
    for (auto k : hits) {
        auto t = folder_->read_message(folder_->message(k).uid);
        imap::SortItem item;
        item.meta = metas[k];
        item.keys = imap::sort_keys_of(t ? std::string_view(*t) : std::string_view(), item.meta);
        items.push_back(std::move(item));
    }
    if (thread) {
        send("* THREAD " + imap::thread_messages(*algorithm, items, uid));
    } else {
        std::vector<std::uint32_t> nums;
        for (auto k : imap::sort_messages(criteria, items)) nums.push_back(uid ? items[k].meta.uid : items[k].meta.seq);
        send("* SORT" + numbers_text(nums));
    }
    if (uid && !report_changes()) return;
    tagged(cmd.tag, thread ? "OK Thread completed." : "OK Sort completed.");
}

}  // namespace mailroom::imapd
