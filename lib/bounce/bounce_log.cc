// bounce_log.cc - see bounce_log.h.
#include "lib/bounce/bounce_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "lib/util/fs.h"
#include "lib/util/strings.h"
#include "lib/util/unique_fd.h"

namespace mailroom::bounce {

Result<std::string> encode_log_record(const BounceRecipient& rcpt) {
    return ipc::encode_record(encode_recipient(rcpt));
}

Result<LogContents> decode_log(std::string_view bytes) {
    LogContents out;
    ipc::AttrDecoder decoder;
    std::size_t pos = 0;
    while (pos < bytes.size()) {
        std::size_t used = 0;
        auto step = decoder.feed(bytes.substr(pos), &used);
        if (step == ipc::AttrDecoder::Step::kError)
            return make_error(util::format("bounce logfile record at offset %zu: %s", pos,
                                           decoder.error().message.c_str()));
        if (step == ipc::AttrDecoder::Step::kNeedMore) {
            out.truncated = true;
            break;
        }
        auto rcpt = decode_recipient(decoder.take());
        if (!rcpt) return make_error(util::format("bounce logfile record at offset %zu: %s", pos,
                                                  rcpt.error().message.c_str()));
        out.recipients.push_back(std::move(*rcpt));
        pos += used;
    }
    return out;
}

std::string log_path(const queue::QueueLayout& layout, std::string_view queue, std::string_view id) {
    return layout.file_path(queue, id);
}

Status append_log(const queue::QueueLayout& layout, std::string_view queue, std::string_view id,
                  const BounceRecipient& rcpt) {
    auto bytes = encode_log_record(rcpt);
    if (!bytes) return bytes.error();
    if (auto st = queue::ensure_file_dir(layout, queue, id); !st) return make_temp_error(st.error().message);
    std::string path = log_path(layout, queue, id);
    util::UniqueFd fd(::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600));
    if (!fd.valid()) return make_temp_error(util::format("open %s: %s", path.c_str(), std::strerror(errno)));
    ssize_t n;
    do {
        n = ::write(fd.get(), bytes->data(), bytes->size());
    } while (n < 0 && errno == EINTR);
    if (n != static_cast<ssize_t>(bytes->size())) {
        int saved = n < 0 ? errno : ENOSPC;
        return make_temp_error(util::format("write %s: %s", path.c_str(), std::strerror(saved)));
    }
    if (::fsync(fd.get()) < 0) return make_temp_error(util::format("fsync %s: %s", path.c_str(), std::strerror(errno)));
    return ok_status();
}

Result<LogContents> read_log(const queue::QueueLayout& layout, std::string_view queue, std::string_view id) {
    std::string path = log_path(layout, queue, id);
    if (!util::path_exists(path)) return LogContents{};
    auto bytes = util::read_file(path);
    if (!bytes) return make_temp_error(bytes.error().message);
    return decode_log(*bytes);
}

Status remove_log(const queue::QueueLayout& layout, std::string_view queue, std::string_view id) {
    std::string path = log_path(layout, queue, id);
    if (::unlink(path.c_str()) < 0 && errno != ENOENT)
        return make_temp_error(util::format("remove %s: %s", path.c_str(), std::strerror(errno)));
    return ok_status();
}

}  // namespace mailroom::bounce
