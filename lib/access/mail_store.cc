// mail_store.cc - see mail_store.h.
#include "lib/access/mail_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <set>

#include "lib/access/folder_sync.h"
#include "lib/access/mail_store_internal.h"
#include "lib/log/log.h"
#include "lib/mailbox/maildir_folder.h"
#include "lib/mailbox/maildir_name.h"
#include "lib/mailbox/sys_error.h"
#include "lib/util/fs.h"
#include "lib/util/strings.h"

namespace mailroom::access {
namespace {

bool is_dir(const std::string& path) {
    struct stat st{};
    return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

// "inbox" in any case is "INBOX"; a trailing separator is dropped.
std::string canonical(std::string_view name) {
    while (!name.empty() && name.back() == mailbox::kFolderSeparator) name.remove_suffix(1);
    if (util::iequals(name, "INBOX")) return "INBOX";
    return std::string(name);
}

Error bad_name(std::string_view name) {
    return make_coded_error(ErrorCode::kCannot, "Invalid mailbox name: " + std::string(name));
}

Status write_all(int fd, std::string_view data, const std::string& path) {
    std::size_t off = 0;
    while (off < data.size()) {
        ssize_t n = ::write(fd, data.data() + off, data.size() - off);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return mailbox::sys_error("write", path, errno);
        off += static_cast<std::size_t>(n);
    }
    return ok_status();
}

// Writes `data` as a new file at `tmp`, fsyncs it and sets its mtime.
Status write_message_file(const StoreContext& ctx, const std::string& tmp, std::string_view data, std::time_t mtime) {
    util::UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, ctx.create.file_mode));
    if (!fd.valid()) return mailbox::sys_error("create", tmp, errno);
    Status st = write_all(fd.get(), data, tmp);
    if (st && ::fsync(fd.get()) != 0) st = mailbox::sys_error("fsync", tmp, errno);
    if (st && mtime != 0) {
        struct timespec times[2] = {{mtime, 0}, {mtime, 0}};
        if (::futimens(fd.get(), times) != 0) st = mailbox::sys_error("futimens", tmp, errno);
    }
    if (!st) ::unlink(tmp.c_str());
    return st;
}

std::uint32_t special_use_by_name(std::string_view leaf) {
    struct Name {
        const char* name;
        std::uint32_t attr;
    };
    static const Name kNames[] = {
        {"Drafts", kAttrDrafts},          {"Sent", kAttrSent},         {"Sent Messages", kAttrSent},
        {"Sent Items", kAttrSent},        {"Trash", kAttrTrash},       {"Deleted Messages", kAttrTrash},
        {"Deleted Items", kAttrTrash},    {"Junk", kAttrJunk},         {"Spam", kAttrJunk},
        {"Junk E-mail", kAttrJunk},       {"Archive", kAttrArchive},   {"Archives", kAttrArchive},
    };
    for (const auto& n : kNames)
        if (util::iequals(leaf, n.name)) return n.attr;
    return 0;
}

}  // namespace

// ---- helpers shared with mail_folder.cc ----

std::string new_message_base(const StoreContext& ctx, std::uint64_t size, std::uint64_t rfc822_size) {
    struct timeval tv{};
    ::gettimeofday(&tv, nullptr);
    mailbox::UniqueNameParts parts;
    parts.seconds = tv.tv_sec;
    parts.usec = tv.tv_usec;
    parts.pid = ::getpid();
    parts.counter = mailbox::next_delivery_counter();
    parts.host = ctx.host;
    return mailbox::add_maildir_sizes(mailbox::make_maildir_base(parts), size,
                                      rfc822_size != 0 ? std::optional<std::uint64_t>(rfc822_size) : std::nullopt);
}

Result<bool> place_file(const StoreContext& ctx, const std::string& from, const std::string& dest_dir,
                        const std::string& to, bool move) {
    if ((move ? ::rename(from.c_str(), to.c_str()) : ::link(from.c_str(), to.c_str())) == 0) return true;
    if (errno == ENOENT) return false;
    if (errno != EXDEV && errno != EPERM && errno != EMLINK && errno != ENOTSUP)
        return mailbox::sys_error(move ? "rename" : "link", from, errno);
    // Another file system (or no hard links): copy through tmp/.
    struct stat st{};
    if (::stat(from.c_str(), &st) != 0) {
        if (errno == ENOENT) return false;
        return mailbox::sys_error("stat", from, errno);
    }
    auto data = util::read_file(from);
    if (!data) return data.error();
    const std::string tmp = dest_dir + "/tmp/" + to.substr(to.rfind('/') + 1);
    if (auto w = write_message_file(ctx, tmp, *data, st.st_mtim.tv_sec); !w) return w.error();
    if (::rename(tmp.c_str(), to.c_str()) != 0) {
        const int err = errno;
        ::unlink(tmp.c_str());
        return mailbox::sys_error("rename", tmp, err);
    }
    if (move && ::unlink(from.c_str()) != 0 && errno != ENOENT) log::warn("unlink %s: %s", from.c_str(), std::strerror(errno));
    return true;
}

Status check_quota(const StoreContext& ctx, std::uint64_t bytes, std::uint64_t count) {
    if (!ctx.quota && !util::path_exists(ctx.maildir + "/" + mailbox::kMaildirSizeFile)) return ok_status();
    mailbox::QuotaOptions qopts;
    qopts.exclude_trash = ctx.quota_exclude_trash;
    qopts.create = ctx.create;
    auto q = mailbox::read_maildir_quota(ctx.maildir, ctx.quota, qopts);
    if (!q) return q.error();
    if (!q->limits.unlimited() && mailbox::quota_would_exceed(q->limits, q->usage, bytes, count))
        return make_coded_error(ErrorCode::kOverQuota, "Quota exceeded (mailbox for user is full)");
    return ok_status();
}

std::uint64_t crlf_size(std::string_view text) {
    std::uint64_t size = text.size();
    for (std::size_t i = 0; i < text.size(); ++i)
        if (text[i] == '\n' && (i == 0 || text[i - 1] != '\r')) ++size;
    return size;
}

// ---- MailStore ----

MailStore::~MailStore() = default;

Result<std::unique_ptr<MailStore>> MailStore::open(StoreOptions options) {
    if (options.maildir.empty() || options.maildir[0] != '/') return make_error("mail store: the Maildir must be an absolute path");
    if (auto st = mailbox::ensure_maildir(options.maildir, options.create); !st) return st.error();
    auto ctx = std::make_shared<StoreContext>();
    ctx->maildir = options.maildir;
    ctx->create = options.create;
    ctx->quota = options.quota;
    ctx->quota_exclude_trash = options.quota_exclude_trash;
    ctx->now = options.now;
    ctx->lock_timeout_ms = options.lock_timeout_ms;
    char host[256] = {};
    if (::gethostname(host, sizeof host - 1) != 0 || host[0] == '\0') std::strcpy(host, "localhost");
    ctx->host = host;
    auto store = std::unique_ptr<MailStore>(new MailStore());
    store->ctx_ = std::move(ctx);
    return store;
}

const std::string& MailStore::maildir() const { return ctx_->maildir; }

std::uint32_t MailStore::special_use_of(std::string_view name) {
    // A top-level name, or one directly under INBOX (Courier's "INBOX.Sent").
    std::string_view leaf = name;
    if (util::starts_with_icase(leaf, "INBOX.")) leaf.remove_prefix(6);
    if (leaf.find(mailbox::kFolderSeparator) != std::string_view::npos) return 0;
    return special_use_by_name(leaf);
}

bool MailStore::exists(std::string_view name) const {
    auto path = mailbox::folder_path(ctx_->maildir, canonical(name));
    return path && is_dir(*path + "/cur");
}

Result<std::vector<MailboxInfo>> MailStore::list(bool with_subscribed_missing) {
    auto folders = mailbox::list_folders(ctx_->maildir);
    if (!folders) return folders.error();
    std::set<std::string> selectable{"INBOX"};
    for (const auto& f : *folders) selectable.insert(f.name);
    std::set<std::string> all = selectable;
    for (const auto& name : selectable) {
        for (std::size_t dot = name.find('.'); dot != std::string::npos; dot = name.find('.', dot + 1)) {
            std::string parent = name.substr(0, dot);
            if (util::iequals(parent, "INBOX")) parent = "INBOX";
            all.insert(parent);
        }
    }
    auto subs = subscriptions();
    std::set<std::string> subscribed;
    if (subs) subscribed.insert(subs->begin(), subs->end());
    std::vector<MailboxInfo> out;
    out.reserve(all.size());
    auto add = [&](const std::string& name) {
        MailboxInfo info{name, 0};
        const std::string prefix = name + ".";
        auto it = all.upper_bound(name);
        const bool children = it != all.end() && it->compare(0, prefix.size(), prefix) == 0;
        info.attrs |= children ? kAttrHasChildren : kAttrHasNoChildren;
        if (selectable.count(name) == 0) {
            info.attrs |= kAttrNoselect;
        } else {
            info.attrs |= special_use_of(name);
        }
        if (subscribed.count(name) != 0) info.attrs |= kAttrSubscribed;
        out.push_back(std::move(info));
    };
    add("INBOX");
    for (const auto& name : all)
        if (name != "INBOX") add(name);
    if (with_subscribed_missing) {
        for (const auto& s : subscribed)
            if (all.count(s) == 0) out.push_back(MailboxInfo{s, kAttrNonExistent | kAttrSubscribed});
    }
    return out;
}

Result<std::vector<std::string>> MailStore::subscriptions() const {
    std::vector<std::string> out;
    auto text = util::read_file(ctx_->maildir + "/" + kSubscriptionsFile);
    if (text) {
        // Dovecot 2.3 may write "V\t2" and a blank line first, then names
        // with TAB as the hierarchy separator.
        auto lines = util::split(*text, "\n");
        std::size_t i = 0;
        bool v2 = false;
        if (!lines.empty() && lines[0].rfind("V\t", 0) == 0) {
            v2 = true;
            i = 1;
        }
        for (; i < lines.size(); ++i) {
            std::string name = lines[i];
            if (!name.empty() && name.back() == '\r') name.pop_back();
            if (name.empty()) continue;
            if (v2) std::replace(name.begin(), name.end(), '\t', mailbox::kFolderSeparator);
            name = canonical(name);
            if (std::find(out.begin(), out.end(), name) == out.end()) out.push_back(std::move(name));
        }
        return out;
    }
    if (util::path_exists(ctx_->maildir + "/" + kSubscriptionsFile)) return text.error();
    // Courier's list, names under its "INBOX." namespace.
    auto courier = util::read_file(ctx_->maildir + "/" + kCourierSubscriptionsFile);
    if (!courier) return out;
    for (auto name : util::split(*courier, "\n")) {
        if (!name.empty() && name.back() == '\r') name.pop_back();
        if (util::starts_with_icase(name, "INBOX.")) name = name.substr(6);
        if (name.empty()) continue;
        name = canonical(name);
        if (std::find(out.begin(), out.end(), name) == out.end()) out.push_back(std::move(name));
    }
    return out;
}

namespace {

Status write_subscriptions(const StoreContext& ctx, const std::vector<std::string>& names) {
    std::string text;
    for (const auto& n : names) text += n + "\n";
    return util::write_file_atomic(ctx.maildir + "/" + kSubscriptionsFile, text, ctx.create.file_mode);
}

}  // namespace

Status MailStore::subscribe(std::string_view name) {
    const std::string n = canonical(name);
    if (n.empty() || n.find('\n') != std::string::npos || n.find('/') != std::string::npos) return bad_name(name);
    auto subs = subscriptions();
    if (!subs) return subs.error();
    if (std::find(subs->begin(), subs->end(), n) != subs->end()) return ok_status();
    subs->push_back(n);
    return write_subscriptions(*ctx_, *subs);
}

Status MailStore::unsubscribe(std::string_view name) {
    const std::string n = canonical(name);
    auto subs = subscriptions();
    if (!subs) return subs.error();
    auto it = std::find(subs->begin(), subs->end(), n);
    if (it == subs->end()) return make_coded_error(ErrorCode::kNonExistent, "Mailbox is not subscribed: " + n);
    subs->erase(it);
    return write_subscriptions(*ctx_, *subs);
}

Status MailStore::create(std::string_view name) {
    const std::string n = canonical(name);
    if (n == "INBOX" || exists(n)) return make_coded_error(ErrorCode::kAlreadyExists, "Mailbox already exists");
    if (!mailbox::folder_to_maildir_name(n)) return bad_name(name);
    return mailbox::create_folder(ctx_->maildir, n, ctx_->create);
}

Status MailStore::ensure_special_folders() {
    auto boxes = list();
    if (!boxes) return boxes.error();
    std::uint32_t have = 0;
    for (const auto& b : *boxes) have |= b.attrs & kSpecialUseAttrs;
    static const std::pair<const char*, std::uint32_t> kStandard[] = {
        {"Drafts", kAttrDrafts}, {"Sent", kAttrSent}, {"Trash", kAttrTrash}, {"Junk", kAttrJunk}};
    for (const auto& [name, attr] : kStandard) {
        if (have & attr) continue;
        if (auto st = create(name); !st && !st.error().is(ErrorCode::kAlreadyExists)) return st;
        if (auto st = subscribe(name); !st) return st;
    }
    return ok_status();
}

namespace {

// Child folder names of `name` ("a" -> "a.x", "a.x.y"), from the directory.
Result<std::vector<std::string>> children_of(const std::string& maildir, const std::string& name) {
    auto folders = mailbox::list_folders(maildir);
    if (!folders) return folders.error();
    std::vector<std::string> out;
    const std::string prefix = name + ".";
    for (const auto& f : *folders)
        if (f.name.compare(0, prefix.size(), prefix) == 0) out.push_back(f.name);
    return out;
}

// Bytes and messages in a folder directory's new/ and cur/.
mailbox::QuotaUsage usage_of(const std::string& dir) {
    mailbox::QuotaUsage u;
    for (const char* sub : {"/new", "/cur"}) {
        std::error_code ec;
        for (const auto& e : std::filesystem::directory_iterator(dir + sub, ec)) {
            const std::string fn = e.path().filename().string();
            if (fn.empty() || fn[0] == '.') continue;
            auto size = mailbox::maildir_name_size(fn);
            if (!size) {
                std::error_code ec2;
                const auto s = e.file_size(ec2);
                size = ec2 ? 0 : static_cast<std::uint64_t>(s);
            }
            u.bytes += static_cast<std::int64_t>(*size);
            ++u.count;
        }
    }
    return u;
}

}  // namespace

Status MailStore::remove(std::string_view name) {
    const std::string n = canonical(name);
    if (n == "INBOX") return make_coded_error(ErrorCode::kCannot, "INBOX can't be deleted.");
    auto path = mailbox::folder_path(ctx_->maildir, n);
    if (!path) return bad_name(name);
    if (!is_dir(*path + "/cur")) {
        auto kids = children_of(ctx_->maildir, n);
        if (kids && !kids->empty())
            return make_coded_error(ErrorCode::kCannot, "Mailbox has children, delete them first");
        return make_coded_error(ErrorCode::kNonExistent, "Mailbox doesn't exist: " + n);
    }
    // Out of sight first (one rename), then removed at leisure; a crash in
    // between leaves a "..mailroom-deleted-*" directory no listing shows.
    const std::string gone = ctx_->maildir + "/..mailroom-deleted-" + std::to_string(::getpid()) + "-" +
                             std::to_string(mailbox::next_delivery_counter());
    if (::rename(path->c_str(), gone.c_str()) != 0) return mailbox::sys_error("rename", *path, errno);
    const auto usage = usage_of(gone);
    std::error_code ec;
    std::filesystem::remove_all(gone, ec);
    if (ec) log::warn("remove %s: %s", gone.c_str(), ec.message().c_str());
    if (usage.count > 0) {
        if (auto st = mailbox::append_quota_delta(ctx_->maildir, -usage.bytes, -usage.count); !st)
            log::warn("%s", st.error().message.c_str());
    }
    return ok_status();
}

Status MailStore::rename(std::string_view from_name, std::string_view to_name) {
    const std::string from = canonical(from_name);
    const std::string to = canonical(to_name);
    if (to == "INBOX" || exists(to)) return make_coded_error(ErrorCode::kAlreadyExists, "Target mailbox already exists");
    auto to_path = mailbox::folder_path(ctx_->maildir, to);
    if (!to_path) return bad_name(to_name);
    if (from == "INBOX") {
        // RFC 3501: INBOX's messages move to the new folder, INBOX stays
        // (empty), its children stay where they are.
        if (auto st = mailbox::create_folder(ctx_->maildir, to, ctx_->create); !st) return st;
        for (const char* sub : {"new", "cur"}) {
            std::error_code ec;
            for (const auto& e : std::filesystem::directory_iterator(ctx_->maildir + "/" + sub, ec)) {
                const std::string fn = e.path().filename().string();
                if (fn.empty() || fn[0] == '.') continue;
                const std::string dest = *to_path + "/" + sub + "/" + fn;
                if (::rename(e.path().c_str(), dest.c_str()) != 0 && errno != ENOENT)
                    return mailbox::sys_error("rename", e.path().string(), errno);
            }
            if (ec) return make_temp_error("read " + ctx_->maildir + "/" + sub + ": " + ec.message());
        }
        return ok_status();
    }
    auto from_path = mailbox::folder_path(ctx_->maildir, from);
    if (!from_path) return bad_name(from_name);
    if (to.compare(0, from.size() + 1, from + ".") == 0)
        return make_coded_error(ErrorCode::kCannot, "Can't rename mailbox under itself");
    auto kids = children_of(ctx_->maildir, from);
    if (!kids) return kids.error();
    const bool selectable = is_dir(*from_path + "/cur");
    if (!selectable && kids->empty()) return make_coded_error(ErrorCode::kNonExistent, "Mailbox doesn't exist: " + from);
    std::vector<std::pair<std::string, std::string>> moves;  // (from dir, to dir)
    if (selectable) moves.emplace_back(*from_path, *to_path);
    for (const auto& kid : *kids) {
        const std::string new_name = to + kid.substr(from.size());
        auto a = mailbox::folder_path(ctx_->maildir, kid);
        auto b = mailbox::folder_path(ctx_->maildir, new_name);
        if (!a || !b) return bad_name(new_name);
        if (is_dir(*b)) return make_coded_error(ErrorCode::kAlreadyExists, "Target mailbox already exists: " + new_name);
        moves.emplace_back(*a, *b);
    }
    for (const auto& [a, b] : moves)
        if (::rename(a.c_str(), b.c_str()) != 0) return mailbox::sys_error("rename", a, errno);
    // Subscriptions follow the folders, as Dovecot does.
    if (auto subs = subscriptions(); subs) {
        bool changed = false;
        for (auto& s : *subs) {
            if (s == from || s.compare(0, from.size() + 1, from + ".") == 0) {
                s = to + s.substr(from.size());
                changed = true;
            }
        }
        if (changed) (void)write_subscriptions(*ctx_, *subs);
    }
    return ok_status();
}

Result<MailboxStatus> MailStore::status(std::string_view name) {
    auto path = mailbox::folder_path(ctx_->maildir, canonical(name));
    if (!path) return bad_name(name);
    auto state = FolderState::open(ctx_, *path);
    if (!state) return state.error();
    auto held = (*state)->lock();
    if (!held) return held.error();
    if (auto st = (*state)->refresh(RefreshOptions{}); !st) return st.error();
    MailboxStatus s;
    auto& index = (*state)->index();
    s.messages = static_cast<std::uint32_t>(index.records.size());
    s.uid_next = index.uid_next;
    s.uid_validity = index.uid_validity;
    s.highest_modseq = index.highest_modseq;
    for (auto& r : index.records) {
        if (r.uid >= index.first_recent_uid) ++s.recent;
        const auto flags = mailbox::parse_maildir_name(r.filename).flags;
        if (!mailbox::maildir_has_flag(flags, 'S')) ++s.unseen;
        if (mailbox::maildir_has_flag(flags, 'T')) ++s.deleted;
        if (r.rfc822_size == 0) {
            if (auto text = util::read_file((*state)->path_of(r))) (*state)->remember_rfc822_size(r.uid, crlf_size(*text));
        }
        s.size += r.rfc822_size != 0 ? r.rfc822_size : r.size;
    }
    if (auto st = (*state)->save(); !st) log::warn("%s", st.error().message.c_str());
    return s;
}

Result<std::unique_ptr<MailFolder>> MailStore::open_folder(std::string_view name, bool read_only) {
    const std::string n = canonical(name);
    auto path = mailbox::folder_path(ctx_->maildir, n);
    if (!path) return make_coded_error(ErrorCode::kNonExistent, "Mailbox doesn't exist: " + n);
    auto state = FolderState::open(ctx_, *path);
    if (!state) return state.error();
    auto folder = std::unique_ptr<MailFolder>(new MailFolder());
    folder->ctx_ = ctx_;
    folder->name_ = n;
    folder->read_only_ = read_only;
    folder->state_ = std::move(*state);
    auto changes = folder->sync();
    if (!changes) return changes.error();
    return folder;
}

Result<AppendResult> MailStore::append(std::string_view folder, std::string_view message, std::uint8_t flags,
                                       const std::vector<std::string>& keywords, std::time_t internal_date) {
    const std::string n = canonical(folder);
    auto path = mailbox::folder_path(ctx_->maildir, n);
    if (!path) return make_coded_error(ErrorCode::kNonExistent, "Mailbox doesn't exist: " + n);
    auto state = FolderState::open(ctx_, *path);
    if (!state) return state.error();
    if (auto st = check_quota(*ctx_, message.size(), 1); !st) return st.error();
    auto held = (*state)->lock();
    if (!held) return held.error();
    if (auto st = (*state)->refresh(RefreshOptions{}); !st) return st.error();
    std::uint32_t kw = 0;
    if (!keywords.empty()) {
        auto bits = (*state)->keyword_bits(keywords);
        if (!bits) return bits.error();
        kw = *bits;
    }
    const std::string base = new_message_base(*ctx_, message.size(), crlf_size(message));
    const std::string tmp = *path + "/tmp/" + base;
    if (auto st = write_message_file(*ctx_, tmp, message, internal_date != 0 ? internal_date : std::time(nullptr)); !st)
        return st.error();
    std::string other;
    const std::string final_path = *path + "/cur/" + mailbox::format_maildir_name(base, info_from_flags(flags & kAllSystemFlags, kw, other));
    if (::rename(tmp.c_str(), final_path.c_str()) != 0) {
        const int err = errno;
        ::unlink(tmp.c_str());
        return mailbox::sys_error("rename", tmp, err);
    }
    auto uids = (*state)->add_files({final_path.substr(final_path.rfind('/') + 1)});
    if (!uids) return uids.error();
    AppendResult result;
    result.uid_validity = (*state)->index().uid_validity;
    result.uid = uids->front();
    if (auto st = (*state)->save(); !st) log::warn("%s", st.error().message.c_str());
    if (auto st = mailbox::append_quota_delta(ctx_->maildir, static_cast<std::int64_t>(message.size()), 1); !st)
        log::warn("%s", st.error().message.c_str());
    return result;
}

Result<QuotaInfo> MailStore::quota() {
    mailbox::QuotaOptions qopts;
    qopts.exclude_trash = ctx_->quota_exclude_trash;
    qopts.create = ctx_->create;
    auto q = mailbox::read_maildir_quota(ctx_->maildir, ctx_->quota, qopts);
    if (!q) return q.error();
    QuotaInfo info;
    info.limits = q->limits;
    info.usage = q->usage;
    info.limited = !q->limits.unlimited();
    return info;
}

}  // namespace mailroom::access
