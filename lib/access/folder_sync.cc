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

// The info letters of a name, normalised ("" when it has none).
std::string flags_of(std::string_view filename) { return mailbox::parse_maildir_name(filename).flags; }

}  // namespace

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
    auto it = pos_.find(uid);
    return it == pos_.end() ? nullptr : &index_.records[it->second];
}

std::string FolderState::path_of(const IndexRecord& r) const {
    return dir_ + (r.in_new ? "/new/" : "/cur/") + r.filename;
}

std::uint64_t FolderState::next_modseq() {
    if (modseq_this_op_ == 0) {
        modseq_this_op_ = ++index_.highest_modseq;
        dirty_ = true;
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
        } else {
            kept.push_back(std::move(r));
        }
    }
    index_.records = std::move(kept);
    pos_.clear();
    for (std::size_t i = 0; i < index_.records.size(); ++i) pos_[index_.records[i].uid] = i;
    dirty_ = true;
}

void FolderState::remember_rfc822_size(std::uint32_t uid, std::uint64_t size) {
    pending_sizes_[uid] = size;
    dirty_ = true;
    if (auto* r = find(uid)) r->rfc822_size = size;
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
        return ok_status();
    }
    const FileId id{st.st_ino, st.st_size, mtime_ns(st)};
    if (loaded_ && id == index_id_) return ok_status();
    auto text = util::read_file(path);
    if (!text) return text.error();
    auto parsed = parse_folder_index(*text);
    const std::uint64_t old_highest = index_.highest_modseq;
    if (parsed) {
        index_ = std::move(*parsed);
    } else {
        log::warn("%s: %s: rebuilding it from the Maildir", path.c_str(), parsed.error().message.c_str());
        index_ = FolderIndex{};
        index_.highest_modseq = old_highest;
    }
    index_id_ = id;
    loaded_ = true;
    pos_.clear();
    for (std::size_t i = 0; i < index_.records.size(); ++i) pos_[index_.records[i].uid] = i;
    for (const auto& [uid, size] : pending_sizes_)
        if (auto* r = find(uid); r != nullptr && r->rfc822_size == 0) {
            r->rfc822_size = size;
            dirty_ = true;
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
    bool need_scan = fresh || options.force_scan || !index_.scan_clean || options.first_bases != nullptr;
    if (!need_scan) {
        auto n = stamp_of(dir_ + "/new");
        auto c = stamp_of(dir_ + "/cur");
        if (!n) return n.error();
        if (!c) return c.error();
        need_scan = !(*n == index_.new_stamp) || !(*c == index_.cur_stamp);
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
        // more than the file system's timestamp granularity.
        const bool clean = ns.sec + 1 < started && cs.sec + 1 < started;
        if (!(ns == index_.new_stamp) || !(cs == index_.cur_stamp) || clean != index_.scan_clean) dirty_ = true;
        index_.new_stamp = ns;
        index_.cur_stamp = cs;
        index_.scan_clean = clean;
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
                continue;
            }
            r.in_new = false;
            r.filename = to_name;
            dirty_ = true;
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
            dropped_any = true;
            continue;
        }
        used[it->second] = true;
        const auto& f = files[it->second];
        if (f.first != r.filename || f.second != r.in_new) {
            if (flags_of(f.first) != flags_of(r.filename)) r.modseq = next_modseq();
            r.filename = f.first;
            r.in_new = f.second;
            dirty_ = true;
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
    pos_.clear();
    pos_.reserve(index_.records.size());
    for (std::size_t i = 0; i < index_.records.size(); ++i) pos_[index_.records[i].uid] = i;
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
    bool fresh_list = false;
    UidList list = lock->read(now, &fresh_list);
    std::vector<std::uint32_t> uids;
    if (fresh_list || list.uid_validity != index_.uid_validity) {
        // The list is not the one the index knows: the full way.
        lock->release();
        RefreshOptions opts;
        opts.first_bases = &bases;
        if (auto st = refresh(opts); !st) return st.error();
        std::unordered_map<std::string_view, std::uint32_t> uid_of;
        for (const auto& r : index_.records) uid_of.emplace(maildir_base_name(r.filename), r.uid);
        for (const auto& b : bases) {
            auto it = uid_of.find(b);
            uids.push_back(it == uid_of.end() ? 0 : it->second);
        }
        return uids;
    }
    // The names are new (unique names made by this process), so they are
    // not in the list yet: they are added, nothing is dropped.
    std::vector<IndexRecord> added;
    for (std::size_t i = 0; i < filenames.size(); ++i) {
        IndexRecord r;
        r.filename = filenames[i];
        struct stat st{};
        if (::stat(path_of(r).c_str(), &st) != 0) {
            uids.push_back(0);
            continue;
        }
        r.uid = list.next_uid++;
        list.entries.push_back(UidListEntry{r.uid, "", bases[i]});
        r.internal_date = st.st_mtim.tv_sec;
        r.size = mailbox::maildir_name_size(r.filename).value_or(static_cast<std::uint64_t>(st.st_size));
        r.rfc822_size = mailbox::maildir_name_vsize(r.filename).value_or(0);
        r.modseq = next_modseq();
        uids.push_back(r.uid);
        added.push_back(std::move(r));
    }
    if (auto st = lock->commit(list); !st) return st.error();
    for (auto& r : added) {
        pos_[r.uid] = index_.records.size();
        index_.records.push_back(std::move(r));
    }
    index_.uid_next = list.next_uid;
    index_.scan_clean = false;
    dirty_ = true;
    return uids;
}

Status FolderState::save() {
    if (auto st = load_index(); !st) return st;
    if (!dirty_ || index_.uid_validity == 0) return ok_status();
    const std::string path = dir_ + "/" + kIndexFile;
    const std::string tmp = path + ".tmp";
    const std::string data = format_folder_index(index_);
    util::UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, ctx_->create.file_mode));
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
    dirty_ = false;
    pending_sizes_.clear();
    return ok_status();
}

namespace {

Result<std::string> pread_all(int fd, std::size_t size) {
    std::string text(size, '\0');
    std::size_t got = 0;
    while (got < size) {
        ssize_t n = ::pread(fd, text.data() + got, size - got, static_cast<off_t>(got));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return make_sys_error(std::string("read cache: ") + std::strerror(errno), errno);
        if (n == 0) break;
        got += static_cast<std::size_t>(n);
    }
    text.resize(got);
    return text;
}

}  // namespace

void FolderState::load_cache() {
    if (cache_loaded_) return;
    cache_loaded_ = true;
    cache_.clear();
    const std::string path = dir_ + "/" + kCacheFile;
    util::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    struct stat st{};
    if (!fd.valid() || ::fstat(fd.get(), &st) != 0) return;
    auto text = pread_all(fd.get(), static_cast<std::size_t>(st.st_size));
    if (!text) return;
    cache_ino_ = st.st_ino;
    cache_valid_end_ = parse_cache(*text, index_.uid_validity, &cache_);
    // Values of expunged messages pile up; past 4 MB with more than half
    // of it dead, the file is written anew with the live values only.
    std::size_t live = 0;
    for (auto it = cache_.begin(); it != cache_.end();) {
        if (pos_.count(it->first.first) == 0) {
            it = cache_.erase(it);
        } else {
            live += 14 + it->second.size();
            ++it;
        }
    }
    if (text->size() < (4u << 20) || live * 2 > text->size()) return;
    auto held = lock();
    if (!held) return;
    std::string out = format_cache_header(index_.uid_validity);
    for (const auto& [key, value] : cache_) out += format_cache_record(key.first, key.second, value);
    const std::string tmp = path + ".tmp";
    util::UniqueFd w(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, ctx_->create.file_mode));
    if (!w.valid()) return;
    struct stat wst{};
    if (::write(w.get(), out.data(), out.size()) != static_cast<ssize_t>(out.size()) || ::fstat(w.get(), &wst) != 0 ||
        ::rename(tmp.c_str(), path.c_str()) != 0) {
        ::unlink(tmp.c_str());
        return;
    }
    cache_ino_ = wst.st_ino;
    cache_valid_end_ = out.size();
}

std::optional<std::string> FolderState::cached(std::uint32_t uid, std::uint8_t field) {
    load_cache();
    auto it = cache_.find({uid, field});
    if (it == cache_.end()) return std::nullopt;
    return it->second;
}

void FolderState::set_cached(std::uint32_t uid, std::uint8_t field, std::string_view value) {
    load_cache();
    cache_[{uid, field}] = std::string(value);
    auto held = lock();
    if (!held) return;
    const std::string path = dir_ + "/" + kCacheFile;
    util::UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, ctx_->create.file_mode));
    if (!fd.valid()) return;
    struct stat st{};
    if (::fstat(fd.get(), &st) != 0) return;
    const std::size_t size = static_cast<std::size_t>(st.st_size);
    std::string out;
    if (st.st_ino != cache_ino_ || cache_valid_end_ == 0 || size < cache_valid_end_) {
        // Not the file this process knows (new, replaced, cut): read it whole.
        auto text = pread_all(fd.get(), size);
        if (!text) return;
        CacheMap theirs;
        cache_valid_end_ = parse_cache(*text, index_.uid_validity, &theirs);
        cache_ino_ = st.st_ino;
        for (auto& [key, v] : theirs) cache_.emplace(key, std::move(v));
        if (cache_valid_end_ == 0) {
            if (::ftruncate(fd.get(), 0) != 0) return;
            out = format_cache_header(index_.uid_validity);
        } else if (cache_valid_end_ < size && ::ftruncate(fd.get(), static_cast<off_t>(cache_valid_end_)) != 0) {
            return;
        }
    } else if (size > cache_valid_end_) {
        // Records other sessions added; a torn tail is cut off.
        std::string tail(size - cache_valid_end_, '\0');
        ssize_t n = ::pread(fd.get(), tail.data(), tail.size(), static_cast<off_t>(cache_valid_end_));
        if (n < 0) return;
        tail.resize(static_cast<std::size_t>(n));
        const std::size_t valid = parse_cache_records(tail, &cache_);
        cache_valid_end_ += valid;
        if (cache_valid_end_ < size && ::ftruncate(fd.get(), static_cast<off_t>(cache_valid_end_)) != 0) return;
        cache_[{uid, field}] = std::string(value);
    }
    out += format_cache_record(uid, field, value);
    ssize_t n = ::write(fd.get(), out.data(), out.size());
    if (n == static_cast<ssize_t>(out.size())) cache_valid_end_ += out.size();
}

}  // namespace mailroom::access
