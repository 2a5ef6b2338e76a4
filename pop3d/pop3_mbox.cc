// pop3_mbox.cc - Pop3Mailbox on an mbox INBOX (see pop3_mailbox.h).
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>

#include "lib/access/uidlist.h"
#include "lib/log/log.h"
#include "lib/mailbox/mbox.h"
#include "lib/mailbox/mbox_lock.h"
#include "lib/util/strings.h"
#include "pop3d/pop3_mailbox.h"

namespace mailroom::pop3d {
namespace {

// Short waits at open (a delivery holds the lock for a moment); longer at
// commit, where giving up loses nothing but the deletions.
mailbox::LockOptions lock_options(int tries) {
    mailbox::LockOptions o;
    o.tries = tries;
    o.delay_ms = 200;
    return o;
}

Status mkdirs(const std::string& path) {
    std::string cur;
    for (const auto& part : util::split(path, "/")) {
        cur += "/" + part;
        if (::mkdir(cur.c_str(), 0700) != 0 && errno != EEXIST)
            return make_sys_error("mkdir " + cur + ": " + std::strerror(errno), errno);
    }
    return ok_status();
}

Status write_all(int fd, std::string_view data, const std::string& path) {
    while (!data.empty()) {
        ssize_t n = ::write(fd, data.data(), data.size());
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return make_sys_error("write " + path + ": " + std::strerror(errno), errno, ErrorKind::kTemporary);
        data.remove_prefix(static_cast<std::size_t>(n));
    }
    return ok_status();
}

}  // namespace

std::unique_ptr<Pop3Mailbox> Pop3Mailbox::open_mbox(const std::string& inbox, const std::string& index_dir,
                                                    const std::string& uidl_format, std::uint32_t now,
                                                    OpenError* why, std::string* reason) {
    auto box = std::unique_ptr<Pop3Mailbox>(new Pop3Mailbox());
    box->mbox_ = true;
    box->mbox_path_ = inbox;
    *why = OpenError::kTemporary;
    int fd = ::open(inbox.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        *reason = "open " + inbox + ": " + std::strerror(errno);
        return nullptr;
    }
    box->lock_ = util::UniqueFd(fd);
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
        *why = errno == EWOULDBLOCK ? OpenError::kInUse : OpenError::kTemporary;
        *reason = errno == EWOULDBLOCK ? "Mailbox is locked by another POP3 session"
                                       : "flock " + inbox + ": " + std::strerror(errno);
        return nullptr;
    }
    std::vector<mailbox::MboxMessage> index;
    {
        const auto opts = lock_options(10);
        auto dot = mailbox::DotLock::acquire(inbox, opts);
        if (!dot) {
            *reason = dot.error().message;
            return nullptr;
        }
        if (auto st = mailbox::lock_fd(fd, inbox, opts); !st) {
            *reason = st.error().message;
            return nullptr;
        }
        struct stat st{};
        ::fstat(fd, &st);
        box->mbox_snapshot_ = static_cast<std::uint64_t>(st.st_size);
        auto idx = mailbox::index_mbox(inbox);
        mailbox::unlock_fd(fd, opts);
        if (!idx) {
            *reason = idx.error().message;
            return nullptr;
        }
        index = std::move(*idx);
    }
    // Keys for the UID list: a digest of the From line and the header,
    // numbered when two messages are alike.
    std::vector<std::string> keys;
    std::map<std::string, int> seen;
    for (const auto& m : index) {
        if (m.end_offset > box->mbox_snapshot_) break;
        auto text = mailbox::read_mbox_message(inbox, m);
        if (!text) {
            *reason = text.error().message;
            return nullptr;
        }
        const auto hdr_end = text->find("\n\n");
        std::string key = digest_hex("sha256", m.from_line + "\n" + text->substr(0, hdr_end)).substr(0, 24);
        if (int n = seen[key]++; n > 0) key += "-" + std::to_string(n);
        Pop3Message pm;
        pm.file_size = text->size();
        pm.size = pop3_size(*text);
        box->add(pm, key);
        box->spans_.push_back(MboxSpan{m.from_offset, m.body_offset, m.end_offset});
        keys.push_back(std::move(key));
    }
    if (auto st = mkdirs(index_dir); !st) {
        *reason = st.error().message;
        return nullptr;
    }
    auto uids = access::sync_uidlist(index_dir, keys, now);
    if (!uids) {
        *reason = uids.error().message;
        return nullptr;
    }
    box->uidl_format_ = uidl_format;
    box->uid_validity_ = uids->uid_validity;
    for (std::size_t i = 0; i < keys.size(); ++i) box->messages_[i].uid = uids->uid_of[keys[i]];
    *why = OpenError::kNone;
    return box;
}

Result<UpdateStats> Pop3Mailbox::commit_mbox() {
    UpdateStats stats;
    for (const auto& m : messages_)
        if (m.deleted) {
            ++stats.deleted;
            stats.deleted_size += m.file_size;
        }
    if (stats.deleted == 0) return stats;
    const auto opts = lock_options(25);
    auto dot = mailbox::DotLock::acquire(mbox_path_, opts);
    if (!dot) return dot.error();
    const int fd = lock_.get();
    if (auto st = mailbox::lock_fd(fd, mbox_path_, opts); !st) return st.error();
    struct Unlock {
        int fd;
        const mailbox::LockOptions& o;
        ~Unlock() { mailbox::unlock_fd(fd, o); }
    } unlock{fd, opts};
    struct stat st{};
    if (::fstat(fd, &st) != 0 || static_cast<std::uint64_t>(st.st_size) < mbox_snapshot_)
        return make_temp_error(mbox_path_ + ": the mailbox shrank during the session; nothing deleted");
    std::string old(static_cast<std::size_t>(st.st_size), '\0');
    std::size_t got = 0;
    while (got < old.size()) {
        ssize_t n = ::pread(fd, old.data() + got, old.size() - got, static_cast<off_t>(got));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return make_sys_error("read " + mbox_path_ + ": " + std::strerror(errno), errno, ErrorKind::kTemporary);
        got += static_cast<std::size_t>(n);
    }
    // Each message owns [its From line, the next From line); the last one
    // of the session owns up to the size indexed at open. Mail appended
    // since then is kept as it is.
    std::string out;
    out.reserve(old.size());
    for (std::size_t i = 0; i < messages_.size(); ++i) {
        const std::uint64_t begin = spans_[i].from_offset;
        const std::uint64_t end = i + 1 < spans_.size() ? spans_[i + 1].from_offset : mbox_snapshot_;
        if (!messages_[i].deleted) out.append(old, begin, end - begin);
    }
    out.append(old, mbox_snapshot_, std::string::npos);
    // Rewritten in place under the locks: a writer waiting on them appends
    // to this inode afterwards. A new file renamed over the mbox would
    // leave that writer appending to the unlinked old inode.
    if (::lseek(fd, 0, SEEK_SET) != 0) return make_sys_error("lseek " + mbox_path_, errno);
    if (auto w = write_all(fd, out, mbox_path_); !w) return w.error();
    if (::ftruncate(fd, static_cast<off_t>(out.size())) != 0 || ::fsync(fd) != 0)
        return make_sys_error("truncate " + mbox_path_ + ": " + std::strerror(errno), errno, ErrorKind::kTemporary);
    return stats;
}

}  // namespace mailroom::pop3d
