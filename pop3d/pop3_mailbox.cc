// pop3_mailbox.cc - see pop3_mailbox.h.
#include "pop3d/pop3_mailbox.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "lib/access/folder_sync.h"
#include "lib/access/uidlist.h"
#include "lib/log/log.h"
#include "lib/util/strings.h"
#include "lib/mailbox/maildir.h"
#include "lib/mailbox/maildir_name.h"
#include "lib/mailbox/maildir_quota.h"
#include "lib/mailbox/mbox.h"
#include "lib/util/fs.h"

namespace mailroom::pop3d {

std::unique_ptr<Pop3Mailbox> Pop3Mailbox::open(const std::string& maildir, const std::string& uidl_format,
                                               std::uint32_t now, OpenError* why, std::string* reason) {
    auto box = std::unique_ptr<Pop3Mailbox>(new Pop3Mailbox());
    box->maildir_ = maildir;
    *why = OpenError::kTemporary;
    if (auto st = mailbox::ensure_maildir(maildir); !st) {
        *reason = st.error().message;
        if (!st.error().temporary()) *why = OpenError::kPermanent;
        return nullptr;
    }
    const std::string lock_path = maildir + "/mailroom-pop3.lock";
    int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        *reason = "open " + lock_path + ": " + std::strerror(errno);
        return nullptr;
    }
    box->lock_ = util::UniqueFd(fd);
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
        if (errno == EWOULDBLOCK) {
            *why = OpenError::kInUse;
            *reason = "Mailbox is locked by another POP3 session";
        } else {
            *reason = "flock " + lock_path + ": " + std::strerror(errno);
        }
        return nullptr;
    }
    // The folder's index (the IMAP store's), brought up to date with the
    // Maildir under its lock: new/ stays as it is until UPDATE.
    auto ctx = std::make_shared<access::StoreContext>();
    ctx->maildir = maildir;
    ctx->now = now;
    auto state = access::FolderState::open(ctx, maildir);
    if (!state) {
        *reason = state.error().message;
        return nullptr;
    }
    auto held = (*state)->lock();
    if (!held) {
        *reason = held.error().message;
        return nullptr;
    }
    if (auto st = (*state)->refresh(access::RefreshOptions{}); !st) {
        *reason = st.error().message;
        return nullptr;
    }
    const access::FolderIndex& index = (*state)->index();
    box->uidl_format_ = uidl_format;
    box->uid_validity_ = index.uid_validity;
    std::size_t names = 0;
    for (const auto& r : index.records) names += r.filename.size();
    box->names_.reserve(names);
    box->messages_.reserve(index.records.size());
    for (const auto& r : index.records) {  // ascending UIDs
        Pop3Message m;
        m.uid = r.uid;
        m.in_new = r.in_new;
        m.file_size = r.size;
        m.size = r.rfc822_size;
        if (m.size == 0) {
            // No ",W=" in the name and not counted before: once, for the index.
            auto text = util::read_file((*state)->path_of(r));
            if (!text) continue;  // gone meanwhile
            m.size = pop3_size(*text);
            if (m.size != 0) (*state)->remember_rfc822_size(r.uid, m.size);
        }
        box->add(m, r.filename);
    }
    if (auto st = (*state)->save(); !st) log::warn("%s", st.error().message.c_str());
    *why = OpenError::kNone;
    return box;
}

void Pop3Mailbox::add(Pop3Message m, std::string_view name) {
    m.name = static_cast<std::uint32_t>(names_.size());
    m.name_len = static_cast<std::uint16_t>(name.size());
    names_.append(name);
    messages_.push_back(m);
}

std::string Pop3Mailbox::path_of(const Pop3Message& m) const {
    std::string path = maildir_;
    path += m.in_new ? "/new/" : "/cur/";
    path.append(names_, m.name, m.name_len);
    return path;
}

std::string Pop3Mailbox::uidl(std::size_t index) const {
    std::string out;
    append_uidl(index, &out);
    return out;
}

void Pop3Mailbox::append_uidl(std::size_t index, std::string* out) const {
    if (uidl_format_ == "%08Xu%08Xv") {  // the default, without a formatter
        static const char hex[] = "0123456789abcdef";
        char buf[16];
        const std::uint32_t v[2] = {messages_[index].uid, uid_validity_};
        for (int k = 0; k < 16; ++k) buf[k] = hex[(v[k / 8] >> (4 * (7 - k % 8))) & 15];
        out->append(buf, sizeof(buf));
        return;
    }
    const std::string_view n = name(index);
    *out += access::format_uidl(uidl_format_, messages_[index].uid, uid_validity_,
                                mbox_ ? n : access::maildir_base_name(n));
}

std::size_t Pop3Mailbox::live_count() const {
    std::size_t n = 0;
    for (const auto& m : messages_) n += m.deleted ? 0 : 1;
    return n;
}

std::uint64_t Pop3Mailbox::live_size() const {
    std::uint64_t n = 0;
    for (const auto& m : messages_) n += m.deleted ? 0 : m.size;
    return n;
}

void Pop3Mailbox::reset() {
    for (auto& m : messages_) m.deleted = false;
}

Result<Pop3Mailbox::Reader> Pop3Mailbox::open_message(std::size_t index) const {
    const auto& m = messages_[index];
    Reader r;
    if (mbox_) {
        r.path_ = mbox_path_;
        r.pos_ = spans_[index].body_offset;
        r.end_ = spans_[index].end_offset;
        r.maildir_ = false;
        r.unquote_ = std::make_unique<mailbox::FromFilter>(mailbox::FromFilter::Mode::kUnquote);
    } else {
        r.path_ = path_of(m);
    }
    r.fd_.reset(::open(r.path_.c_str(), O_RDONLY | O_CLOEXEC));
    if (!r.fd_.valid()) return make_error(util::format("open %s: %s", r.path_.c_str(), std::strerror(errno)));
    if (r.maildir_) {
        struct stat st {};
        if (::fstat(r.fd_.get(), &st) != 0)
            return make_error(util::format("stat %s: %s", r.path_.c_str(), std::strerror(errno)));
        r.end_ = static_cast<std::uint64_t>(st.st_size);
    }
    return r;
}

Result<bool> Pop3Mailbox::Reader::next(std::size_t max, std::string* out) {
    if (pos_ >= end_) {
        if (unquote_) {
            unquote_->finish(out);
            unquote_.reset();
        }
        return false;
    }
    std::string buf(static_cast<std::size_t>(std::min<std::uint64_t>(max, end_ - pos_)), '\0');
    ssize_t n;
    do {
        n = ::pread(fd_.get(), buf.data(), buf.size(), static_cast<off_t>(pos_));
    } while (n < 0 && errno == EINTR);
    if (n < 0) return make_error(util::format("read %s: %s", path_.c_str(), std::strerror(errno)));
    if (n == 0) {
        if (!maildir_) return make_error("read " + path_ + ": mailbox shrank while reading");
        end_ = pos_;  // a Maildir file is what it is
        return next(max, out);
    }
    pos_ += static_cast<std::uint64_t>(n);
    buf.resize(static_cast<std::size_t>(n));
    if (unquote_)
        unquote_->feed(buf, out);
    else
        out->append(buf);
    return true;
}

Result<std::string> Pop3Mailbox::read(std::size_t index) const {
    const auto& m = messages_[index];
    if (mbox_) {
        mailbox::MboxMessage mm;
        mm.from_offset = spans_[index].from_offset;
        mm.body_offset = spans_[index].body_offset;
        mm.end_offset = spans_[index].end_offset;
        return mailbox::read_mbox_message(mbox_path_, mm);
    }
    // The size is known: one read() normally gets it all, and a short one
    // tells the end without another call.
    const std::string path = path_of(m);
    util::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) return make_error(util::format("open %s: %s", path.c_str(), std::strerror(errno)));
    std::string text;
    std::size_t got = 0;
    // (A size in the name is only a hint: the first read is capped.)
    const std::size_t hint = static_cast<std::size_t>(std::min<std::uint64_t>(m.file_size, 1 << 20));
    for (std::size_t want = hint + 1;; want = got + 65536) {
        text.resize(want);
        const ssize_t n = ::read(fd.get(), text.data() + got, want - got);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return make_error(util::format("read %s: %s", path.c_str(), std::strerror(errno)));
        got += static_cast<std::size_t>(n);
        if (got < want) break;
    }
    text.resize(got);
    return text;
}

Result<UpdateStats> Pop3Mailbox::commit() {
    if (mbox_) return commit_mbox();
    UpdateStats stats;
    for (const auto& m : messages_) {
        const std::string path = path_of(m);
        if (m.deleted) {
            if (::unlink(path.c_str()) != 0 && errno != ENOENT)
                return make_sys_error("unlink " + path + ": " + std::strerror(errno), errno, ErrorKind::kTemporary);
            ++stats.deleted;
            stats.deleted_size += m.file_size;
        } else if (m.in_new) {
            auto moved = mailbox::move_to_cur(maildir_, std::string(names_, m.name, m.name_len));
            if (!moved) log::warn("%s", moved.error().message.c_str());
        }
    }
    if (stats.deleted > 0 && util::path_exists(maildir_ + "/maildirsize")) {
        auto st = mailbox::append_quota_delta(maildir_, -static_cast<int64_t>(stats.deleted_size),
                                              -static_cast<int64_t>(stats.deleted));
        if (!st) log::warn("%s", st.error().message.c_str());
    }
    return stats;
}

std::uint64_t pop3_size(std::string_view text) {
    std::uint64_t lf = 0;
    for (std::size_t k = 0; k < text.size(); ++k)
        if (text[k] == '\n' && (k == 0 || text[k - 1] != '\r')) ++lf;
    return text.size() + lf;
}

std::string digest_hex(const char* name, std::string_view data) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    const EVP_MD* type = EVP_get_digestbyname(name);
    if (type == nullptr || EVP_Digest(data.data(), data.size(), md, &len, type, nullptr) != 1) return {};
    static const char* hex = "0123456789abcdef";
    std::string out;
    for (unsigned int i = 0; i < len; ++i) {
        out += hex[md[i] >> 4];
        out += hex[md[i] & 15];
    }
    return out;
}

void Pop3Encoder::end_line(std::string* out) {
    // A line ends: CRLF out, and the header/body count moves on.
    const bool empty = at_line_start_;
    *out += "\r\n";
    at_line_start_ = true;
    if (in_body_) {
        ++body_seen_;
    } else if (empty) {
        in_body_ = true;
    }
    if (in_body_ && body_lines_ >= 0 && body_seen_ >= body_lines_) done_ = true;
}

void Pop3Encoder::feed(std::string_view text, std::string* out) {
    std::size_t i = 0;
    while (i < text.size() && !done_) {
        const char c = text[i];
        if (c == '\n') {
            pending_cr_ = false;  // CR LF is one line end
            end_line(out);
            ++i;
            continue;
        }
        if (pending_cr_) {  // a CR inside the line
            *out += '\r';
            pending_cr_ = false;
            at_line_start_ = false;
        }
        if (c == '\r') {
            pending_cr_ = true;
            ++i;
            continue;
        }
        if (at_line_start_ && c == '.') *out += '.';
        at_line_start_ = false;
        // The rest of the line up to a CR or LF in one piece.
        std::size_t j = i;
        while (j < text.size() && text[j] != '\n' && text[j] != '\r') ++j;
        out->append(text.substr(i, j - i));
        i = j;
    }
}

void Pop3Encoder::finish(std::string* out) {
    if (done_) return;
    // A last line without LF still ends in CRLF (a CR before the end is
    // its line end).
    if (!at_line_start_ || pending_cr_) {
        pending_cr_ = false;
        end_line(out);
    }
    done_ = true;
}

std::string pop3_encode_message(std::string_view text, long body_lines) {
    std::string out;
    out.reserve(text.size() + text.size() / 32 + 8);
    Pop3Encoder enc(body_lines);
    enc.feed(text, &out);
    enc.finish(&out);
    return out;
}

}  // namespace mailroom::pop3d
