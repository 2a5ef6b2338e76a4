// passwd_file.cc - see passwd_file.h.
#include "lib/auth/passwd_file.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "lib/util/fs.h"
#include "lib/util/strings.h"

namespace mailroom::auth {

namespace {

constexpr std::size_t kMaxFileLine = 8192;

// Dovecot size: a number with an optional B/k/M/G/T suffix.
std::optional<unsigned long long> parse_size(std::string_view v) {
    std::string s(v);
    char* end = nullptr;
    errno = 0;
    unsigned long long n = std::strtoull(s.c_str(), &end, 10);
    if (s.empty() || end == s.c_str() || errno != 0) return std::nullopt;
    std::string unit = util::lowercase(end);
    unsigned long long mult = 1;
    if (unit.empty() || unit == "b") mult = 1;
    else if (unit == "k" || unit == "kb") mult = 1024ULL;
    else if (unit == "m" || unit == "mb") mult = 1024ULL * 1024;
    else if (unit == "g" || unit == "gb") mult = 1024ULL * 1024 * 1024;
    else if (unit == "t" || unit == "tb") mult = 1024ULL * 1024 * 1024 * 1024;
    else return std::nullopt;
    return n * mult;
}

std::optional<long long> parse_id(std::string_view v) {
    if (v.empty()) return std::nullopt;
    std::string s(v);
    char* end = nullptr;
    long long n = std::strtoll(s.c_str(), &end, 10);
    if (*end != '\0' || n < 0) return std::nullopt;
    return n;
}

}  // namespace

std::string quota_rule_to_courier(std::string_view rule) {
    // "*:storage=1G" or "*:messages=100" or "*:storage=1G:messages=10".
    std::string out_size, out_count;
    for (const auto& part : util::split(rule, ":")) {
        auto eq = part.find('=');
        if (eq == std::string::npos) continue;
        std::string key = util::lowercase(part.substr(0, eq));
        std::string value = part.substr(eq + 1);
        if (key == "storage" || key == "bytes") {
            if (auto n = parse_size(value); n && *n > 0) out_size = std::to_string(*n) + "S";
        } else if (key == "messages") {
            if (auto n = parse_id(value); n && *n > 0) out_count = std::to_string(*n) + "C";
        }
    }
    if (!out_size.empty() && !out_count.empty()) return out_size + "," + out_count;
    return out_size + out_count;
}

Result<std::optional<UserRecord>> parse_passwd_file_line(std::string_view line) {
    if (line.size() > kMaxFileLine) return make_error("line too long");
    std::string_view l = util::trim(line);
    if (l.empty() || l.front() == '#') return std::optional<UserRecord>();
    // Seven colon-separated fields, the last (extra fields) taking the rest
    // (its values may hold colons: maildir:/path).
    std::vector<std::string> f;
    std::size_t pos = 0;
    while (f.size() < 7) {
        std::size_t c = l.find(':', pos);
        if (c == std::string_view::npos) {
            f.emplace_back(l.substr(pos));
            pos = l.size() + 1;
            break;
        }
        f.emplace_back(l.substr(pos, c - pos));
        pos = c + 1;
    }
    std::string extra = pos <= l.size() ? std::string(l.substr(pos)) : std::string();
    f.resize(7);
    UserRecord u;
    u.username = f[0];
    if (u.username.empty()) return make_error("empty user name");
    u.crypt_password = f[1];
    if (!f[2].empty()) {
        auto uid = parse_id(f[2]);
        if (!uid) return make_error("bad uid: " + f[2]);
        u.uid = *uid;
    }
    if (!f[3].empty()) {
        auto gid = parse_id(f[3]);
        if (!gid) return make_error("bad gid: " + f[3]);
        u.gid = *gid;
    }
    u.name = f[4];
    u.home = f[5];
    for (const auto& field : util::split(extra, " \t")) {
        auto eq = field.find('=');
        std::string key = field.substr(0, eq);
        std::string value = eq == std::string::npos ? std::string() : field.substr(eq + 1);
        if (key.rfind("userdb_", 0) == 0) key = key.substr(7);
        if (key == "mail") {
            // maildir:/path[:INDEX=...]: the path between the format and
            // the options.
            std::string_view v = value;
            if (auto c = v.find(':'); c != std::string_view::npos) {
                std::string_view format = v.substr(0, c);
                v = v.substr(c + 1);
                if (format != "maildir") continue;
            }
            if (auto c = v.find(':'); c != std::string_view::npos) v = v.substr(0, c);
            u.maildir = std::string(v);
        } else if (key == "quota_rule") {
            u.quota = quota_rule_to_courier(value);
        } else if (key == "home") {
            u.home = value;
        } else if (key == "uid" || key == "gid") {
            auto id = parse_id(value);
            if (!id) return make_error("bad " + key + ": " + value);
            (key == "uid" ? u.uid : u.gid) = *id;
        }
    }
    u.address = u.username;
    return std::optional<UserRecord>(std::move(u));
}

Status PasswdFileModule::refresh() {
    struct stat st {};
    if (::stat(path_.c_str(), &st) != 0)
        return make_sys_error(path_ + ": " + std::strerror(errno), errno, ErrorKind::kTemporary);
    if (st.st_mtim.tv_sec == mtime_ && st.st_mtim.tv_nsec == mtime_ns_ && st.st_size == size_) return ok_status();
    auto text = util::read_file(path_);
    if (!text) return text.error().prefixed("");
    std::map<std::string, UserRecord> users;
    std::size_t lineno = 0, pos = 0;
    const std::string& t = *text;
    while (pos < t.size()) {
        std::size_t nl = t.find('\n', pos);
        std::string_view line(t.data() + pos, (nl == std::string::npos ? t.size() : nl) - pos);
        pos = nl == std::string::npos ? t.size() : nl + 1;
        ++lineno;
        auto rec = parse_passwd_file_line(line);
        if (!rec) return make_temp_error(util::format("%s, line %zu: %s", path_.c_str(), lineno, rec.error().message.c_str()));
        if (*rec) users.emplace((*rec)->username, std::move(**rec));
    }
    users_ = std::move(users);
    mtime_ = st.st_mtim.tv_sec;
    mtime_ns_ = st.st_mtim.tv_nsec;
    size_ = st.st_size;
    return ok_status();
}

LookupResult PasswdFileModule::lookup(const std::string& user, const std::string&) {
    LookupResult r;
    if (auto st = refresh(); !st) {
        return LookupResult::temp_failure(st.error().message);
    }
    auto it = users_.find(user);
    if (it == users_.end()) return r;
    r.outcome = Outcome::kOk;
    r.user = it->second;
    return r;
}

std::optional<Result<std::vector<UserRecord>>> PasswdFileModule::enumerate() {
    if (auto st = refresh(); !st) return Result<std::vector<UserRecord>>(st.error());
    std::vector<UserRecord> all;
    for (const auto& [name, u] : users_) all.push_back(u);
    return Result<std::vector<UserRecord>>(std::move(all));
}

}  // namespace mailroom::auth
