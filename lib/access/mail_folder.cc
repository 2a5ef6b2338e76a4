// mail_folder.cc - see mail_folder.h.
#include "lib/access/mail_folder.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <unordered_set>

#include "lib/access/folder_sync.h"
#include "lib/access/mail_store_internal.h"
#include "lib/access/uidlist.h"
#include "lib/log/log.h"
#include "lib/mailbox/maildir_folder.h"
#include "lib/mailbox/maildir_name.h"
#include "lib/mailbox/maildir_quota.h"
#include "lib/mailbox/sys_error.h"
#include "lib/util/fs.h"

namespace mailroom::access {
namespace {

Error read_only_error() { return make_coded_error(ErrorCode::kCannot, "Mailbox is read-only"); }

Error expunged_error() { return make_coded_error(ErrorCode::kExpunged, "Message was expunged"); }

}  // namespace

std::uint8_t flags_from_info(std::string_view info_flags, std::uint32_t* keywords, std::string* other) {
    std::uint8_t flags = 0;
    *keywords = 0;
    other->clear();
    for (char c : info_flags) {
        switch (c) {
            case 'S': flags |= kFlagSeen; break;
            case 'R': flags |= kFlagAnswered; break;
            case 'F': flags |= kFlagFlagged; break;
            case 'T': flags |= kFlagDeleted; break;
            case 'D': flags |= kFlagDraft; break;
            default:
                if (c >= 'a' && c <= 'z') {
                    *keywords |= 1u << (c - 'a');
                } else if (other->find(c) == std::string::npos) {
                    *other += c;
                }
        }
    }
    return flags;
}

std::string info_from_flags(std::uint8_t flags, std::uint32_t keywords, std::string_view other) {
    std::string letters(other);
    if (flags & kFlagDraft) letters += 'D';
    if (flags & kFlagFlagged) letters += 'F';
    if (flags & kFlagAnswered) letters += 'R';
    if (flags & kFlagSeen) letters += 'S';
    if (flags & kFlagDeleted) letters += 'T';
    for (int i = 0; i < 26; ++i)
        if (keywords & (1u << i)) letters += static_cast<char>('a' + i);
    return mailbox::normalize_maildir_flags(letters);
}

Message message_from_record(const IndexRecord& r) {
    Message m;
    m.uid = r.uid;
    const auto name = mailbox::parse_maildir_name(r.filename);
    m.base = name.base;
    m.filename = r.filename;
    m.in_new = r.in_new;
    m.flags = flags_from_info(name.flags, &m.keywords, &m.other_flags);
    m.size = r.size;
    m.rfc822_size = r.rfc822_size;
    m.internal_date = r.internal_date;
    m.modseq = r.modseq;
    return m;
}

MailFolder::~MailFolder() {
    if (state_ != nullptr) (void)flush();
}

const std::string& MailFolder::dir() const { return state_->dir(); }

std::uint32_t MailFolder::uid_validity() const { return state_->index().uid_validity; }
std::uint32_t MailFolder::uid_next() const { return state_->index().uid_next; }
std::uint64_t MailFolder::highest_modseq() const { return state_->index().highest_modseq; }

std::optional<std::size_t> MailFolder::find_uid(std::uint32_t uid) const {
    auto it = std::lower_bound(view_.begin(), view_.end(), uid,
                               [](const Message& m, std::uint32_t u) { return m.uid < u; });
    if (it == view_.end() || it->uid != uid) return std::nullopt;
    return static_cast<std::size_t>(it - view_.begin());
}

std::size_t MailFolder::recent_count() const {
    return static_cast<std::size_t>(std::count_if(view_.begin(), view_.end(), [](const Message& m) { return m.recent; }));
}

std::size_t MailFolder::unseen_count() const {
    return static_cast<std::size_t>(
        std::count_if(view_.begin(), view_.end(), [](const Message& m) { return (m.flags & kFlagSeen) == 0; }));
}

std::optional<std::size_t> MailFolder::first_unseen() const {
    for (std::size_t i = 0; i < view_.size(); ++i)
        if ((view_[i].flags & kFlagSeen) == 0) return i;
    return std::nullopt;
}

std::vector<std::string> MailFolder::keywords() const {
    std::vector<std::string> out;
    for (const auto& k : state_->keywords())
        if (!k.empty()) out.push_back(k);
    return out;
}

std::vector<std::string> MailFolder::keywords_of(const Message& m) const { return state_->keyword_names(m.keywords); }

bool MailFolder::can_add_keyword(std::string_view keyword) const {
    std::size_t used = 0;
    for (const auto& k : state_->keywords()) {
        if (k == keyword) return true;
        used += k.empty() ? 0 : 1;
    }
    return used < kMaxKeywords;
}

Message MailFolder::make_message(std::uint32_t uid) const {
    return message_from_record(*state_->find(uid));
}

Result<FolderLock> MailFolder::lock_and_refresh() {
    auto held = state_->lock();
    if (!held) return held.error();
    RefreshOptions opts;
    opts.move_new = !read_only_;
    opts.take_recent = !read_only_;
    auto claimed = state_->refresh(opts);
    if (!claimed) return claimed.error();
    pending_recent_.insert(pending_recent_.end(), claimed->begin(), claimed->end());
    return held;
}

Result<std::vector<FolderChange>> MailFolder::sync() {
    {
        auto held = lock_and_refresh();
        if (!held) return held.error();
        if (auto st = state_->save(); !st) log::warn("%s", st.error().message.c_str());
    }
    std::vector<FolderChange> changes;
    const auto& index = state_->index();
    if (view_uid_validity_ != 0 && index.uid_validity != view_uid_validity_) {
        changes.push_back(FolderChange{FolderChange::Kind::kUidValidity, 0, 0});
        return changes;
    }
    view_uid_validity_ = index.uid_validity;
    std::unordered_set<std::uint32_t> recent(pending_recent_.begin(), pending_recent_.end());
    std::vector<Message> next;
    next.reserve(index.records.size());
    std::vector<std::uint32_t> flag_uids;
    for (auto& m : view_) {
        const IndexRecord* r = state_->find(m.uid);
        if (r == nullptr) {
            changes.push_back(FolderChange{FolderChange::Kind::kExpunge, static_cast<std::uint32_t>(next.size() + 1), m.uid});
            continue;
        }
        if (r->modseq != m.modseq || r->filename != m.filename || r->in_new != m.in_new ||
            r->rfc822_size != m.rfc822_size) {
            Message updated = message_from_record(*r);
            updated.recent = m.recent;
            if (updated.modseq != m.modseq) flag_uids.push_back(m.uid);
            m = std::move(updated);
        }
        next.push_back(std::move(m));
    }
    const std::uint32_t last = next.empty() ? 0 : next.back().uid;
    bool added = false;
    for (const auto& r : index.records) {
        if (r.uid <= last) continue;
        Message m = message_from_record(r);
        m.recent = read_only_ ? r.uid >= index.first_recent_uid : recent.count(r.uid) != 0;
        next.push_back(std::move(m));
        added = true;
    }
    pending_recent_.clear();
    view_ = std::move(next);
    if (added) changes.push_back(FolderChange{FolderChange::Kind::kExists, static_cast<std::uint32_t>(view_.size()), 0});
    for (std::uint32_t uid : flag_uids) {
        if (auto i = find_uid(uid))
            changes.push_back(FolderChange{FolderChange::Kind::kFlags, static_cast<std::uint32_t>(*i + 1), uid});
    }
    return changes;
}

Result<StoreResult> MailFolder::store(const std::vector<std::uint32_t>& uids, StoreMode mode, std::uint8_t flags,
                                      const std::vector<std::string>& keywords,
                                      std::optional<std::uint64_t> unchanged_since) {
    if (read_only_) return read_only_error();
    auto held = lock_and_refresh();
    if (!held) return held.error();
    std::uint32_t kw = 0;
    if (mode == StoreMode::kRemove) {
        for (const auto& name : keywords)
            for (std::size_t i = 0; i < state_->keywords().size(); ++i)
                if (state_->keywords()[i] == name) kw |= 1u << i;
    } else {
        auto bits = state_->keyword_bits(keywords);
        if (!bits) return bits.error();
        kw = *bits;
    }
    StoreResult result;
    for (std::uint32_t uid : uids) {
        IndexRecord* r = state_->find(uid);
        if (r == nullptr) {
            result.gone.push_back(uid);
            continue;
        }
        if (unchanged_since && r->modseq > *unchanged_since) {
            result.failed.push_back(uid);
            continue;
        }
        const auto name = mailbox::parse_maildir_name(r->filename);
        std::uint32_t old_kw = 0;
        std::string other;
        const std::uint8_t old_flags = flags_from_info(name.flags, &old_kw, &other);
        std::uint8_t new_flags = old_flags;
        std::uint32_t new_kw = old_kw;
        switch (mode) {
            case StoreMode::kSet: new_flags = flags; new_kw = kw; break;
            case StoreMode::kAdd: new_flags |= flags; new_kw |= kw; break;
            case StoreMode::kRemove: new_flags &= static_cast<std::uint8_t>(~flags); new_kw &= ~kw; break;
        }
        if (new_flags == old_flags && new_kw == old_kw && !r->in_new) continue;
        const std::string to_name = mailbox::format_maildir_name(name.base, info_from_flags(new_flags, new_kw, other));
        const std::string from = state_->path_of(*r);
        const std::string to = state_->dir() + "/cur/" + to_name;
        if (from != to && ::rename(from.c_str(), to.c_str()) != 0) {
            if (errno == ENOENT) {
                result.gone.push_back(uid);
                continue;
            }
            return mailbox::sys_error("rename", from, errno);
        }
        r->filename = to_name;
        r->in_new = false;
        state_->mark_dirty();
        if (new_flags == old_flags && new_kw == old_kw) continue;
        r->modseq = state_->next_modseq();
        result.changed.push_back(uid);
        if (auto i = find_uid(uid)) {
            Message m = message_from_record(*r);
            m.recent = view_[*i].recent;
            view_[*i] = std::move(m);
        }
    }
    if (auto st = state_->save(); !st) return st.error();
    return result;
}

std::vector<FolderChange> MailFolder::remove_from_view(const std::vector<std::uint32_t>& uids) {
    std::unordered_set<std::uint32_t> gone(uids.begin(), uids.end());
    std::vector<FolderChange> events;
    std::vector<Message> kept;
    kept.reserve(view_.size());
    for (auto& m : view_) {
        if (gone.count(m.uid) != 0) {
            events.push_back(FolderChange{FolderChange::Kind::kExpunge, static_cast<std::uint32_t>(kept.size() + 1), m.uid});
        } else {
            kept.push_back(std::move(m));
        }
    }
    view_ = std::move(kept);
    return events;
}

Result<std::vector<FolderChange>> MailFolder::expunge(const std::vector<std::uint32_t>* uids) {
    if (read_only_) return read_only_error();
    auto held = lock_and_refresh();
    if (!held) return held.error();
    std::unordered_set<std::uint32_t> only;
    if (uids != nullptr) only.insert(uids->begin(), uids->end());
    std::vector<std::uint32_t> removed;
    std::int64_t bytes = 0;
    for (const auto& m : view_) {
        if (uids != nullptr && only.count(m.uid) == 0) continue;
        const IndexRecord* r = state_->find(m.uid);
        if (r == nullptr) continue;  // gone already: sync() reports it
        std::uint32_t kw = 0;
        std::string other;
        if ((flags_from_info(mailbox::parse_maildir_name(r->filename).flags, &kw, &other) & kFlagDeleted) == 0) continue;
        const std::string path = state_->path_of(*r);
        if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
            log::warn("unlink %s: %s", path.c_str(), std::strerror(errno));
            continue;
        }
        bytes += static_cast<std::int64_t>(r->size);
        removed.push_back(m.uid);
    }
    if (!removed.empty()) {
        state_->drop(removed, state_->next_modseq());
        if (auto st = state_->save(); !st) log::warn("%s", st.error().message.c_str());
        if (auto st = mailbox::append_quota_delta(ctx_->maildir, -bytes, -static_cast<std::int64_t>(removed.size())); !st)
            log::warn("%s", st.error().message.c_str());
    }
    return remove_from_view(removed);
}

Result<CopyResult> MailFolder::copy_to(std::string_view dest, const std::vector<std::uint32_t>& uids, bool move) {
    if (move && read_only_) return read_only_error();
    auto dest_dir = mailbox::folder_path(ctx_->maildir, dest);
    if (!dest_dir) return make_coded_error(ErrorCode::kNonExistent, "Mailbox doesn't exist: " + std::string(dest));
    std::unique_ptr<FolderState> other;
    FolderState* target = state_.get();
    if (*dest_dir != state_->dir()) {
        auto opened = FolderState::open(ctx_, *dest_dir);
        if (!opened) return opened.error();
        other = std::move(*opened);
        target = other.get();
    }
    auto held = lock_and_refresh();
    if (!held) return held.error();
    std::vector<IndexRecord> sources;
    std::uint64_t total = 0;
    for (std::uint32_t uid : uids) {
        if (const IndexRecord* r = state_->find(uid)) {
            sources.push_back(*r);
            total += r->size;
        }
    }
    if (!move && !sources.empty()) {
        if (auto st = check_quota(*ctx_, total, sources.size()); !st) return st.error();
    }
    auto dest_held = target->lock();
    if (!dest_held) return dest_held.error();
    if (auto st = target->refresh(RefreshOptions{}); !st) return st.error();
    CopyResult result;
    std::vector<std::string> new_names;
    std::vector<std::uint32_t> moved;
    std::int64_t copied_bytes = 0;
    for (const auto& r : sources) {
        const auto name = mailbox::parse_maildir_name(r.filename);
        std::uint32_t kw = 0;
        std::string other_letters;
        const std::uint8_t flags = flags_from_info(name.flags, &kw, &other_letters);
        std::uint32_t dest_kw = 0;
        if (kw != 0) {
            auto bits = target->keyword_bits(state_->keyword_names(kw));
            if (!bits) return bits.error();
            dest_kw = *bits;
        }
        const std::string base = new_message_base(*ctx_, r.size, r.rfc822_size);
        const std::string to_name = mailbox::format_maildir_name(base, info_from_flags(flags, dest_kw, other_letters));
        const std::string to = target->dir() + "/cur/" + to_name;
        auto placed = place_file(*ctx_, state_->path_of(r), target->dir(), to, move);
        if (!placed) return placed.error();
        if (!*placed) continue;  // the source is gone
        result.source_uids.push_back(r.uid);
        new_names.push_back(to_name);
        if (move) moved.push_back(r.uid);
        copied_bytes += static_cast<std::int64_t>(r.size);
    }
    auto dest_uids = target->add_files(new_names);
    if (!dest_uids) return dest_uids.error();
    result.dest_uids = std::move(*dest_uids);
    result.dest_uid_validity = target->index().uid_validity;
    if (!moved.empty()) state_->drop(moved, state_->next_modseq());
    if (target != state_.get()) {
        if (auto st = target->save(); !st) log::warn("%s", st.error().message.c_str());
    }
    if (auto st = state_->save(); !st) log::warn("%s", st.error().message.c_str());
    if (!move && copied_bytes > 0) {
        if (auto st = mailbox::append_quota_delta(ctx_->maildir, copied_bytes,
                                                  static_cast<std::int64_t>(result.source_uids.size()));
            !st)
            log::warn("%s", st.error().message.c_str());
    }
    if (move) result.expunged = remove_from_view(moved);
    return result;
}

Result<util::UniqueFd> MailFolder::open_message(std::uint32_t uid) {
    for (int attempt = 0; attempt < 2; ++attempt) {
        if (const IndexRecord* r = state_->find(uid)) {
            const std::string path = state_->path_of(*r);
            int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
            if (fd >= 0) return util::UniqueFd(fd);
            if (errno != ENOENT) return mailbox::sys_error("open", path, errno);
        } else if (attempt == 0 && !find_uid(uid)) {
            return expunged_error();
        }
        if (attempt == 0) {
            // Renamed by another session (flags) or expunged: look again.
            auto held = state_->lock();
            if (!held) return held.error();
            RefreshOptions opts;
            opts.force_scan = true;
            auto claimed = state_->refresh(opts);
            if (!claimed) return claimed.error();
            if (auto st = state_->save(); !st) log::warn("%s", st.error().message.c_str());
        }
    }
    return expunged_error();
}

Result<std::string> MailFolder::read_message(std::uint32_t uid) {
    auto fd = open_message(uid);
    if (!fd) return fd.error();
    std::string out;
    struct stat st{};
    if (::fstat(fd->get(), &st) == 0) out.reserve(static_cast<std::size_t>(st.st_size));
    char buf[65536];
    for (;;) {
        ssize_t n = ::read(fd->get(), buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return make_sys_error(std::string("read: ") + std::strerror(errno), errno, ErrorKind::kTemporary);
        if (n == 0) break;
        out.append(buf, static_cast<std::size_t>(n));
    }
    return out;
}

Result<std::uint64_t> MailFolder::rfc822_size(std::uint32_t uid) {
    auto i = find_uid(uid);
    if (i && view_[*i].rfc822_size != 0) return view_[*i].rfc822_size;
    if (const IndexRecord* r = state_->find(uid); r != nullptr && r->rfc822_size != 0) return r->rfc822_size;
    auto text = read_message(uid);
    if (!text) return text.error();
    const std::uint64_t size = crlf_size(*text);
    state_->remember_rfc822_size(uid, size);
    if (i) view_[*i].rfc822_size = size;
    return size;
}

std::optional<std::string> MailFolder::cached(std::uint32_t uid, CacheField field) {
    return state_->cached(uid, static_cast<std::uint8_t>(field));
}

void MailFolder::set_cached(std::uint32_t uid, CacheField field, std::string_view value) {
    state_->set_cached(uid, static_cast<std::uint8_t>(field), value);
}

std::vector<std::uint32_t> MailFolder::vanished_since(std::uint64_t modseq, bool* complete) const {
    const auto& index = state_->index();
    *complete = modseq >= index.vanished_floor;
    std::vector<std::uint32_t> out;
    for (const auto& [uid, m] : index.vanished)
        if (m > modseq) out.push_back(uid);
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
}

Status MailFolder::flush() {
    if (!state_->dirty()) return ok_status();
    auto held = state_->lock();
    if (!held) return held.error();
    return state_->save();
}

}  // namespace mailroom::access
