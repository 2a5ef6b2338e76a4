// mbox.cc - see mbox.h.
#include "lib/mailbox/mbox.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include "lib/mailbox/mailbox_internal.h"
#include "lib/mailbox/sys_error.h"

namespace mailroom::mailbox {

namespace {

constexpr std::string_view kFrom = "From ";
constexpr size_t kBufferSize = 64 * 1024;
constexpr size_t kFeedSlice = 16 * 1024;
constexpr size_t kMaxFromLine = 1024;

const char* const kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
const char* const kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                               "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

}  // namespace

// ---- From line ----

std::string format_from_line(std::string_view sender, const std::tm& when) {
    std::string out("From ");
    if (sender.empty()) {
        out.append("MAILER-DAEMON");
    } else {
        for (char c : sender) {
            unsigned char u = static_cast<unsigned char>(c);
            out.push_back((u <= 0x20 || u == 0x7f) ? '_' : c);
        }
    }
    int wday = (when.tm_wday >= 0 && when.tm_wday < 7) ? when.tm_wday : 0;
    int mon = (when.tm_mon >= 0 && when.tm_mon < 12) ? when.tm_mon : 0;
    char date[64];
    // Two spaces before the date, as Postfix writes it ("From %s  %.24s").
    std::snprintf(date, sizeof(date), "  %s %s %2d %02d:%02d:%02d %d\n", kDays[wday], kMonths[mon], when.tm_mday,
                  when.tm_hour, when.tm_min, when.tm_sec, when.tm_year + 1900);
    out.append(date);
    return out;
}

std::string format_from_line(std::string_view sender, time_t when) {
    std::tm tm;
    ::localtime_r(&when, &tm);
    return format_from_line(sender, tm);
}

// ---- FromFilter ----

void FromFilter::flush_prefix(std::string* out) {
    out->append(gt_, '>');
    out->append(kFrom.substr(0, matched_));
    gt_ = 0;
    matched_ = 0;
}

void FromFilter::feed(std::string_view in, std::string* out) {
    size_t i = 0;
    while (i < in.size()) {
        if (!at_line_start_) {
            // Copy through the end of this line in one go.
            const void* nl = std::memchr(in.data() + i, '\n', in.size() - i);
            size_t end = nl ? static_cast<size_t>(static_cast<const char*>(nl) - in.data()) + 1 : in.size();
            out->append(in.substr(i, end - i));
            i = end;
            if (nl) at_line_start_ = true;
            continue;
        }
        char c = in[i];
        if (matched_ == 0 && c == '>') {
            ++gt_;
            ++i;
            continue;
        }
        if (c == kFrom[matched_]) {
            ++i;
            if (++matched_ == kFrom.size()) {
                if (mode_ == Mode::kQuote) {
                    out->push_back('>');
                } else if (gt_ > 0) {
                    --gt_;
                }
                flush_prefix(out);
                at_line_start_ = false;
            }
            continue;
        }
        // Not a From line: emit what was held back; `c` is then handled as
        // ordinary text (possibly the newline that starts the next line).
        flush_prefix(out);
        at_line_start_ = false;
    }
}

void FromFilter::finish(std::string* out) {
    flush_prefix(out);
    at_line_start_ = true;
}

std::string mbox_quote(std::string_view text) {
    std::string out;
    FromFilter f(FromFilter::Mode::kQuote);
    f.feed(text, &out);
    f.finish(&out);
    return out;
}

std::string mbox_unquote(std::string_view text) {
    std::string out;
    FromFilter f(FromFilter::Mode::kUnquote);
    f.feed(text, &out);
    f.finish(&out);
    return out;
}

// ---- MboxWriter ----

Result<MboxWriter> MboxWriter::open(const std::string& path, std::string_view sender, time_t when,
                                    const MboxOptions& options) {
    MboxWriter w;
    w.path_ = path;
    w.lock_options_ = options.lock;
    if (options.lock.methods.dotlock) {
        auto lock = DotLock::acquire(path, options.lock);
        if (!lock) return lock.error();
        w.dotlock_ = std::move(*lock);
    }
    // Open without creating first, so an existing mailbox keeps its owner;
    // create with O_EXCL so we know whether the file is ours to chown.
    for (int attempt = 0;; ++attempt) {
        int fd = ::open(path.c_str(), O_RDWR | O_APPEND | O_CLOEXEC | O_NOFOLLOW);
        if (fd >= 0) {
            w.fd_.reset(fd);
            break;
        }
        int err = errno;
        if (err == ELOOP) return make_error("open " + path + ": mailbox is a symbolic link");
        if (err != ENOENT || !options.create_file || attempt >= 3) return sys_error("open", path, err);
        fd = ::open(path.c_str(), O_RDWR | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
                    options.create.file_mode);
        if (fd >= 0) {
            w.fd_.reset(fd);
            Status s = internal::after_create(path, options.create);
            if (!s) return s.error();
            break;
        }
        if (errno != EEXIST) return sys_error("create", path, errno);
    }
    struct stat st;
    if (::fstat(w.fd_.get(), &st) < 0) return sys_error("fstat", path, errno);
    if (!S_ISREG(st.st_mode)) return make_error("open " + path + ": mailbox is not a regular file");
    if (st.st_nlink > 1) return make_error("open " + path + ": mailbox has too many hard links");
    Status locked = lock_fd(w.fd_.get(), path, options.lock);
    if (!locked) return locked.error();
    // The size may have changed while we waited for the lock.
    if (::fstat(w.fd_.get(), &st) < 0) return sys_error("fstat", path, errno);
    w.original_size_ = static_cast<uint64_t>(st.st_size);
    w.active_ = true;
    w.buf_.reserve(kBufferSize + kFeedSlice + 64);
    if (w.original_size_ > 0) {
        // Readers start a message at a From line after an empty line; make
        // sure there is one even if the last writer left none.
        char tail[2] = {'\n', '\n'};
        size_t want = w.original_size_ >= 2 ? 2 : 1;
        ssize_t n = ::pread(w.fd_.get(), tail + 2 - want, want, static_cast<off_t>(w.original_size_ - want));
        if (n < 0) return w.fail(sys_error("read", path, errno));
        if (tail[1] != '\n') {
            w.buf_.append("\n\n");
        } else if (tail[0] != '\n') {
            w.buf_.push_back('\n');
        }
    }
    w.buf_.append(format_from_line(sender, when));
    return w;
}

MboxWriter::MboxWriter(MboxWriter&& other) noexcept { *this = std::move(other); }

MboxWriter& MboxWriter::operator=(MboxWriter&& other) noexcept {
    if (this != &other) {
        abort();
        path_ = std::move(other.path_);
        fd_ = std::move(other.fd_);
        dotlock_ = std::move(other.dotlock_);
        lock_options_ = other.lock_options_;
        quoter_ = other.quoter_;
        buf_ = std::move(other.buf_);
        original_size_ = other.original_size_;
        last_ = other.last_;
        active_ = std::exchange(other.active_, false);
    }
    return *this;
}

MboxWriter::~MboxWriter() { abort(); }

Status MboxWriter::write_out(std::string_view data) {
    return internal::write_all(fd_.get(), data, path_);
}

Status MboxWriter::flush() {
    if (buf_.empty()) return ok_status();
    Status s = write_out(buf_);
    buf_.clear();
    return s;
}

Error MboxWriter::fail(Error e) {
    // Put the mailbox back exactly as it was. If even that fails the error
    // says so: the mailbox may now hold a partial message.
    if (fd_.valid()) {
        if (::ftruncate(fd_.get(), static_cast<off_t>(original_size_)) < 0) {
            e.message += "; truncate " + path_ + " back failed: " + std::strerror(errno);
        } else {
            (void)::fsync(fd_.get());
        }
        unlock_fd(fd_.get(), lock_options_);
        fd_.reset();
    }
    dotlock_.release();
    buf_.clear();
    active_ = false;
    return e;
}

void MboxWriter::abort() {
    if (active_) (void)fail(make_error("aborted"));
}

Status MboxWriter::append(std::string_view data) {
    if (!active_) return make_error("append to " + path_ + ": delivery already finished");
    if (!data.empty()) last_ = data.back();
    while (!data.empty()) {
        size_t n = std::min(data.size(), kFeedSlice);
        quoter_.feed(data.substr(0, n), &buf_);
        data.remove_prefix(n);
        if (buf_.size() >= kBufferSize) {
            Status s = flush();
            if (!s) return fail(s.error());
        }
    }
    return ok_status();
}

Status MboxWriter::commit() {
    if (!active_) return make_error("commit " + path_ + ": delivery already finished");
    quoter_.finish(&buf_);
    if (last_ != '\n') buf_.push_back('\n');
    buf_.push_back('\n');
    Status s = flush();
    if (!s) return fail(s.error());
    if (::fsync(fd_.get()) < 0) return fail(sys_error("fsync", path_, errno));
    unlock_fd(fd_.get(), lock_options_);
    if (::close(fd_.release()) < 0) {
        // The data was fsynced; a close error here is informational only.
    }
    dotlock_.release();
    active_ = false;
    return ok_status();
}

// ---- reader ----

Result<std::vector<MboxMessage>> index_mbox(const std::string& path) {
    util::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) return sys_error("open", path, errno);
    std::vector<MboxMessage> out;
    std::string buf(kBufferSize, '\0');
    std::string head;  // first bytes of the current line
    uint64_t off = 0;
    uint64_t line_start = 0;
    bool prev_empty = true;  // the start of the file counts as after an empty line

    auto end_line = [&](uint64_t next_line) {
        if (prev_empty && head.compare(0, kFrom.size(), kFrom) == 0) {
            if (!out.empty()) {
                MboxMessage& prev = out.back();
                // Drop the blank separator line before this From line.
                prev.end_offset = (line_start > prev.body_offset) ? line_start - 1 : line_start;
            }
            MboxMessage m;
            m.from_offset = line_start;
            m.body_offset = next_line;
            m.from_line = head;
            if (!m.from_line.empty() && m.from_line.back() == '\n') m.from_line.pop_back();
            size_t sp = m.from_line.find(' ', kFrom.size());
            m.sender = m.from_line.substr(kFrom.size(), sp == std::string::npos ? std::string::npos : sp - kFrom.size());
            out.push_back(std::move(m));
        }
        prev_empty = (next_line - line_start == 1) && !head.empty() && head[0] == '\n';
        line_start = next_line;
        head.clear();
    };

    for (;;) {
        ssize_t n = ::read(fd.get(), buf.data(), buf.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            return sys_error("read", path, errno);
        }
        if (n == 0) break;
        for (ssize_t i = 0; i < n; ++i) {
            char c = buf[static_cast<size_t>(i)];
            if (head.size() < kMaxFromLine) head.push_back(c);
            ++off;
            if (c == '\n') end_line(off);
        }
    }
    if (off > line_start) end_line(off);  // last line without a newline
    if (!out.empty()) {
        MboxMessage& last = out.back();
        last.end_offset = (prev_empty && off > last.body_offset) ? off - 1 : off;
    }
    return out;
}

Status read_mbox_message(const std::string& path, const MboxMessage& message,
                         const std::function<Status(std::string_view)>& sink) {
    util::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) return sys_error("open", path, errno);
    FromFilter unquote(FromFilter::Mode::kUnquote);
    std::string buf(kFeedSlice, '\0');
    std::string out;
    uint64_t pos = message.body_offset;
    while (pos < message.end_offset) {
        size_t want = static_cast<size_t>(std::min<uint64_t>(buf.size(), message.end_offset - pos));
        ssize_t n = ::pread(fd.get(), buf.data(), want, static_cast<off_t>(pos));
        if (n < 0) {
            if (errno == EINTR) continue;
            return sys_error("read", path, errno);
        }
        if (n == 0) return make_error("read " + path + ": mailbox shrank while reading");
        pos += static_cast<uint64_t>(n);
        out.clear();
        unquote.feed(std::string_view(buf.data(), static_cast<size_t>(n)), &out);
        if (!out.empty()) {
            Status s = sink(out);
            if (!s) return s;
        }
    }
    out.clear();
    unquote.finish(&out);
    if (!out.empty()) return sink(out);
    return ok_status();
}

Result<std::string> read_mbox_message(const std::string& path, const MboxMessage& message) {
    std::string all;
    Status s = read_mbox_message(path, message, [&all](std::string_view chunk) {
        all.append(chunk);
        return ok_status();
    });
    if (!s) return s.error();
    return all;
}

}  // namespace mailroom::mailbox
