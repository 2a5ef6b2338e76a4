// maildir_quota.cc - see maildir_quota.h.
#include "lib/mailbox/maildir_quota.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cinttypes>
#include <climits>
#include <cstdio>
#include <ctime>
#include <memory>
#include <vector>

#include "lib/mailbox/mailbox_internal.h"
#include "lib/mailbox/maildir_folder.h"
#include "lib/mailbox/sys_error.h"
#include "lib/util/fs.h"
#include "lib/util/strings.h"
#include "lib/util/unique_fd.h"

namespace mailroom::mailbox {

namespace {

bool parse_u64(std::string_view s, uint64_t* out) {
    if (s.empty()) return false;
    uint64_t v = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return false;
        uint64_t d = static_cast<uint64_t>(c - '0');
        if (v > (UINT64_MAX - d) / 10) return false;
        v = v * 10 + d;
    }
    *out = v;
    return true;
}

bool parse_i64(std::string_view s, int64_t* out) {
    bool neg = false;
    if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
        neg = s[0] == '-';
        s.remove_prefix(1);
    }
    uint64_t v;
    if (!parse_u64(s, &v) || v > static_cast<uint64_t>(INT64_MAX)) return false;
    *out = neg ? -static_cast<int64_t>(v) : static_cast<int64_t>(v);
    return true;
}

Error bad_spec(std::string_view spec) { return make_error("invalid quota specification \"" + std::string(spec) + "\""); }

struct DirStamp {
    std::string path;
    struct timespec mtime;
};

bool same_stamp(const DirStamp& s) {
    struct stat st;
    if (::stat(s.path.c_str(), &st) < 0) return false;
    return st.st_mtim.tv_sec == s.mtime.tv_sec && st.st_mtim.tv_nsec == s.mtime.tv_nsec;
}

// Adds up new/ or cur/ of one Maildir. A missing directory counts as empty.
Status sum_dir(const std::string& dir, QuotaUsage* usage, std::vector<DirStamp>* stamps) {
    std::unique_ptr<DIR, int (*)(DIR*)> d(::opendir(dir.c_str()), &::closedir);
    if (!d) {
        if (errno == ENOENT) return ok_status();
        return sys_error("opendir", dir, errno);
    }
    struct stat st;
    if (stamps && ::fstat(::dirfd(d.get()), &st) == 0) stamps->push_back(DirStamp{dir, st.st_mtim});
    for (;;) {
        errno = 0;
        struct dirent* e = ::readdir(d.get());
        if (e == nullptr) {
            if (errno != 0) return sys_error("readdir", dir, errno);
            break;
        }
        if (e->d_name[0] == '.') continue;
        uint64_t size;
        if (auto s = maildir_name_size(e->d_name)) {
            size = *s;
        } else {
            std::string path = dir + "/" + e->d_name;
            if (::stat(path.c_str(), &st) < 0) {
                if (errno == ENOENT) continue;  // expunged while we looked
                return sys_error("stat", path, errno);
            }
            if (!S_ISREG(st.st_mode)) continue;
            size = static_cast<uint64_t>(st.st_size);
        }
        usage->bytes += static_cast<int64_t>(size);
        usage->count += 1;
    }
    return ok_status();
}

Result<QuotaUsage> scan_once(const std::string& maildir, const QuotaOptions& options, std::vector<DirStamp>* stamps) {
    QuotaUsage usage;
    std::vector<std::string> roots{maildir};
    auto folders = list_folders(maildir);
    if (!folders) return folders.error();
    for (const FolderInfo& f : *folders) {
        if (options.exclude_trash && f.name == "Trash") continue;
        roots.push_back(maildir + "/" + f.dir_name);
    }
    for (const std::string& root : roots) {
        for (const char* sub : {"new", "cur"}) {
            Status s = sum_dir(root + "/" + sub, &usage, stamps);
            if (!s) return s.error();
        }
    }
    return usage;
}

}  // namespace

Result<QuotaLimits> parse_quota_spec(std::string_view spec) {
    QuotaLimits limits;
    std::string_view s = util::trim(spec);
    if (s.empty()) return limits;
    bool seen_bytes = false;
    bool seen_count = false;
    while (!s.empty()) {
        size_t comma = s.find(',');
        std::string_view part = util::trim(s.substr(0, comma));
        s = comma == std::string_view::npos ? std::string_view() : s.substr(comma + 1);
        if (comma != std::string_view::npos && s.empty()) return bad_spec(spec);  // trailing comma
        if (part.empty()) return bad_spec(spec);
        char suffix = part.back();
        uint64_t value;
        if (suffix >= '0' && suffix <= '9') {
            // A plain number is a byte limit (Extmail's quota column).
            if (seen_bytes || !parse_u64(part, &value)) return bad_spec(spec);
            limits.bytes = value;
            seen_bytes = true;
            continue;
        }
        if (!parse_u64(part.substr(0, part.size() - 1), &value)) return bad_spec(spec);
        if (suffix == 'S' || suffix == 's') {
            if (seen_bytes) return bad_spec(spec);
            limits.bytes = value;
            seen_bytes = true;
        } else if (suffix == 'C' || suffix == 'c') {
            if (seen_count) return bad_spec(spec);
            limits.count = value;
            seen_count = true;
        } else {
            return bad_spec(spec);
        }
    }
    return limits;
}

std::string format_quota_spec(const QuotaLimits& limits) {
    std::string out;
    if (limits.bytes) out = std::to_string(limits.bytes) + "S";
    if (limits.count) {
        if (!out.empty()) out.push_back(',');
        out += std::to_string(limits.count) + "C";
    }
    return out;
}

Result<MaildirSizeContent> parse_maildirsize(std::string_view content) {
    MaildirSizeContent out;
    if (content.empty() || content.back() != '\n') {
        return make_error("maildirsize: empty or last line incomplete");
    }
    size_t nl = content.find('\n');
    auto limits = parse_quota_spec(content.substr(0, nl));
    if (!limits) return make_error("maildirsize: bad header: " + limits.error().message);
    out.limits = *limits;
    std::string_view rest = content.substr(nl + 1);
    size_t line_no = 1;
    while (!rest.empty()) {
        ++line_no;
        nl = rest.find('\n');
        std::string_view line = util::trim(rest.substr(0, nl));
        rest.remove_prefix(nl + 1);
        if (line.empty()) continue;
        size_t sp = line.find_first_of(" \t");
        int64_t bytes;
        int64_t count;
        if (sp == std::string_view::npos || !parse_i64(line.substr(0, sp), &bytes) ||
            !parse_i64(util::trim(line.substr(sp)), &count)) {
            return make_error(util::format("maildirsize: line %zu is not \"<bytes> <count>\"", line_no));
        }
        out.usage.bytes += bytes;
        out.usage.count += count;
        ++out.delta_lines;
    }
    return out;
}

std::string format_quota_delta(int64_t bytes, int64_t count) {
    char line[64];
    std::snprintf(line, sizeof(line), "%" PRId64 " %" PRId64 "\n", bytes, count);
    return line;
}

std::string format_maildirsize(const QuotaLimits& limits, const QuotaUsage& usage) {
    return format_quota_spec(limits) + "\n" + format_quota_delta(usage.bytes, usage.count);
}

bool maildirsize_needs_recalc(bool exists, uint64_t file_size, long age_seconds, bool over_quota) {
    if (!exists) return true;
    if (file_size > kMaildirSizeMaxBytes) return true;
    return over_quota && age_seconds > kMaildirSizeStaleSeconds;
}

bool quota_exceeded(const QuotaLimits& limits, const QuotaUsage& usage) {
    if (limits.bytes && usage.bytes > 0 && static_cast<uint64_t>(usage.bytes) > limits.bytes) return true;
    if (limits.count && usage.count > 0 && static_cast<uint64_t>(usage.count) > limits.count) return true;
    return false;
}

bool quota_would_exceed(const QuotaLimits& limits, const QuotaUsage& usage, uint64_t message_bytes,
                        uint64_t message_count) {
    auto over = [](uint64_t limit, int64_t used, uint64_t more) {
        if (limit == 0) return false;
        uint64_t base = used > 0 ? static_cast<uint64_t>(used) : 0;
        if (more > UINT64_MAX - base) return true;
        return base + more > limit;
    };
    return over(limits.bytes, usage.bytes, message_bytes) || over(limits.count, usage.count, message_count);
}

Status append_quota_delta(const std::string& maildir, int64_t bytes, int64_t count) {
    std::string path = maildir + "/" + kMaildirSizeFile;
    util::UniqueFd fd(::open(path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC | O_NOFOLLOW));
    if (!fd.valid()) {
        if (errno == ENOENT) return ok_status();
        return sys_error("open", path, errno);
    }
    std::string line = format_quota_delta(bytes, count);
    // One write so concurrent appenders never interleave within a line.
    ssize_t n;
    do {
        n = ::write(fd.get(), line.data(), line.size());
    } while (n < 0 && errno == EINTR);
    if (n < 0) return sys_error("write", path, errno);
    if (static_cast<size_t>(n) != line.size()) return sys_error("write", path, EIO);
    return ok_status();
}

Result<QuotaUsage> calculate_maildir_usage(const std::string& maildir, const QuotaOptions& options) {
    // Rescan when a directory changed while we counted (a delivery or
    // expunge raced with us); give up on exactness after a few rounds.
    Result<QuotaUsage> usage = QuotaUsage{};
    for (int round = 0; round < 3; ++round) {
        std::vector<DirStamp> stamps;
        usage = scan_once(maildir, options, options.settle ? &stamps : nullptr);
        if (!usage || !options.settle) return usage;
        bool stable = true;
        for (const DirStamp& s : stamps) {
            if (!same_stamp(s)) {
                stable = false;
                break;
            }
        }
        if (stable) break;
    }
    return usage;
}

Result<QuotaUsage> recalculate_maildirsize(const std::string& maildir, const QuotaLimits& limits,
                                           const QuotaOptions& options) {
    auto usage = calculate_maildir_usage(maildir, options);
    if (!usage) return usage;
    std::string content = format_maildirsize(limits, *usage);
    UniqueNameParts parts;
    internal::now_timeval(&parts.seconds, &parts.usec);
    parts.pid = internal::cached_pid();
    parts.counter = next_delivery_counter();
    parts.host = "maildirsize";
    std::string tmp = maildir_path(maildir, "tmp", make_maildir_base(parts));
    std::string path = maildir + "/" + kMaildirSizeFile;
    util::UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
                             options.create.file_mode));
    if (!fd.valid()) return sys_error("create", tmp, errno);
    Status s = internal::after_create(tmp, options.create);
    if (s) s = internal::write_all(fd.get(), content, tmp);
    if (s && ::fsync(fd.get()) < 0) s = sys_error("fsync", tmp, errno);
    fd.reset();
    if (s && ::rename(tmp.c_str(), path.c_str()) < 0) s = sys_error("rename", tmp, errno);
    if (!s) {
        ::unlink(tmp.c_str());
        return s.error();
    }
    // No fsync of the Maildir: maildirsize is a cache of what the folders
    // hold; a rename lost in a crash leaves the older, complete copy, which
    // the next recalculation replaces. The file's own fsync above keeps a
    // crash from leaving an empty maildirsize behind the new name.
    return usage;
}

Result<QuotaState> read_maildir_quota(const std::string& maildir, std::optional<QuotaLimits> configured,
                                      const QuotaOptions& options) {
    std::string path = maildir + "/" + kMaildirSizeFile;
    QuotaState state;
    bool exists = false;
    bool parsed = false;
    uint64_t file_size = 0;
    long age = 0;
    MaildirSizeContent content;
    util::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
    if (fd.valid()) {
        struct stat st;
        if (::fstat(fd.get(), &st) < 0) return sys_error("fstat", path, errno);
        exists = true;
        file_size = static_cast<uint64_t>(st.st_size);
        age = static_cast<long>(::time(nullptr) - st.st_mtime);
        // Bounded read: a file over the recalculation size is rebuilt anyway.
        if (file_size <= 4 * kMaildirSizeMaxBytes) {
            std::string data(static_cast<size_t>(file_size), '\0');
            size_t got = 0;
            while (got < data.size()) {
                ssize_t n = ::read(fd.get(), data.data() + got, data.size() - got);
                if (n < 0) {
                    if (errno == EINTR) continue;
                    return sys_error("read", path, errno);
                }
                if (n == 0) break;
                got += static_cast<size_t>(n);
            }
            data.resize(got);
            auto c = parse_maildirsize(data);
            if (c) {
                content = *c;
                parsed = true;
            }
        }
    } else if (errno != ENOENT) {
        return sys_error("open", path, errno);
    }
    state.limits = configured ? *configured : content.limits;
    state.usage = content.usage;
    if (state.limits.unlimited()) return state;
    bool recalc = !parsed || content.limits != state.limits ||
                  maildirsize_needs_recalc(exists, file_size, age, quota_exceeded(state.limits, state.usage));
    if (recalc) {
        auto usage = recalculate_maildirsize(maildir, state.limits, options);
        if (!usage) return usage.error();
        state.usage = *usage;
        state.recalculated = true;
    }
    return state;
}

}  // namespace mailroom::mailbox
