// queue_file.cc - see queue_file.h.
#include "lib/queue/queue_file.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <memory>

#include "lib/log/log.h"
#include "lib/queue/queue_id.h"
#include "lib/queue/recycle.h"
#include "lib/util/fs.h"
#include "lib/util/strings.h"

namespace mailroom::queue {

namespace {

constexpr std::size_t kWriteBuffer = 64 * 1024;
constexpr std::size_t kReadChunk = 64 * 1024;
// read_envelope()'s reads: an envelope is small, and the content it jumps
// over is not read at all.
constexpr std::size_t kEnvelopeChunk = 8 * 1024;
constexpr std::string_view kTempPrefix = "tmp.";
constexpr std::string_view kCorruptPrefix = "corrupt queue file";

std::uint32_t current_microseconds() {
    struct timespec ts;
    ::clock_gettime(CLOCK_REALTIME, &ts);
    return static_cast<std::uint32_t>(ts.tv_nsec / 1000);
}

Error io_error(const char* op, const std::string& path) {
    int err = errno;
    Error e = make_temp_error(util::format("%s %s: %s", op, path.c_str(), std::strerror(err)));
    e.sys_errno = err;
    return e;
}

Status write_all(int fd, std::string_view data, const std::string& path) {
    while (!data.empty()) {
        ssize_t n = ::write(fd, data.data(), data.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            return io_error("write", path);
        }
        data.remove_prefix(static_cast<std::size_t>(n));
    }
    return ok_status();
}

Status pwrite_all(int fd, std::string_view data, off_t offset, const std::string& path) {
    while (!data.empty()) {
        ssize_t n = ::pwrite(fd, data.data(), data.size(), offset);
        if (n < 0) {
            if (errno == EINTR) continue;
            return io_error("pwrite", path);
        }
        data.remove_prefix(static_cast<std::size_t>(n));
        offset += n;
    }
    return ok_status();
}

Error corrupt(const std::string& path, const std::string& why) {
    return make_coded_error(ErrorCode::kCorruptFile,
                            util::format("%.*s %s: %s", static_cast<int>(kCorruptPrefix.size()),
                                         kCorruptPrefix.data(), path.c_str(), why.c_str()));
}

}  // namespace

// ---- writer ----

Result<QueueWriter> QueueWriter::create(const QueueLayout& layout, const WriterOptions& options) {
    static std::atomic<unsigned> counter{0};
    if (!is_queue_name(options.queue)) {
        return make_error(util::format("not a queue name: %s", options.queue.c_str()));
    }
    if (options.content_chunk == 0 || options.content_chunk > kMaxPayload) {
        return make_error(util::format("content chunk size %zu out of range 1..%zu", options.content_chunk, kMaxPayload));
    }
    QueueWriter w;
    w.layout_ = layout;
    w.options_ = options;
    std::string dir = layout.queue_path(options.queue);
    auto temp_name = [&] {
        return util::format("%s/%.*s%ld.%u", dir.c_str(), static_cast<int>(kTempPrefix.size()), kTempPrefix.data(),
                            log::process_id(), counter++);
    };
    ino_t inode = 0;
    if (options.recycle) {
        w.temp_path_ = temp_name();
        RecycledFile taken = take_recycled_file(layout, w.temp_path_, options.mode);
        w.fd_ = std::move(taken.fd);
        w.recycled_ = w.fd_.valid();
        w.recycled_size_ = taken.size;
        inode = taken.inode;
    }
    for (int attempt = 0; !w.fd_.valid(); ++attempt) {
        w.temp_path_ = temp_name();
        w.fd_.reset(::open(w.temp_path_.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, options.mode));
        if (w.fd_.valid()) {
            (void)::fchmod(w.fd_.get(), options.mode);
            break;
        }
        if (errno != EEXIST || attempt > 100) {
            Error e = io_error("create", w.temp_path_);
            w.temp_path_.clear();
            return e;
        }
    }
    if (!w.recycled_) {
        struct stat st;
        if (::fstat(w.fd_.get(), &st) < 0) return io_error("fstat", w.temp_path_);
        inode = st.st_ino;
    }
    w.queue_id_ = make_queue_id(current_microseconds(), static_cast<std::uint64_t>(inode));
    // A placeholder size record; commit() rewrites it in place.
    if (Status s = w.add_record(RecordType::kSize, format_size_payload(SizeFields{})); !s) return s.error();
    return w;
}

QueueWriter::~QueueWriter() {
    if (fd_.valid() && !done_) abort();
}

void QueueWriter::abort() {
    // A file from the pool goes back to it (a new one is not added: the
    // pool's size stays qmgr's to bound).
    if (!temp_path_.empty() && !done_ && fd_.valid() && recycled_ &&
        std::max(recycled_size_, offset_) <= kMaxRecycledSize) {
        return_recycled_file(layout_, temp_path_, queue_id_);
    } else if (!temp_path_.empty() && !done_) {
        ::unlink(temp_path_.c_str());
    }
    fd_.reset();
    failed_ = true;
}

Status QueueWriter::fail(Status st) {
    failed_ = true;
    return st;
}

Status QueueWriter::flush() {
    if (buffer_.empty()) return ok_status();
    if (Status st = write_all(fd_.get(), buffer_, temp_path_); !st) return fail(st);
    offset_ += buffer_.size();
    buffer_.clear();
    return ok_status();
}

Status QueueWriter::mark_done(std::uint64_t status_offset) {
    if (done_ || failed_ || !fd_.valid())
        return make_error(util::format("queue file %s: mark done after %s", queue_id_.c_str(),
                                       done_ ? "commit" : "an earlier failure"));
    char* at = nullptr;
    char c = 0;
    if (status_offset >= offset_ && status_offset < offset()) {
        at = &buffer_[status_offset - offset_];
        c = *at;
    } else if (status_offset < offset_) {
        ssize_t n;
        do {
            n = ::pread(fd_.get(), &c, 1, static_cast<off_t>(status_offset));
        } while (n < 0 && errno == EINTR);
        if (n < 0) return fail(io_error("read", temp_path_));
    }
    if (c != kRcptPending && c != kRcptDone) {
        return make_error(util::format("queue file %s: no recipient status byte at offset %llu", queue_id_.c_str(),
                                       static_cast<unsigned long long>(status_offset)));
    }
    if (at) {
        *at = kRcptDone;
        return ok_status();
    }
    if (Status st = pwrite_all(fd_.get(), std::string_view(&kRcptDone, 1), static_cast<off_t>(status_offset), temp_path_);
        !st)
        return fail(st);
    return ok_status();
}

Status QueueWriter::add_record(RecordType type, std::string_view payload) {
    if (done_ || failed_ || !fd_.valid()) {
        return make_error(util::format("queue file %s: write after %s", queue_id_.c_str(),
                                       done_ ? "commit" : "an earlier failure"));
    }
    std::uint64_t off = offset();
    // Refuse bad input before any byte is written, so the file stays valid.
    if (Status st = checker_.check(type, payload, off); !st) {
        return make_error(util::format("queue file %s: %s", queue_id_.c_str(), st.error().message.c_str()));
    }
    if (Status st = append_record(&buffer_, type, payload); !st) return st;
    switch (type) {
        case RecordType::kRecipient: ++size_.recipient_count; break;
        case RecordType::kContentStart: size_.content_offset = offset(); break;
        case RecordType::kExtractedStart: size_.extracted_offset = off; break;
        case RecordType::kNormal: size_.message_size += payload.size() + 1; break;
        case RecordType::kContinued: size_.message_size += payload.size(); break;
        default: break;
    }
    if (buffer_.size() >= kWriteBuffer) return flush();
    return ok_status();
}

Status QueueWriter::set_arrival_time(std::int64_t seconds, std::int32_t microseconds) {
    if (seconds < 0 || microseconds < 0 || microseconds > 999999) {
        return make_error("arrival time out of range");
    }
    return add_record(RecordType::kArrivalTime,
                      util::format("%lld.%06d", static_cast<long long>(seconds), static_cast<int>(microseconds)));
}

Status QueueWriter::set_sender(std::string_view sender) { return add_record(RecordType::kSender, sender); }

Status QueueWriter::add_attribute(std::string_view name, std::string_view value) {
    std::string payload(name);
    payload.push_back('=');
    payload.append(value);
    return add_record(RecordType::kAttribute, payload);
}

Status QueueWriter::set_dsn_ret(std::string_view ret) { return add_record(RecordType::kDsnRet, ret); }
Status QueueWriter::set_dsn_envid(std::string_view envid) { return add_record(RecordType::kDsnEnvid, envid); }

Status QueueWriter::add_recipient(const RecipientSpec& r) {
    std::string rcpt(1, kRcptPending);
    rcpt.append(r.address);
    struct Part {
        RecordType type;
        std::string_view payload;
        bool present;
    };
    const Part parts[] = {
        {RecordType::kOrigRecipient, r.orig_recipient, !r.orig_recipient.empty()},
        {RecordType::kDsnOrcpt, r.dsn_orcpt, !r.dsn_orcpt.empty()},
        {RecordType::kDsnNotify, r.dsn_notify, !r.dsn_notify.empty()},
        {RecordType::kRecipient, rcpt, true},
    };
    // All or nothing: check every payload before the first record goes out.
    for (const Part& p : parts) {
        if (!p.present) continue;
        if (std::string why = check_payload(p.type, p.payload); !why.empty()) {
            return make_error(util::format("queue file %s: recipient <%s>: %s", queue_id_.c_str(),
                                           log::log_printable(r.address).c_str(), why.c_str()));
        }
    }
    for (const Part& p : parts) {
        if (!p.present) continue;
        if (Status st = add_record(p.type, p.payload); !st) return st;
    }
    return ok_status();
}

Status QueueWriter::begin_content() { return add_record(RecordType::kContentStart, ""); }

Status QueueWriter::add_line(std::string_view line) { return add_piece(line, true); }

Status QueueWriter::add_piece(std::string_view piece, bool line_end) {
    std::size_t chunk = options_.content_chunk;
    while (piece.size() > chunk || (!line_end && !piece.empty())) {
        std::string_view part = piece.substr(0, chunk);
        if (Status st = add_record(RecordType::kContinued, part); !st) return st;
        piece.remove_prefix(part.size());
        line_open_ = true;
    }
    if (line_end) {
        if (Status st = add_record(RecordType::kNormal, piece); !st) return st;
        line_open_ = false;
    }
    return ok_status();
}

Status QueueWriter::begin_extracted() { return add_record(RecordType::kExtractedStart, ""); }

Status QueueWriter::add_stream_record(RecordType type, std::string_view payload) {
    if (type == RecordType::kSize || type == RecordType::kEnd) {
        return make_error(util::format("queue file %s: record %s is written by the queue file writer only",
                                       queue_id_.c_str(), record_type_name(static_cast<std::uint8_t>(type)).c_str()));
    }
    return add_record(type, payload);
}

Result<std::string> QueueWriter::commit() {
    auto path = commit_unsynced();
    if (!path) return path;
    if (Status st = sync_committed(); !st) return st.error();
    return path;
}

Result<std::string> QueueWriter::commit_unsynced() {
    if (checker_.segment() == Segment::kEnvelope) {
        if (Status st = begin_content(); !st) return st.error();
    }
    if (checker_.segment() == Segment::kContent) {
        if (Status st = begin_extracted(); !st) return st.error();
    }
    if (Status st = add_record(RecordType::kEnd, ""); !st) return st.error();
    if (Status st = flush(); !st) return st.error();
    // Rewrite the size record in place: same payload length, same record length.
    std::string size_record;
    (void)append_record(&size_record, RecordType::kSize, format_size_payload(size_));
    if (Status st = pwrite_all(fd_.get(), size_record, 0, temp_path_); !st) return fail(st).error();
    // A recycled file may be longer than the new content: cut the rest off
    // before the file gets its name, so no reader sees the old bytes.
    if (recycled_size_ > offset_ && ::ftruncate(fd_.get(), static_cast<off_t>(offset_)) < 0) {
        return fail(io_error("truncate", temp_path_)).error();
    }

    // The file is complete: give it its final name first, then one fsync of
    // the file makes its data and that name durable together (see
    // docs/performance.md, "Durability and fsync"). A reader that finds it
    // before the fsync reads a complete file.
    std::string final_path;
    for (int attempt = 0;; ++attempt) {
        if (Status st = ensure_file_dir(layout_, options_.queue, queue_id_); !st) return fail(st).error();
        final_path = layout_.file_path(options_.queue, queue_id_);
        if (util::rename_noreplace(temp_path_, final_path) == 0) break;
        if (errno != EEXIST || attempt >= 20) return fail(io_error("rename to", final_path)).error();
        // Some other file holds this name (copied in from elsewhere): pick a new ID.
        struct stat st;
        if (::fstat(fd_.get(), &st) < 0) return fail(io_error("fstat", temp_path_)).error();
        struct timespec nap = {0, 1000};
        ::nanosleep(&nap, nullptr);
        queue_id_ = make_queue_id(current_microseconds(), static_cast<std::uint64_t>(st.st_ino));
    }
    done_ = true;
    final_path_ = final_path;
    return final_path;
}

Status QueueWriter::sync_committed() {
    if (!done_ || !fd_.valid()) return make_error(util::format("queue file %s: sync before commit", queue_id_.c_str()));
    if (::fsync(fd_.get()) < 0) {
        Error e = io_error("fsync", final_path_);
        // Not durable, so not accepted: the caller answers with a temporary
        // error. Had a reader already taken the file, the retry may deliver
        // it twice; never zero times.
        ::unlink(final_path_.c_str());
        fd_.reset();
        failed_ = true;
        return e;
    }
    fd_.reset();
    return ok_status();
}

// ---- reader ----

std::string_view QueueEnvelope::attribute(std::string_view name) const {
    for (const auto& [n, v] : attributes) {
        if (n == name) return v;
    }
    return {};
}

std::vector<const QueueRecipient*> QueueEnvelope::pending_recipients() const {
    std::vector<const QueueRecipient*> out;
    for (const QueueRecipient& r : recipients) {
        if (!r.done) out.push_back(&r);
    }
    return out;
}

Result<QueueFile> QueueFile::open(const std::string& path, bool writable) {
    QueueFile f;
    f.path_ = path;
    f.fd_.reset(::open(path.c_str(), (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC | O_NOFOLLOW));
    if (!f.fd_.valid()) {
        Error e = io_error("open", path);
        if (e.sys_errno == ENOENT) e.kind = ErrorKind::kPermanent;
        return e;
    }
    struct stat st;
    if (::fstat(f.fd_.get(), &st) < 0) return io_error("fstat", path);
    if (!S_ISREG(st.st_mode)) return corrupt(path, "not a regular file");
    f.size_ = static_cast<std::uint64_t>(st.st_size);
    f.device_ = st.st_dev;
    return f;
}

Result<QueueEnvelope> QueueFile::read(const ContentSink& sink) { return read_impl(sink, false); }

Result<QueueEnvelope> QueueFile::read_envelope() { return read_impl(nullptr, true); }

Result<QueueEnvelope> QueueFile::read_envelope(std::string* image, std::size_t whole_limit) {
    image->clear();
    return read_impl(nullptr, true, image, whole_limit);
}

Result<QueueEnvelope> QueueFile::read_impl(const ContentSink& sink, bool skip_content, std::string* image,
                                           std::size_t whole_limit) {
    QueueEnvelope env;
    SegmentChecker checker(StreamKind::kQueueFile);
    SizeFields actual;
    std::string buf;
    std::size_t start = 0;        // first unread byte in buf
    std::uint64_t file_off = 0;   // file offset of buf[start]
    std::uint64_t read_off = 0;   // file offset of the next read
    bool eof = false;
    QueueRecipient next;          // per-recipient records seen so far
    // The whole file in one read, its end known from its size.
    const bool whole = image && size_ <= whole_limit;

    for (;;) {
        DecodedRecord rec;
        std::string why;
        std::string_view avail = std::string_view(buf).substr(start);
        if (checker.segment() == Segment::kDone) {
            // Nothing may follow the end marker.
            if (avail.empty() && !eof) {
                buf.clear();
                start = 0;
            } else if (!avail.empty()) {
                return corrupt(path_, util::format("data after the end marker at offset %llu",
                                                   static_cast<unsigned long long>(file_off)));
            } else {
                break;
            }
        }
        DecodeStep step = avail.empty() ? DecodeStep::kNeedMore : decode_record(avail, &rec, &why);
        if (step == DecodeStep::kError) {
            return corrupt(path_, util::format("%s at offset %llu", why.c_str(), static_cast<unsigned long long>(file_off)));
        }
        if (step == DecodeStep::kNeedMore) {
            if (eof) {
                if (!avail.empty()) {
                    return corrupt(path_, util::format("truncated record at offset %llu (file ends inside the record)",
                                                       static_cast<unsigned long long>(file_off)));
                }
                break;
            }
            buf.erase(0, start);
            start = 0;
            std::size_t have = buf.size();
            std::size_t chunk = skip_content ? kEnvelopeChunk : kReadChunk;
            if (whole && read_off < size_) chunk = static_cast<std::size_t>(size_ - read_off);
            buf.resize(have + chunk);
            ssize_t n;
            do {
                n = ::pread(fd_.get(), buf.data() + have, chunk, static_cast<off_t>(read_off));
            } while (n < 0 && errno == EINTR);
            if (n < 0) return io_error("read", path_);
            buf.resize(have + static_cast<std::size_t>(n));
            read_off += static_cast<std::uint64_t>(n);
            if (n == 0 || (whole && read_off >= size_)) eof = true;
            continue;
        }
        if (Status st = checker.check(rec.type, rec.payload, file_off); !st) return corrupt(path_, st.error().message);
        std::string_view p = rec.payload;
        bool extracted = checker.segment() == Segment::kExtracted;
        switch (rec.type) {
            case RecordType::kSize:
                env.size = *parse_size_payload(p);
                break;
            case RecordType::kArrivalTime: {
                std::size_t dot = p.find('.');
                std::from_chars(p.data(), p.data() + dot, env.arrival_seconds);
                std::from_chars(p.data() + dot + 1, p.data() + p.size(), env.arrival_microseconds);
                break;
            }
            case RecordType::kSender: env.sender.assign(p); break;
            case RecordType::kAttribute: {
                std::size_t eq = p.find('=');
                env.attributes.emplace_back(std::string(p.substr(0, eq)), std::string(p.substr(eq + 1)));
                break;
            }
            case RecordType::kDsnRet: env.dsn_ret.assign(p); break;
            case RecordType::kDsnEnvid: env.dsn_envid.assign(p); break;
            case RecordType::kOrigRecipient: next.orig_recipient.assign(p); break;
            case RecordType::kDsnOrcpt: next.dsn_orcpt.assign(p); break;
            case RecordType::kDsnNotify: next.dsn_notify.assign(p); break;
            case RecordType::kRecipient:
                next.address.assign(p.substr(1));
                next.done = p[0] == kRcptDone;
                next.extracted = extracted;
                next.status_offset = file_off + 1 + size_field_length(p.size());
                env.recipients.push_back(std::move(next));
                next = QueueRecipient();
                ++actual.recipient_count;
                break;
            case RecordType::kContentStart:
                actual.content_offset = file_off + rec.length;
                if (skip_content && env.size.content_offset == actual.content_offset &&
                    env.size.extracted_offset >= actual.content_offset) {
                    // Jump to the X record; the content is taken on trust.
                    // A small file was read whole already: no second read.
                    actual.message_size = env.size.message_size;
                    if (env.size.extracted_offset < read_off) {
                        start += static_cast<std::size_t>(env.size.extracted_offset - file_off);
                    } else {
                        buf.clear();
                        start = 0;
                        read_off = env.size.extracted_offset;
                        eof = false;
                    }
                    file_off = env.size.extracted_offset;
                    continue;
                }
                break;
            case RecordType::kNormal:
            case RecordType::kContinued: {
                bool line_end = rec.type == RecordType::kNormal;
                actual.message_size += p.size() + (line_end ? 1 : 0);
                if (sink) {
                    if (Status st = sink(p, line_end); !st) return st.error();
                }
                break;
            }
            case RecordType::kExtractedStart:
                actual.extracted_offset = file_off;
                break;
            case RecordType::kEnd:
                break;
        }
        start += rec.length;
        file_off += rec.length;
    }
    if (Status st = checker.finish(file_off); !st) return corrupt(path_, st.error().message);
    auto mismatch = [&](const char* field, std::uint64_t said, std::uint64_t found) {
        return corrupt(path_, util::format("size record says %s=%llu, file has %llu", field,
                                           static_cast<unsigned long long>(said), static_cast<unsigned long long>(found)));
    };
    if (env.size.content_offset != actual.content_offset) {
        return mismatch("content_offset", env.size.content_offset, actual.content_offset);
    }
    if (env.size.extracted_offset != actual.extracted_offset) {
        return mismatch("extracted_offset", env.size.extracted_offset, actual.extracted_offset);
    }
    if (env.size.message_size != actual.message_size) {
        return mismatch("message_size", env.size.message_size, actual.message_size);
    }
    if (env.size.recipient_count != actual.recipient_count) {
        return mismatch("recipient_count", env.size.recipient_count, actual.recipient_count);
    }
    // Nothing was dropped from the buffer: it holds the file from offset 0.
    if (whole && buf.size() == read_off) *image = std::move(buf);
    return env;
}

Status QueueFile::mark_done(const QueueRecipient& recipient) { return mark_done_at(recipient.status_offset); }

Status QueueFile::mark_done_at(std::uint64_t status_offset) {
    char c = 0;
    ssize_t n;
    do {
        n = ::pread(fd_.get(), &c, 1, static_cast<off_t>(status_offset));
    } while (n < 0 && errno == EINTR);
    if (n < 0) return io_error("read", path_);
    if (n == 0 || (c != kRcptPending && c != kRcptDone)) {
        return make_error(util::format("%s: no recipient status byte at offset %llu", path_.c_str(),
                                       static_cast<unsigned long long>(status_offset)));
    }
    if (c == kRcptDone) return ok_status();
    // No fsync: a mark lost in a crash means one more delivery attempt for
    // that recipient (a duplicate at worst), never a lost one.
    return pwrite_all(fd_.get(), std::string_view(&kRcptDone, 1), static_cast<off_t>(status_offset), path_);
}

bool is_corruption(const Error& error) {
    return error.is(ErrorCode::kCorruptFile);
}

Status save_corrupt_file(const QueueLayout& layout, std::string_view queue, std::string_view id,
                         std::string_view reason) {
    std::string q(queue), i(id), r = log::log_printable(reason);
    Status st = move_queue_file(layout, id, queue, kQueueCorrupt);
    if (!st) {
        log::warn("%s: corrupt queue file in %s: %s; cannot move it to corrupt/: %s", i.c_str(), q.c_str(), r.c_str(),
                  st.error().message.c_str());
        return st;
    }
    log::warn("%s: corrupt queue file in %s: %s; moved to corrupt/", i.c_str(), q.c_str(), r.c_str());
    return ok_status();
}

namespace {

// True when the temporary file "tmp.PID.N" belongs to a process that no
// longer runs (its writer crashed or was killed).
bool writer_gone(std::string_view name) {
    std::string_view rest = name.substr(kTempPrefix.size());
    size_t dot = rest.find('.');
    if (dot == 0 || dot == std::string_view::npos) return false;
    long pid = 0;
    for (char c : rest.substr(0, dot)) {
        if (c < '0' || c > '9' || pid > 1'000'000'000L) return false;
        pid = pid * 10 + (c - '0');
    }
    return pid > 0 && ::kill(static_cast<pid_t>(pid), 0) < 0 && errno == ESRCH;
}

Result<int> remove_temp_files(const QueueLayout& layout, std::string_view queue, long max_age_seconds,
                              bool or_writer_gone) {
    std::string dir = layout.queue_path(queue);
    struct DirCloser {
        void operator()(DIR* d) const { ::closedir(d); }
    };
    std::unique_ptr<DIR, DirCloser> d(::opendir(dir.c_str()));
    if (!d) return io_error("open directory", dir);
    int removed = 0;
    time_t now = ::time(nullptr);
    while (struct dirent* e = ::readdir(d.get())) {
        std::string_view name = e->d_name;
        if (!name.starts_with(kTempPrefix)) continue;
        std::string path = dir + "/" + std::string(name);
        struct stat st;
        if (::lstat(path.c_str(), &st) < 0 || !S_ISREG(st.st_mode)) continue;
        bool old = now - st.st_mtime >= max_age_seconds;
        if (!old && !(or_writer_gone && writer_gone(name))) continue;
        if (::unlink(path.c_str()) == 0) ++removed;
    }
    return removed;
}

}  // namespace

Result<int> remove_stale_temp_files(const QueueLayout& layout, std::string_view queue, long max_age_seconds) {
    return remove_temp_files(layout, queue, max_age_seconds, false);
}

Result<int> purge_temp_files(const QueueLayout& layout, std::string_view queue) {
    return remove_temp_files(layout, queue, kMaxTempAgeSeconds, true);
}

}  // namespace mailroom::queue
