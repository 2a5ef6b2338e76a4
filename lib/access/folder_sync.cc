// folder_sync.cc - see folder_sync.h.
#include "lib/access/folder_sync.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <string_view>

#include "lib/access/mail_store_internal.h"
#include "lib/access/uidlist.h"
#include "lib/log/log.h"
#include "lib/mailbox/maildir_name.h"
#include "lib/mailbox/sys_error.h"
#include "lib/util/fs.h"
#include "lib/util/strings.h"

namespace mailroom::access {
namespace {

std::int64_t mtime_ns(const struct stat& st) {
    return static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000LL + st.st_mtim.tv_nsec;
}

Result<DirStamp> stamp_of(const std::string& dir) {
    struct stat st{};
    if (::stat(dir.c_str(), &st) != 0) return mailbox::sys_error("stat", dir, errno);
    return DirStamp{st.st_mtim.tv_sec, st.st_mtim.tv_nsec};
}

Status read_dir(const std::string& dir, bool in_new, std::vector<std::pair<std::string, bool>>* out) {
    std::unique_ptr<DIR, int (*)(DIR*)> d(::opendir(dir.c_str()), &::closedir);
    if (!d) return mailbox::sys_error("opendir", dir, errno);
    for (;;) {
        errno = 0;
        struct dirent* e = ::readdir(d.get());
        if (e == nullptr) {
            if (errno != 0) return mailbox::sys_error("readdir", dir, errno);
            return ok_status();
        }
        if (e->d_name[0] == '.' || std::strchr(e->d_name, '\n') != nullptr) continue;
        out->emplace_back(e->d_name, in_new);
    }
}

// Whether the folder's uidlist exists and has `uid_validity` (its header
// line says so; the rest is not read).
bool uidlist_matches(const std::string& dir, std::uint32_t uid_validity) {
    util::UniqueFd fd(::open((dir + "/" + kUidListName).c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) return false;
    char buf[256];
    const ssize_t n = ::pread(fd.get(), buf, sizeof buf, 0);
    if (n <= 0) return false;
    std::string_view head(buf, static_cast<std::size_t>(n));
    const auto nl = head.find('\n');
    if (nl == std::string_view::npos) return false;
    auto parsed = parse_uidlist(head.substr(0, nl + 1));
    return parsed && parsed->uid_validity == uid_validity;
}

// The info letters of a name, normalised ("" when it has none).
std::string flags_of(std::string_view filename) { return mailbox::parse_maildir_name(filename).flags; }

}  // namespace

Result<std::string> pread_from(int fd, std::size_t offset, std::size_t size) {
    std::string text(size, '\0');
    std::size_t got = 0;
    while (got < size) {
        ssize_t n = ::pread(fd, text.data() + got, size - got, static_cast<off_t>(offset + got));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return make_sys_error(std::string("read: ") + std::strerror(errno), errno);
        if (n == 0) break;
        got += static_cast<std::size_t>(n);
    }
    text.resize(got);
    return text;
}

FolderLock::~FolderLock() {
    if (state_ == nullptr) return;
    if (--state_->lock_depth_ == 0 && state_->lock_fd_.valid()) ::flock(state_->lock_fd_.get(), LOCK_UN);
}

FolderState::~FolderState() = default;

Result<std::unique_ptr<FolderState>> FolderState::open(std::shared_ptr<const StoreContext> ctx, std::string dir) {
    struct stat st{};
    if (::stat((dir + "/cur").c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
        return make_coded_error(ErrorCode::kNonExistent, "Mailbox doesn't exist");
    auto state = std::unique_ptr<FolderState>(new FolderState());
    state->ctx_ = std::move(ctx);
    state->dir_ = std::move(dir);
    const std::string lock_path = state->dir_ + "/" + kIndexLockFile;
    int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, state->ctx_->create.file_mode);
    if (fd < 0) return mailbox::sys_error("open", lock_path, errno);
    state->lock_fd_.reset(fd);
    return state;
}

Result<std::shared_ptr<FolderState>> FolderState::open_shared(std::shared_ptr<const StoreContext> ctx,
                                                             std::string dir) {
    // Per thread: a FolderState is used by one thread.
    thread_local std::unordered_map<std::string, std::weak_ptr<FolderState>> states;
    if (auto it = states.find(dir); it != states.end()) {
        if (auto s = it->second.lock(); s != nullptr && s->still_there()) return s;
    }
    std::erase_if(states, [](const auto& e) { return e.second.expired(); });
    auto made = open(std::move(ctx), dir);
    if (!made) return made.error();
    std::shared_ptr<FolderState> s(std::move(*made));
    states[dir] = s;
    return s;
}

bool FolderState::still_there() const {
    struct stat held{}, now{};
    return ::fstat(lock_fd_.get(), &held) == 0 && ::stat((dir_ + "/" + kIndexLockFile).c_str(), &now) == 0 &&
           held.st_ino == now.st_ino && held.st_dev == now.st_dev && ::stat((dir_ + "/cur").c_str(), &now) == 0;
}

Result<FolderLock> FolderState::lock() {
    if (lock_depth_ == 0) {
        while (::flock(lock_fd_.get(), LOCK_EX) != 0) {
            if (errno != EINTR) return mailbox::sys_error("flock", dir_ + "/" + kIndexLockFile, errno);
        }
        modseq_this_op_ = 0;
    }
    ++lock_depth_;
    return FolderLock(this);
}

IndexRecord* FolderState::find(std::uint32_t uid) {
    // Records are in ascending UID order: a binary search, no map beside them.
    auto it = std::lower_bound(index_.records.begin(), index_.records.end(), uid,
                               [](const IndexRecord& r, std::uint32_t u) { return r.uid < u; });
    return it != index_.records.end() && it->uid == uid ? &*it : nullptr;
}

std::string FolderState::path_of(const IndexRecord& r) const {
    return dir_ + (r.in_new ? "/new/" : "/cur/") + r.filename;
}

std::uint64_t FolderState::next_modseq() {
    if (modseq_this_op_ == 0) {
        modseq_this_op_ = ++index_.highest_modseq;
        dirty_ = true;
        ++generation_;
    }
    return modseq_this_op_;
}

void FolderState::drop(const std::vector<std::uint32_t>& uids, std::uint64_t modseq) {
    if (uids.empty()) return;
    std::unordered_set<std::uint32_t> gone(uids.begin(), uids.end());
    std::vector<IndexRecord> kept;
    kept.reserve(index_.records.size());
    for (auto& r : index_.records) {
        if (gone.count(r.uid) != 0) {
            remember_vanished(&index_, r.uid, modseq);
            gone_.emplace_back(r.uid, modseq);
        } else {
            kept.push_back(std::move(r));
        }
    }
    index_.records = std::move(kept);
    dirty_ = true;
    ++generation_;
}

void FolderState::remember_rfc822_size(std::uint32_t uid, std::uint64_t size) {
    pending_sizes_[uid] = size;
    if (auto* r = find(uid)) {
        r->rfc822_size = size;
        mark_changed(uid);
    }
}

Status FolderState::load_index() {
    const std::string path = dir_ + "/" + kIndexFile;
    struct stat st{};
    if (::stat(path.c_str(), &st) != 0) {
        if (errno != ENOENT) return mailbox::sys_error("stat", path, errno);
        if (!loaded_) {
            index_ = FolderIndex{};
            loaded_ = true;
        }
        index_fd_.reset();
        rewrite_ = true;
        return ok_status();
    }
    const FileId id{st.st_ino, st.st_size, mtime_ns(st)};
    if (loaded_ && id == index_id_) return ok_status();
    ++generation_;
    bool whole = true;
    if (loaded_ && index_fd_.valid() && id.ino == index_id_.ino &&
        static_cast<std::size_t>(id.size) >= index_valid_end_) {
        // The same file (its inode is held open, so not a reused number),
        // grown by other processes' change log entries: read only those.
        auto tail = pread_from(index_fd_.get(), index_valid_end_, static_cast<std::size_t>(id.size) - index_valid_end_);
        if (!tail) return tail.error();
        const std::size_t used = apply_index_log(*tail, &index_);
        index_valid_end_ += used;
        index_log_bytes_ += used;
        whole = false;
    } else {
        util::UniqueFd fd(::open(path.c_str(), O_RDWR | O_CLOEXEC));
        index_fd_writable_ = fd.valid();
        if (!fd.valid()) fd.reset(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
        struct stat fst{};
        if (!fd.valid() || ::fstat(fd.get(), &fst) != 0) return mailbox::sys_error("open", path, errno);
        auto text = pread_from(fd.get(), 0, static_cast<std::size_t>(fst.st_size));
        if (!text) return text.error();
        std::size_t valid_end = 0;
        auto parsed = parse_folder_index(*text, &valid_end);
        const std::uint64_t old_highest = index_.highest_modseq;
        if (parsed) {
            index_ = std::move(*parsed);
            index_valid_end_ = valid_end;
            index_log_bytes_ = valid_end - (text->find("\nE ") + 20);
            index_fd_ = std::move(fd);
            rewrite_ = false;
        } else {
            log::warn("%s: %s: rebuilding it from the Maildir", path.c_str(), parsed.error().message.c_str());
            index_ = FolderIndex{};
            index_.highest_modseq = old_highest;
            index_fd_.reset();
            rewrite_ = true;
        }
        touched_.clear();
        gone_.clear();
        st = fst;
    }
    index_id_ = FileId{st.st_ino, st.st_size, mtime_ns(st)};
    if (index_valid_end_ < static_cast<std::size_t>(st.st_size) && index_.uid_validity != 0) {
        // A change log entry cut short (a crash while writing it): what it
        // said is found again by a scan.
        index_.scan_clean = false;
        index_.own_since = 0;
        dirty_ = true;
    }
    loaded_ = true;
    if (whole || !pending_sizes_.empty()) {
        for (const auto& [uid, size] : pending_sizes_)
            if (auto* r = find(uid); r != nullptr && r->rfc822_size == 0) {
                r->rfc822_size = size;
                mark_changed(uid);
            }
    }
    return ok_status();
}

Status FolderState::load_keywords() {
    const std::string path = dir_ + "/" + kKeywordsFile;
    struct stat st{};
    FileId id;
    if (::stat(path.c_str(), &st) == 0) id = FileId{st.st_ino, st.st_size, mtime_ns(st)};
    if (id == keywords_id_) return ok_status();
    keywords_id_ = id;
    keywords_.clear();
    if (id.ino == 0) return ok_status();
    auto text = util::read_file(path);
    if (!text) return text.error();
    keywords_ = parse_keywords(*text);
    return ok_status();
}

Result<std::uint32_t> FolderState::keyword_bits(const std::vector<std::string>& names) {
    if (auto st = load_keywords(); !st) return st.error();
    std::uint32_t bits = 0;
    bool added = false;
    for (const auto& name : names) {
        const bool bad = name.empty() || name.size() > 200 ||
                         std::any_of(name.begin(), name.end(), [](char c) { return static_cast<unsigned char>(c) <= ' ' || c == 0x7f; });
        if (bad) return make_error("Invalid keyword");
        std::size_t i = 0;
        while (i < keywords_.size() && keywords_[i] != name) ++i;
        if (i == keywords_.size()) {
            i = 0;
            while (i < keywords_.size() && !util::iequals(keywords_[i], name)) ++i;
        }
        if (i == keywords_.size()) {
            i = 0;
            while (i < keywords_.size() && !keywords_[i].empty()) ++i;
            if (i >= kMaxKeywords)
                return make_coded_error(ErrorCode::kLimit, "Too many keywords in this mailbox (at most 26)");
            if (i == keywords_.size()) keywords_.emplace_back();
            keywords_[i] = name;
            added = true;
        }
        bits |= 1u << i;
    }
    if (added) {
        const std::string path = dir_ + "/" + kKeywordsFile;
        if (auto st = util::write_file_atomic(path, format_keywords(keywords_), ctx_->create.file_mode); !st)
            return st.error();
        keywords_id_ = FileId{};
        if (auto st = load_keywords(); !st) return st.error();
    }
    return bits;
}

std::vector<std::string> FolderState::keyword_names(std::uint32_t bits) const {
    std::vector<std::string> out;
    for (std::size_t i = 0; i < kMaxKeywords && i < keywords_.size(); ++i)
        if ((bits & (1u << i)) != 0 && !keywords_[i].empty()) out.push_back(keywords_[i]);
    return out;
}

Status FolderState::scan(std::vector<std::pair<std::string, bool>>* files, DirStamp* new_stamp,
                         DirStamp* cur_stamp) {
    // A name changed while readdir() runs may be missed; the directories'
    // mtimes before and after tell, and the scan is repeated then.
    for (int attempt = 0;; ++attempt) {
        auto n1 = stamp_of(dir_ + "/new");
        auto c1 = stamp_of(dir_ + "/cur");
        if (!n1) return n1.error();
        if (!c1) return c1.error();
        files->clear();
        if (auto st = read_dir(dir_ + "/new", true, files); !st) return st;
        if (auto st = read_dir(dir_ + "/cur", false, files); !st) return st;
        auto n2 = stamp_of(dir_ + "/new");
        auto c2 = stamp_of(dir_ + "/cur");
        if (!n2) return n2.error();
        if (!c2) return c2.error();
        *new_stamp = *n2;
        *cur_stamp = *c2;
        if ((*n1 == *n2 && *c1 == *c2) || attempt == 4) return ok_status();
    }
}

Result<std::vector<std::uint32_t>> FolderState::refresh(const RefreshOptions& options) {
    if (auto st = load_index(); !st) return st.error();
    if (auto st = load_keywords(); !st) return st.error();
    const bool fresh = index_.uid_validity == 0;
    bool need_scan = fresh || options.force_scan || options.first_bases != nullptr;
    if (!need_scan) {
        auto n = stamp_of(dir_ + "/new");
        auto c = stamp_of(dir_ + "/cur");
        if (!n) return n.error();
        if (!c) return c.error();
        need_scan = !(*n == index_.new_stamp) || !(*c == index_.cur_stamp) || !stamps_trusted(index_, std::time(nullptr));
    }
    if (need_scan) {
        // The scan runs under the uidlist lock, as Dovecot's does: a file
        // another reader numbers after our scan could otherwise be dropped
        // from the list by our merge and numbered again.
        auto uid_lock = UidListLock::acquire(dir_, ctx_->lock_timeout_ms);
        if (!uid_lock) return uid_lock.error();
        const std::time_t started = std::time(nullptr);
        std::vector<std::pair<std::string, bool>> files;
        DirStamp ns, cs;
        if (auto st = scan(&files, &ns, &cs); !st) return st.error();
        if (auto st = reconcile(files, options, &*uid_lock); !st) return st.error();
        // Stamps are trusted next time only when older than the scan by
        // more than the file system's timestamp granularity. A recent
        // cur/ alone (this store's own APPEND/STORE/EXPUNGE, or a client
        // changing flags) is trusted for a while and scanned again then,
        // so a busy folder is scanned every few seconds, not on every
        // command; new/, where deliveries land, is never taken on trust.
        const bool new_old = ns.sec + 1 < started;
        const bool clean = new_old && cs.sec + 1 < started;
        std::int64_t own = 0;
        if (!clean && new_old)
            own = index_.own_since != 0 && started < index_.own_since + kOwnChangeTrust ? index_.own_since : started;
        if (!(ns == index_.new_stamp) || !(cs == index_.cur_stamp) || clean != index_.scan_clean ||
            own != index_.own_since)
            dirty_ = true;
        index_.new_stamp = ns;
        index_.cur_stamp = cs;
        index_.scan_clean = clean;
        index_.own_since = own;
    }
    if (options.move_new) {
        for (auto& r : index_.records) {
            if (!r.in_new) continue;
            const std::string base(mailbox::parse_maildir_name(r.filename).base);
            const std::string to_name = mailbox::format_maildir_name(base, "");
            const std::string from = dir_ + "/new/" + r.filename;
            const std::string to = dir_ + "/cur/" + to_name;
            if (::rename(from.c_str(), to.c_str()) != 0) {
                if (errno != ENOENT) log::warn("rename %s: %s", from.c_str(), std::strerror(errno));
                index_.scan_clean = false;
                index_.own_since = 0;
                continue;
            }
            r.in_new = false;
            r.filename = to_name;
            mark_changed(r.uid);
        }
    }
    std::vector<std::uint32_t> claimed;
    if (options.take_recent && index_.first_recent_uid < index_.uid_next) {
        for (const auto& r : index_.records)
            if (r.uid >= index_.first_recent_uid) claimed.push_back(r.uid);
        index_.first_recent_uid = index_.uid_next;
        dirty_ = true;
    }
    return claimed;
}

Status FolderState::reconcile(std::vector<std::pair<std::string, bool>>& files, const RefreshOptions& options,
                              UidListLock* lock) {
    // base -> position in files; a base both in new/ and cur/ (a move in
    // progress elsewhere) counts as the cur/ one.
    std::unordered_map<std::string_view, std::size_t> by_base;
    by_base.reserve(files.size());
    for (std::size_t i = 0; i < files.size(); ++i) {
        auto [it, inserted] = by_base.emplace(maildir_base_name(files[i].first), i);
        if (!inserted && !files[i].second) it->second = i;
    }
    std::vector<bool> used(files.size(), false);
    bool dropped_any = false;
    std::vector<IndexRecord> kept;
    kept.reserve(index_.records.size());
    for (auto& r : index_.records) {
        auto it = by_base.find(maildir_base_name(r.filename));
        if (it == by_base.end()) {
            remember_vanished(&index_, r.uid, next_modseq());
            gone_.emplace_back(r.uid, next_modseq());
            dropped_any = true;
            continue;
        }
        used[it->second] = true;
        const auto& f = files[it->second];
        if (f.first != r.filename || f.second != r.in_new) {
            if (flags_of(f.first) != flags_of(r.filename)) r.modseq = next_modseq();
            r.filename = f.first;
            r.in_new = f.second;
            mark_changed(r.uid);
        }
        kept.push_back(std::move(r));
    }
    index_.records = std::move(kept);
    std::vector<std::string> new_bases;
    for (std::size_t i = 0; i < files.size(); ++i) {
        if (used[i]) continue;
        auto it = by_base.find(maildir_base_name(files[i].first));
        if (it->second != i) continue;  // the other copy of a base in new/ and cur/
        new_bases.emplace_back(maildir_base_name(files[i].first));
    }
    const bool fresh = index_.uid_validity == 0;
    if (!new_bases.empty() || dropped_any || fresh) {
        // New files get their UIDs from the uidlist, under its lock.
        std::vector<std::string> ordered;
        ordered.reserve(index_.records.size() + new_bases.size());
        if (options.first_bases != nullptr) {
            std::unordered_set<std::string_view> wanted(new_bases.begin(), new_bases.end());
            for (const auto& b : *options.first_bases)
                if (wanted.count(b) != 0) ordered.push_back(b);
        }
        std::unordered_set<std::string_view> first(ordered.begin(), ordered.end());
        std::vector<std::string> rest;
        for (const auto& b : new_bases)
            if (first.count(b) == 0) rest.push_back(b);
        sort_by_delivery_time(&rest);
        ordered.insert(ordered.end(), rest.begin(), rest.end());
        for (const auto& r : index_.records) ordered.emplace_back(maildir_base_name(r.filename));

        const std::uint32_t now = ctx_->now != 0 ? ctx_->now : static_cast<std::uint32_t>(std::time(nullptr));
        bool fresh_list = false;
        UidList list = lock->read(now, &fresh_list);
        const bool changed = merge_uidlist(&list, ordered) || fresh_list;
        if (changed) {
            if (auto st = lock->commit(list); !st) return st;
        } else {
            lock->release();
        }
        if (!fresh && list.uid_validity != index_.uid_validity) {
            // The list was recreated: every UID is new.
            log::warn("%s: UIDVALIDITY changed from %u to %u", dir_.c_str(), index_.uid_validity, list.uid_validity);
            for (const auto& r : index_.records) new_bases.emplace_back(maildir_base_name(r.filename));
            index_.records.clear();
            index_.vanished.clear();
            index_.vanished_floor = index_.highest_modseq;
            index_.first_recent_uid = 1;
            mark_dirty();
        }
        if (index_.uid_validity != list.uid_validity) {
            index_.uid_validity = list.uid_validity;
            // A rebuilt index must not hand out MODSEQs a client saw before:
            // it starts at the time in microseconds, above any earlier
            // counter that made less than one change per microsecond.
            struct timeval tv{};
            ::gettimeofday(&tv, nullptr);
            const std::uint64_t floor =
                static_cast<std::uint64_t>(tv.tv_sec) * 1000000ULL + static_cast<std::uint64_t>(tv.tv_usec);
            if (index_.highest_modseq < floor) index_.highest_modseq = floor;
            // What was expunged before is not known: QRESYNC from an older
            // MODSEQ gets "incomplete".
            index_.vanished_floor = index_.highest_modseq;
            mark_dirty();
        }
        std::unordered_map<std::string_view, std::uint32_t> uid_of;
        uid_of.reserve(list.entries.size());
        for (const auto& e : list.entries) uid_of.emplace(e.base, e.uid);
        // A record whose UID the list no longer agrees with is a new message.
        std::vector<IndexRecord> agree;
        agree.reserve(index_.records.size());
        for (auto& r : index_.records) {
            auto it = uid_of.find(maildir_base_name(r.filename));
            if (it != uid_of.end() && it->second == r.uid) {
                agree.push_back(std::move(r));
            } else {
                remember_vanished(&index_, r.uid, next_modseq());
                gone_.emplace_back(r.uid, next_modseq());
                new_bases.emplace_back(maildir_base_name(r.filename));
            }
        }
        index_.records = std::move(agree);
        for (const auto& b : new_bases) {
            auto f = by_base.find(b);
            auto u = uid_of.find(b);
            if (f == by_base.end() || u == uid_of.end()) continue;
            const auto& file = files[f->second];
            IndexRecord r;
            r.uid = u->second;
            r.filename = file.first;
            r.in_new = file.second;
            struct stat st{};
            const std::string path = path_of(r);
            if (::stat(path.c_str(), &st) != 0) continue;  // gone meanwhile
            r.internal_date = st.st_mtim.tv_sec;
            r.size = mailbox::maildir_name_size(file.first).value_or(static_cast<std::uint64_t>(st.st_size));
            r.rfc822_size = mailbox::maildir_name_vsize(file.first).value_or(0);
            r.modseq = next_modseq();
            touched_.push_back(r.uid);
            index_.records.push_back(std::move(r));
        }
        std::sort(index_.records.begin(), index_.records.end(),
                  [](const IndexRecord& a, const IndexRecord& b) { return a.uid < b.uid; });
        index_.uid_next = std::max(index_.uid_next, list.next_uid);
        if (fresh) {
            // A rebuilt index: what is still in new/ has not been seen.
            index_.first_recent_uid = index_.uid_next;
            for (const auto& r : index_.records)
                if (r.in_new) index_.first_recent_uid = std::min(index_.first_recent_uid, r.uid);
        }
        if (index_.first_recent_uid > index_.uid_next) index_.first_recent_uid = index_.uid_next;
        dirty_ = true;
    }
    return ok_status();
}

Result<std::vector<std::uint32_t>> FolderState::add_files(const std::vector<std::string>& filenames) {
    if (filenames.empty()) return std::vector<std::uint32_t>{};
    std::vector<std::string> bases;
    bases.reserve(filenames.size());
    for (const auto& f : filenames) bases.emplace_back(maildir_base_name(f));
    auto lock = UidListLock::acquire(dir_, ctx_->lock_timeout_ms);
    if (!lock) return lock.error();
    const std::uint32_t now = ctx_->now != 0 ? ctx_->now : static_cast<std::uint32_t>(std::time(nullptr));
    std::vector<std::uint32_t> uids;
    // The list is not the one the index knows: the full way.
    auto by_scan = [&]() -> Result<std::vector<std::uint32_t>> {
        lock->release();
        RefreshOptions opts;
        opts.first_bases = &bases;
        if (auto st = refresh(opts); !st) return st.error();
        std::unordered_map<std::string_view, std::uint32_t> uid_of;
        for (const auto& r : index_.records) uid_of.emplace(maildir_base_name(r.filename), r.uid);
        std::vector<std::uint32_t> out;
        for (const auto& b : bases) {
            auto it = uid_of.find(b);
            out.push_back(it == uid_of.end() ? 0 : it->second);
        }
        return out;
    };
    if (!uidlist_matches(dir_, index_.uid_validity)) return by_scan();
    // The names are new (unique names made by this process), so they are
    // not in the list yet: they are added, nothing is dropped.
    std::vector<IndexRecord> added;
    std::vector<std::string> present;
    for (std::size_t i = 0; i < filenames.size(); ++i) {
        IndexRecord r;
        r.filename = filenames[i];
        struct stat st{};
        if (::stat(path_of(r).c_str(), &st) != 0) {
            uids.push_back(0);
            continue;
        }
        uids.push_back(1);  // numbered below
        r.internal_date = st.st_mtim.tv_sec;
        r.size = mailbox::maildir_name_size(r.filename).value_or(static_cast<std::uint64_t>(st.st_size));
        r.rfc822_size = mailbox::maildir_name_vsize(r.filename).value_or(0);
        present.push_back(bases[i]);
        added.push_back(std::move(r));
    }
    // Appended to the list where it can be (a few lines, not the whole list
    // written anew), else the list is read and written whole.
    std::uint32_t next = 0;
    auto appended = lock->append_new(present, index_.uid_validity);
    if (!appended) return appended.error();
    if (*appended) {
        next = (*appended)->first_uid;
    } else {
        bool fresh_list = false;
        UidList list = lock->read(now, &fresh_list);
        if (fresh_list || list.uid_validity != index_.uid_validity) return by_scan();
        next = list.next_uid;
        for (const auto& b : present) list.entries.push_back(UidListEntry{list.next_uid++, "", b});
        if (auto st = lock->commit(list); !st) return st.error();
    }
    std::size_t k = 0;
    for (auto& u : uids)
        if (u != 0) u = added[k++].uid = next++;
    const bool in_order = added.empty() || index_.records.empty() || index_.records.back().uid < added.front().uid;
    for (auto& r : added) {
        r.modseq = next_modseq();
        mark_changed(r.uid);
        index_.records.push_back(std::move(r));
    }
    if (!in_order)
        std::sort(index_.records.begin(), index_.records.end(),
                  [](const IndexRecord& a, const IndexRecord& b) { return a.uid < b.uid; });
    index_.uid_next = std::max(index_.uid_next, next);
    return uids;
}

DirStamp FolderState::cur_stamp_now() const {
    auto c = stamp_of(dir_ + "/cur");
    return c ? *c : DirStamp{};
}

void FolderState::own_cur_change(const DirStamp& before) {
    const std::int64_t now = std::time(nullptr);
    if (!(before == index_.cur_stamp) || before.sec == 0 || !stamps_trusted(index_, now)) return;
    const DirStamp after = cur_stamp_now();
    if (after.sec == 0) return;
    // What cur/ holds now is what the index says plus this change; only a
    // change by another program in the same timestamp tick could hide
    // behind the new mtime, and the scan at the end of the window finds it.
    if (index_.scan_clean) index_.own_since = now;
    index_.scan_clean = false;
    index_.cur_stamp = after;
    dirty_ = true;
}

Status FolderState::save() {
    if (auto st = load_index(); !st) return st;
    if (!dirty_ || index_.uid_validity == 0) return ok_status();
    const std::string path = dir_ + "/" + kIndexFile;
    if (!rewrite_ && index_fd_.valid() && index_fd_writable_) {
        // Only the changes, appended to the change log: the expunges, the
        // added or changed records, then the header entry. The header
        // carries the directory stamps, so an append cut short before it
        // leaves the old stamps, and the next refresh scans.
        std::string out;
        for (const auto& [uid, modseq] : gone_) out += format_index_log_expunge(uid, modseq);
        std::sort(touched_.begin(), touched_.end());
        touched_.erase(std::unique(touched_.begin(), touched_.end()), touched_.end());
        for (std::uint32_t uid : touched_)
            if (const IndexRecord* r = find(uid)) out += format_index_log_record(*r);
        out += format_index_log_header(index_);
        const std::size_t base = index_valid_end_ - index_log_bytes_;
        // The log is folded into a new base when it grows past half of it.
        if (index_log_bytes_ + out.size() <= std::max<std::size_t>(base / 2, 64 * 1024)) {
            int fd = index_fd_.get();
            bool ok = static_cast<std::size_t>(index_id_.size) == index_valid_end_ ||
                      ::ftruncate(fd, static_cast<off_t>(index_valid_end_)) == 0;  // a torn entry is cut off
            std::size_t off = 0;
            while (ok && off < out.size()) {
                ssize_t n = ::pwrite(fd, out.data() + off, out.size() - off, static_cast<off_t>(index_valid_end_ + off));
                if (n < 0 && errno == EINTR) continue;
                if (n <= 0) ok = false;
                else off += static_cast<std::size_t>(n);
            }
            struct stat st{};
            if (ok && ::fstat(fd, &st) == 0) {
                index_id_ = FileId{st.st_ino, st.st_size, mtime_ns(st)};
                index_valid_end_ += out.size();
                index_log_bytes_ += out.size();
                dirty_ = false;
                touched_.clear();
                gone_.clear();
                pending_sizes_.clear();
                return ok_status();
            }
            // A failed append may have left a torn entry: readers stop
            // before it; the whole file is written anew below.
        }
    }
    const std::string tmp = path + ".tmp";
    const std::string data = format_folder_index(index_);
    util::UniqueFd fd(::open(tmp.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, ctx_->create.file_mode));
    if (!fd.valid()) return mailbox::sys_error("open", tmp, errno);
    std::size_t off = 0;
    while (off < data.size()) {
        ssize_t n = ::write(fd.get(), data.data() + off, data.size() - off);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            const int err = errno;
            ::unlink(tmp.c_str());
            return mailbox::sys_error("write", tmp, err);
        }
        off += static_cast<std::size_t>(n);
    }
    // No fsync: the index is a cache of the Maildir; a torn file after a
    // power loss fails its check and is rebuilt.
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
        const int err = errno;
        ::unlink(tmp.c_str());
        return mailbox::sys_error("rename", tmp, err);
    }
    struct stat st{};
    if (::fstat(fd.get(), &st) == 0) index_id_ = FileId{st.st_ino, st.st_size, mtime_ns(st)};
    index_fd_ = std::move(fd);
    index_fd_writable_ = true;
    index_valid_end_ = data.size();
    index_log_bytes_ = 0;
    dirty_ = false;
    rewrite_ = false;
    touched_.clear();
    gone_.clear();
    pending_sizes_.clear();
    return ok_status();
}

}  // namespace mailroom::access
