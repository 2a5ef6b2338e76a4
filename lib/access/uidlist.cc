// uidlist.cc - see uidlist.h.
#include "lib/access/uidlist.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <memory>
#include <unordered_set>

#include "lib/log/log.h"
#include "lib/util/fs.h"
#include "lib/util/strings.h"
#include "lib/util/unique_fd.h"

namespace mailroom::access {
namespace {

bool parse_u32(std::string_view s, std::uint32_t* out) {
    if (s.empty()) return false;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
    return ec == std::errc() && p == s.data() + s.size();
}

}  // namespace

std::string_view maildir_base_name(std::string_view filename) {
    const auto colon = filename.find(':');
    return colon == std::string_view::npos ? filename : filename.substr(0, colon);
}

Result<UidList> parse_uidlist(std::string_view text) {
    UidList list;
    const auto nl = text.find('\n');
    if (nl == std::string_view::npos) return make_error("dovecot-uidlist: no header line");
    const auto header = util::split(text.substr(0, nl), " ");
    if (header.empty() || header[0] != "3") return make_error("dovecot-uidlist: not version 3");
    bool have_v = false;
    for (std::size_t i = 1; i < header.size(); ++i) {
        const std::string& f = header[i];
        if (f[0] == 'V') {
            if (!parse_u32(std::string_view(f).substr(1), &list.uid_validity)) return make_error("dovecot-uidlist: bad V");
            have_v = true;
        } else if (f[0] == 'N') {
            if (!parse_u32(std::string_view(f).substr(1), &list.next_uid)) return make_error("dovecot-uidlist: bad N");
        } else {
            if (!list.header_extra.empty()) list.header_extra += ' ';
            list.header_extra += f;
        }
    }
    if (!have_v || list.uid_validity == 0) return make_error("dovecot-uidlist: no UIDVALIDITY");
    std::uint32_t last = 0;
    std::size_t pos = nl + 1;
    while (pos < text.size()) {
        const auto end = text.find('\n', pos);
        // A last line without its newline is an append cut short (a crash
        // while adding it): that entry was never given out.
        if (end == std::string_view::npos) break;
        std::string_view line = text.substr(pos, end - pos);
        pos = end + 1;
        if (line.empty()) continue;
        const auto colon = line.find(':');
        const auto space = line.find(' ');
        if (colon == std::string_view::npos || space == std::string_view::npos || space > colon)
            return make_error("dovecot-uidlist: bad line");
        UidListEntry e;
        if (!parse_u32(line.substr(0, space), &e.uid) || e.uid <= last)
            return make_error("dovecot-uidlist: bad or unordered UID");
        last = e.uid;
        e.extra = std::string(util::trim(line.substr(space + 1, colon - space - 1)));
        e.base = std::string(maildir_base_name(line.substr(colon + 1)));
        if (e.base.empty()) return make_error("dovecot-uidlist: empty file name");
        list.entries.push_back(std::move(e));
    }
    if (list.next_uid <= last) list.next_uid = last + 1;
    return list;
}

std::string format_uidlist(const UidList& list) {
    std::string out = util::format("3 V%u N%u", list.uid_validity, list.next_uid);
    if (!list.header_extra.empty()) out += ' ' + list.header_extra;
    out += '\n';
    for (const auto& e : list.entries) {
        out += std::to_string(e.uid);
        out += ' ';
        if (!e.extra.empty()) out += e.extra + ' ';
        out += ':';
        out += e.base;
        out += '\n';
    }
    return out;
}

bool merge_uidlist(UidList* list, const std::vector<std::string>& bases) {
    std::unordered_set<std::string_view> present(bases.begin(), bases.end());
    bool changed = false;
    std::vector<UidListEntry> kept;
    kept.reserve(list->entries.size());
    std::unordered_set<std::string_view> known;
    for (auto& e : list->entries) {
        if (present.count(e.base) == 0) {
            changed = true;
            continue;
        }
        kept.push_back(std::move(e));
    }
    list->entries = std::move(kept);
    for (const auto& e : list->entries) known.insert(e.base);
    for (const auto& b : bases) {
        if (known.count(b) != 0) continue;
        list->entries.push_back(UidListEntry{list->next_uid++, "", b});
        known.insert(list->entries.back().base);
        changed = true;
    }
    return changed;
}

namespace {

// Dovecot's lock: O_EXCL create of dovecot-uidlist.lock, stale after 120 s.
Result<util::UniqueFd> take_lock(const std::string& lock_path, int timeout_ms) {
    for (int waited = 0;; waited += 20) {
        int fd = ::open(lock_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd >= 0) return util::UniqueFd(fd);
        if (errno != EEXIST)
            return make_sys_error("create " + lock_path + ": " + std::strerror(errno), errno, ErrorKind::kTemporary);
        struct stat st{};
        if (::stat(lock_path.c_str(), &st) == 0 && std::time(nullptr) - st.st_mtime > 120) {
            log::warn("removing stale lock file %s", lock_path.c_str());
            ::unlink(lock_path.c_str());
            continue;
        }
        if (waited >= timeout_ms) return make_temp_error("timeout waiting for lock " + lock_path);
        struct timespec ts{0, 20 * 1000 * 1000};
        ::nanosleep(&ts, nullptr);
    }
}

}  // namespace

Result<UidListLock> UidListLock::acquire(const std::string& maildir, int timeout_ms) {
    UidListLock lock;
    lock.path_ = maildir + "/" + kUidListName;
    lock.lock_path_ = lock.path_ + ".lock";
    auto fd = take_lock(lock.lock_path_, timeout_ms);
    if (!fd) return fd.error();
    lock.fd_ = std::move(*fd);
    return lock;
}

UidListLock::UidListLock(UidListLock&& other) noexcept
    : path_(std::move(other.path_)), lock_path_(std::move(other.lock_path_)), fd_(std::move(other.fd_)) {}

UidListLock::~UidListLock() { release(); }

void UidListLock::release() {
    if (!fd_.valid()) return;
    ::unlink(lock_path_.c_str());
    fd_.reset();
}

UidList UidListLock::read(std::uint32_t now, bool* fresh) const {
    *fresh = true;
    if (auto text = util::read_file(path_)) {
        if (auto parsed = parse_uidlist(*text)) {
            *fresh = false;
            return std::move(*parsed);
        } else {
            log::warn("%s: %s: starting a new list", path_.c_str(), parsed.error().message.c_str());
        }
    }
    UidList list;
    list.uid_validity = now == 0 ? 1 : now;
    return list;
}

Status UidListLock::commit(const UidList& list) {
    if (!fd_.valid()) return make_error("commit " + path_ + ": lock not held");
    const std::string data = format_uidlist(list);
    const char* p = data.data();
    std::size_t left = data.size();
    while (left > 0) {
        ssize_t n = ::write(fd_.get(), p, left);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            int err = errno;
            release();
            return make_sys_error("write " + lock_path_ + ": " + std::strerror(err), err, ErrorKind::kTemporary);
        }
        p += n;
        left -= static_cast<std::size_t>(n);
    }
    if (::fsync(fd_.get()) != 0 || ::rename(lock_path_.c_str(), path_.c_str()) != 0) {
        int err = errno;
        release();
        return make_sys_error("replace " + path_ + ": " + std::strerror(err), err, ErrorKind::kTemporary);
    }
    fd_.reset();
    return ok_status();
}

Result<std::optional<UidListLock::Appended>> UidListLock::append_new(const std::vector<std::string>& bases,
                                                                    std::uint32_t uid_validity) {
    if (!fd_.valid()) return make_error("append " + path_ + ": lock not held");
    util::UniqueFd fd(::open(path_.c_str(), O_RDWR | O_CLOEXEC));
    struct stat st{};
    if (!fd.valid() || ::fstat(fd.get(), &st) != 0 || st.st_size < 6) return std::optional<Appended>{};
    const std::size_t size = static_cast<std::size_t>(st.st_size);
    // The header line gives UIDVALIDITY and (maybe stale) next UID; the
    // last whole line the highest UID given.
    std::string head(std::min<std::size_t>(size, 1024), '\0');
    if (::pread(fd.get(), head.data(), head.size(), 0) != static_cast<ssize_t>(head.size())) return std::optional<Appended>{};
    const auto head_end = head.find('\n');
    if (head_end == std::string::npos) return std::optional<Appended>{};
    auto header = parse_uidlist(std::string_view(head).substr(0, head_end + 1));
    if (!header || header->uid_validity != uid_validity) return std::optional<Appended>{};
    const std::size_t tail_at = size > 4096 ? size - 4096 : 0;
    std::string tail(size - tail_at, '\0');
    if (::pread(fd.get(), tail.data(), tail.size(), static_cast<off_t>(tail_at)) != static_cast<ssize_t>(tail.size()))
        return std::optional<Appended>{};
    const auto last_nl = tail.rfind('\n');
    if (last_nl == std::string::npos) return std::optional<Appended>{};
    const std::size_t end = tail_at + last_nl + 1;  // past the last whole line; a torn one after it is cut off
    std::uint32_t next = header->next_uid;
    if (end > head_end + 1) {
        const auto prev_nl = last_nl == 0 ? std::string::npos : tail.rfind('\n', last_nl - 1);
        if (prev_nl == std::string::npos) return std::optional<Appended>{};
        std::string_view line = std::string_view(tail).substr(prev_nl + 1, last_nl - prev_nl - 1);
        std::uint32_t uid = 0;
        if (!parse_u32(line.substr(0, line.find(' ')), &uid)) return std::optional<Appended>{};
        next = std::max(next, uid + 1);
    }
    Appended out{header->uid_validity, next};
    std::string data;
    for (const auto& b : bases) {
        data += std::to_string(next++);
        data += " :";
        data += b;
        data += '\n';
    }
    if (end < size && ::ftruncate(fd.get(), static_cast<off_t>(end)) != 0)
        return make_sys_error("truncate " + path_ + ": " + std::strerror(errno), errno, ErrorKind::kTemporary);
    std::size_t off = 0;
    while (off < data.size()) {
        ssize_t n = ::pwrite(fd.get(), data.data() + off, data.size() - off, static_cast<off_t>(end + off));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            const int err = errno;
            (void)::ftruncate(fd.get(), static_cast<off_t>(end));
            return make_sys_error("write " + path_ + ": " + std::strerror(err), err, ErrorKind::kTemporary);
        }
        off += static_cast<std::size_t>(n);
    }
    if (::fsync(fd.get()) != 0)
        return make_sys_error("fsync " + path_ + ": " + std::strerror(errno), errno, ErrorKind::kTemporary);
    release();
    return std::optional<Appended>{out};
}

void sort_by_delivery_time(std::vector<std::string>* bases) {
    std::sort(bases->begin(), bases->end(), [](const std::string& a, const std::string& b) {
        const unsigned long ta = std::strtoul(a.c_str(), nullptr, 10), tb = std::strtoul(b.c_str(), nullptr, 10);
        return ta != tb ? ta < tb : a < b;
    });
}

Result<SyncedUids> sync_uidlist(const std::string& maildir, const std::vector<std::string>& bases,
                                std::uint32_t now, int lock_timeout_ms) {
    auto lock = UidListLock::acquire(maildir, lock_timeout_ms);
    if (!lock) return lock.error();
    bool fresh = false;
    UidList list = lock->read(now, &fresh);
    std::unordered_set<std::string_view> given(bases.begin(), bases.end());
    std::vector<std::string> keep;
    for (const auto& e : list.entries)
        if (given.count(e.base) == 0) keep.push_back(e.base);
    bool changed = fresh;
    if (!keep.empty()) {
        // Look again, under the lock, before dropping anything.
        std::unordered_set<std::string> on_disk;
        for (const char* sub : {"/new", "/cur"}) {
            std::unique_ptr<DIR, int (*)(DIR*)> d(::opendir((maildir + sub).c_str()), &::closedir);
            if (!d) continue;
            while (struct dirent* de = ::readdir(d.get()))
                if (de->d_name[0] != '.') on_disk.emplace(maildir_base_name(de->d_name));
        }
        std::erase_if(keep, [&](const std::string& b) { return on_disk.count(b) == 0; });
    }
    if (keep.empty()) {
        changed = merge_uidlist(&list, bases) || changed;
    } else {
        std::vector<std::string> all = bases;
        all.insert(all.end(), keep.begin(), keep.end());
        changed = merge_uidlist(&list, all) || changed;
    }
    if (changed) {
        if (auto st = lock->commit(list); !st) return st.error();
    } else {
        lock->release();
    }
    SyncedUids out;
    out.uid_validity = list.uid_validity;
    out.uid_of.reserve(list.entries.size());
    for (const auto& e : list.entries) out.uid_of.emplace(e.base, e.uid);
    return out;
}

std::string format_uidl(std::string_view format, std::uint32_t uid, std::uint32_t uid_validity,
                        std::string_view base) {
    std::string out;
    for (std::size_t i = 0; i < format.size(); ++i) {
        if (format[i] != '%' || i + 1 == format.size()) {
            out += format[i];
            continue;
        }
        std::size_t j = i + 1;
        std::string spec = "%";
        while (j < format.size() && (format[j] == '0' || format[j] == '-')) spec += format[j++];
        while (j < format.size() && format[j] >= '0' && format[j] <= '9' && spec.size() < 6) spec += format[j++];
        // Dovecot's X modifier is hexadecimal in lower case.
        char conv = 'u';
        if (j < format.size() && (format[j] == 'X' || format[j] == 'x')) {
            conv = 'x';
            ++j;
        }
        if (j >= format.size()) break;
        const char var = format[j];
        i = j;
        if (var == 'u' || var == 'v') {
            spec += conv;
            out += util::format(spec.c_str(), var == 'u' ? uid : uid_validity);
        } else if (var == 'f') {
            out += base;
        } else if (var == '%') {
            out += '%';
        }
    }
    return out;
}

}  // namespace mailroom::access
