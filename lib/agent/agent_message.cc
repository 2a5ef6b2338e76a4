// agent_message.cc - see agent_message.h.
#include "lib/agent/agent_message.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "lib/mailbox/sys_error.h"

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
    auto fd = anonymous_file("message");
    if (!fd) return fd.error();
    MessageCopy copy;
    copy.fd_ = std::move(*fd);
    std::string buf;
    Status write_status;
    auto flush = [&]() -> Status {
        auto st = write_all(copy.fd_.get(), buf);
        copy.size_ += buf.size();
        buf.clear();
        return st;
    };
    auto env = qf->read([&](std::string_view piece, bool line_end) -> Status {
        buf.append(piece);
        if (line_end) buf.push_back('\n');
        if (buf.size() >= kChunk) return flush();
        return ok_status();
    });
    if (!env) return env.error();
    if (auto st = flush(); !st) return st.error();
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

Result<std::size_t> MessageCopy::read_at(std::uint64_t offset, char* buf, std::size_t max) const {
    if (offset >= size_) return std::size_t{0};
    std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(max, size_ - offset));
    for (;;) {
        ssize_t n = ::pread(fd_.get(), buf, want, static_cast<off_t>(offset));
        if (n < 0) {
            if (errno == EINTR) continue;
            return mailbox::sys_error("read", "message copy", errno);
        }
        if (n == 0) return make_temp_error("message copy: unexpected end of file");
        return static_cast<std::size_t>(n);
    }
}

Status MessageCopy::for_each_chunk(const std::function<Status(std::string_view)>& sink) const {
    std::string buf(kChunk, '\0');
    std::uint64_t off = 0;
    while (off < size_) {
        auto n = read_at(off, buf.data(), buf.size());
        if (!n) return n.error();
        off += *n;
        if (auto st = sink(std::string_view(buf.data(), *n)); !st) return st;
    }
    return ok_status();
}

Result<std::string> MessageCopy::head(std::size_t max_bytes) const {
    std::string out;
    std::string buf(std::min<std::size_t>(kChunk, max_bytes), '\0');
    std::uint64_t off = 0;
    while (off < size_ && out.size() < max_bytes) {
        ssize_t n = ::pread(fd_.get(), buf.data(), buf.size(), static_cast<off_t>(off));
        if (n < 0) {
            if (errno == EINTR) continue;
            return mailbox::sys_error("read", "message copy", errno);
        }
        if (n == 0) break;
        out.append(buf.data(), static_cast<size_t>(n));
        off += static_cast<std::uint64_t>(n);
        if (out.find("\n\n") != std::string::npos || out.rfind("\n", 0) == 0) break;
    }
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
    out->append(head);
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
            out->append(in.substr(i));
            return;
        }
        out->append(in.substr(i, nl - i));
        out->append(options_.eol);
        i = nl + 1;
        decided_ = false;
    }
}

void LineTransformer::finish(std::string* out) {
    if (!decided_ && !pending_.empty()) {
        emit_line_start(pending_, out);
        pending_.clear();
        decided_ = true;
    }
    if (decided_) {  // a last line without its newline
        out->append(options_.eol);
        decided_ = false;
    }
    if (options_.blank_line_end) out->append(options_.eol);
}

}  // namespace mailroom::agent
