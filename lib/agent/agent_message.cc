// agent_message.cc - see agent_message.h.
#include "lib/agent/agent_message.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "lib/mailbox/sys_error.h"
#include "lib/queue/record.h"
#include "lib/util/strings.h"

namespace mailroom::agent {

namespace {

constexpr std::size_t kChunk = 64 * 1024;

Result<util::UniqueFd> anonymous_file(const char* name) {
    int fd = ::memfd_create(name, MFD_CLOEXEC);
    if (fd < 0) return mailbox::sys_error("memfd_create", name, errno);
    return util::UniqueFd(fd);
}

Status write_all(int fd, std::string_view data) {
    while (!data.empty()) {
        ssize_t n = ::write(fd, data.data(), data.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            return mailbox::sys_error("write", "message copy", errno);
        }
        data.remove_prefix(static_cast<size_t>(n));
    }
    return ok_status();
}

}  // namespace

Result<MessageCopy> MessageCopy::from_queue_file(const std::string& path) {
    auto qf = queue::QueueFile::open(path, false);
    if (!qf) return qf.error();
    MessageCopy copy;
    // A small file is read whole, once: its envelope and its content come
    // from that one read, and the file is closed right away.
    auto env = qf->read_envelope(&copy.image_, kChunk);
    if (!env) return env.error();
    if (copy.image_.empty()) copy.fd_ = qf->take_fd();
    copy.device_ = qf->device();
    copy.records_ = true;
    copy.path_ = path;
    copy.content_offset_ = env->size.content_offset;
    copy.content_end_ = env->size.extracted_offset;
    copy.size_ = env->size.message_size;
    copy.envelope_ = std::move(*env);
    return copy;
}

Result<MessageCopy> MessageCopy::from_text(queue::QueueEnvelope envelope, std::string_view content) {
    auto fd = anonymous_file("message");
    if (!fd) return fd.error();
    MessageCopy copy;
    copy.fd_ = std::move(*fd);
    copy.envelope_ = std::move(envelope);
    if (auto st = write_all(copy.fd_.get(), content); !st) return st.error();
    copy.size_ = content.size();
    return copy;
}

namespace {

Result<std::size_t> pread_some(int fd, char* buf, std::size_t len, std::uint64_t off, const std::string& what) {
    for (;;) {
        ssize_t n = ::pread(fd, buf, len, static_cast<off_t>(off));
        if (n >= 0) return static_cast<std::size_t>(n);
        if (errno != EINTR) return mailbox::sys_error("read", what, errno);
    }
}

}  // namespace

Status MessageCopy::chunks(const ChunkSink& sink) const {
    if (!records_) return plain(sink);
    if (small_valid_) {
        bool more = true;
        return small_.empty() ? ok_status() : sink(small_, &more);
    }
    Status st = records(sink);
    // The sink's own errors (a full disk) are not the queue file's.
    if (!st && st.error().is(ErrorCode::kCorruptFile) && !damage_) damage_ = st.error();
    return st;
}

Status MessageCopy::plain(const ChunkSink& sink) const {
    std::string buf(kChunk, '\0');
    std::uint64_t off = 0;
    bool more = true;
    while (off < size_ && more) {
        auto n = pread_some(fd_.get(), buf.data(), buf.size(), off, "message copy");
        if (!n) return n.error();
        if (*n == 0) return make_temp_error("message copy: unexpected end of file");
        off += *n;
        if (auto st = sink(std::string_view(buf.data(), *n), &more); !st) return st;
    }
    return ok_status();
}

// Decodes content records from where *c stands into *out until it holds
// a chunk or the content ends (c->done; the size record is checked then).
Status MessageCopy::decode_some(Cursor* c, std::string* out) const {
    auto damaged = [&](const std::string& why, std::uint64_t at) -> Status {
        return make_coded_error(ErrorCode::kCorruptFile,
                                util::format("corrupt queue file %s: %s at offset %llu", path_.c_str(), why.c_str(),
                                             static_cast<unsigned long long>(at)));
    };
    // A file read whole is decoded where it lies: nothing more to read.
    const bool whole = !image_.empty();
    if (!c->started) {
        c->at = c->next = content_offset_;
        if (whole) c->next = content_end_;
        c->started = true;
    }
    std::size_t before = out->size();
    while (out->size() - before < kChunk) {
        queue::DecodedRecord rec;
        std::string why;
        std::string_view avail = whole ? std::string_view(image_).substr(c->at, content_end_ - c->at)
                                       : std::string_view(c->in).substr(c->start);
        auto step = avail.empty() ? queue::DecodeStep::kNeedMore : queue::decode_record(avail, &rec, &why);
        if (step == queue::DecodeStep::kError) return damaged(why, c->at);
        if (step == queue::DecodeStep::kNeedMore) {
            if (c->next >= content_end_) {
                if (!avail.empty()) return damaged("truncated record", c->at);
                c->emitted += out->size() - before;
                c->done = true;
                if (c->emitted != size_)
                    return damaged(util::format("content has %llu bytes, the size record says %llu",
                                                static_cast<unsigned long long>(c->emitted),
                                                static_cast<unsigned long long>(size_)),
                                   content_offset_);
                return ok_status();
            }
            c->in.erase(0, c->start);
            c->start = 0;
            std::size_t have = c->in.size();
            std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(kChunk, content_end_ - c->next));
            c->in.resize(have + want);
            auto n = pread_some(fd_.get(), c->in.data() + have, want, c->next, path_);
            if (!n) {
                if (!damage_) damage_ = n.error();
                return n.error();
            }
            c->in.resize(have + *n);
            if (*n == 0) return damaged("file ends inside the content", c->next);
            c->next += *n;
            continue;
        }
        if (rec.type == queue::RecordType::kNormal) {
            out->append(rec.payload);
            out->push_back('\n');
        } else if (rec.type == queue::RecordType::kContinued) {
            out->append(rec.payload);
        } else {
            return damaged("unexpected record in the content", c->at);
        }
        c->start += rec.length;
        c->at += rec.length;
    }
    c->emitted += out->size() - before;
    return ok_status();
}

Status MessageCopy::records(const ChunkSink& sink) const {
    Cursor c;
    std::string out;
    bool more = true;
    bool first = true;
    while (more && !c.done) {
        out.clear();
        if (auto st = decode_some(&c, &out); !st) return st;
        // A small message is decoded once for all its readers.
        if (first && c.done) {
            small_ = std::move(out);
            small_valid_ = true;
            return small_.empty() ? ok_status() : sink(small_, &more);
        }
        first = false;
        if (!out.empty())
            if (auto st = sink(out, &more); !st) return st;
    }
    return ok_status();
}

Result<bool> MessageCopy::read_next(Cursor* c, std::string* out) const {
    if (c->done) return false;
    if (records_ && small_valid_) {
        out->append(small_);
        c->done = true;
        return !small_.empty();
    }
    if (!records_) {
        if (c->next >= size_) {
            c->done = true;
            return false;
        }
        std::size_t have = out->size();
        std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(kChunk, size_ - c->next));
        out->resize(have + want);
        auto n = pread_some(fd_.get(), out->data() + have, want, c->next, "message copy");
        if (!n) return n.error();
        out->resize(have + *n);
        if (*n == 0) return make_temp_error("message copy: unexpected end of file");
        c->next += *n;
        return true;
    }
    std::size_t have = out->size();
    Status st = decode_some(c, out);
    if (!st) {
        if (st.error().is(ErrorCode::kCorruptFile) && !damage_) damage_ = st.error();
        return st.error();
    }
    return out->size() > have || !c->done;
}

Status MessageCopy::for_each_chunk(const std::function<Status(std::string_view)>& sink) const {
    return chunks([&](std::string_view c, bool*) { return sink(c); });
}

Result<std::string> MessageCopy::head(std::size_t max_bytes) const {
    std::string out;
    auto st = chunks([&](std::string_view c, bool* more) -> Status {
        out.append(c.substr(0, max_bytes - out.size()));
        if (out.size() >= max_bytes || out.find("\n\n") != std::string::npos || out.rfind("\n", 0) == 0)
            *more = false;
        return ok_status();
    });
    if (!st) return st.error();
    if (auto end = out.find("\n\n"); end != std::string::npos) out.resize(end + 2);
    if (out.size() > max_bytes) out.resize(max_bytes);
    return out;
}

Result<util::UniqueFd> MessageCopy::render(std::string_view prefix, const RenderOptions& options) const {
    auto fd = anonymous_file("message-render");
    if (!fd) return fd.error();
    LineTransformer tx(options);
    std::string out;
    // The prefix gets the line-end conversion but never the quoting: it is
    // our own header text.
    RenderOptions plain;
    plain.eol = options.eol;
    LineTransformer px(plain);
    px.feed(prefix, &out);
    auto st = for_each_chunk([&](std::string_view chunk) -> Status {
        tx.feed(chunk, &out);
        if (out.size() < kChunk) return ok_status();
        auto w = write_all(fd->get(), out);
        out.clear();
        return w;
    });
    if (!st) return st.error();
    tx.finish(&out);
    if (auto w = write_all(fd->get(), out); !w) return w.error();
    if (::lseek(fd->get(), 0, SEEK_SET) < 0) return mailbox::sys_error("lseek", "message copy", errno);
    return std::move(*fd);
}

Result<std::string> MessageCopy::render_to_string(std::string_view prefix, const RenderOptions& options) const {
    auto fd = render(prefix, options);
    if (!fd) return fd.error();
    std::string out;
    char buf[8192];
    for (;;) {
        ssize_t n = ::read(fd->get(), buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return mailbox::sys_error("read", "message copy", errno);
        if (n == 0) break;
        out.append(buf, static_cast<size_t>(n));
    }
    return out;
}

// ---- LineTransformer ----

void LineTransformer::emit_line_start(std::string_view head, std::string* out) {
    if (options_.dot_stuff && !head.empty() && head[0] == '.') out->push_back('.');
    if (options_.from_quote && head.substr(0, 5) == "From ") out->push_back('>');
    put(head, out);
}

void LineTransformer::put(std::string_view bytes, std::string* out) {
    if (limit_ == 0) {
        out->append(bytes);
        return;
    }
    while (!bytes.empty()) {
        if (space_ == 0) {  // the output line is full and the line goes on
            out->append(options_.eol);
            out->push_back(' ');
            space_ = limit_ - 1;
        }
        std::size_t take = std::min(bytes.size(), space_);
        out->append(bytes.substr(0, take));
        bytes.remove_prefix(take);
        space_ -= take;
    }
}

void LineTransformer::end_line(std::string* out) {
    out->append(options_.eol);
    space_ = limit_;
    decided_ = false;
}

void LineTransformer::feed(std::string_view in, std::string* out) {
    for (size_t i = 0; i < in.size();) {
        if (!decided_) {
            // Collect up to 5 bytes of the line start (enough for "From ").
            while (i < in.size() && in[i] != '\n' && pending_.size() < 5) pending_.push_back(in[i++]);
            if (i < in.size() || pending_.size() >= 5) {
                emit_line_start(pending_, out);
                decided_ = true;
                pending_.clear();
            }
            continue;
        }
        size_t nl = in.find('\n', i);
        if (nl == std::string_view::npos) {
            put(in.substr(i), out);
            return;
        }
        put(in.substr(i, nl - i), out);
        end_line(out);
        i = nl + 1;
    }
}

void LineTransformer::finish(std::string* out) {
    if (!decided_ && !pending_.empty()) {
        emit_line_start(pending_, out);
        pending_.clear();
        decided_ = true;
    }
    if (decided_) end_line(out);  // a last line without its newline
    if (options_.blank_line_end) out->append(options_.eol);
}

std::optional<dev_t> MessageCopy::queue_device() const {
    if (!records_) return std::nullopt;
    return device_;
}

}  // namespace mailroom::agent
