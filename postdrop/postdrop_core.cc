// postdrop_core.cc - see postdrop_core.h.
#include "postdrop/postdrop_core.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "lib/queue/queue_file.h"
#include "lib/queue/record.h"
#include "lib/submit/record_feed.h"
#include "lib/util/strings.h"

namespace mailroom::postdrop {

Result<std::string> drop_message(const queue::QueueLayout& layout, int input_fd,
                                 const std::function<void(const std::string& queue_id)>& on_created) {
    queue::WriterOptions opts;
    opts.queue = std::string(queue::kQueueMaildrop);
    opts.mode = 0444;
    auto writer = queue::QueueWriter::create(layout, opts);
    if (!writer) return writer.error();
    if (on_created) on_created(writer->queue_id());
    submit::RecordFeeder feeder(&*writer);
    queue::SegmentChecker checker(queue::StreamKind::kCleanupStream);
    std::string buf;
    std::size_t used = 0;
    std::uint64_t offset = 0;
    char tmp[64 * 1024];
    for (;;) {
        // Decode every whole record in the buffer.
        for (;;) {
            queue::DecodedRecord rec;
            std::string error;
            auto step = queue::decode_record(std::string_view(buf).substr(used), &rec, &error);
            if (step == queue::DecodeStep::kNeedMore) break;
            if (step == queue::DecodeStep::kError)
                return make_error(util::format("bad input at offset %llu: %s",
                                               static_cast<unsigned long long>(offset), error.c_str()));
            if (auto st = checker.check(rec.type, rec.payload, offset); !st) return st.error();
            offset += rec.length;
            used += rec.length;
            if (rec.type == queue::RecordType::kEnd) {
                if (used != buf.size()) return make_error("data after the end of the message");
                auto path = writer->commit();
                if (!path) return path.error();
                return writer->queue_id();
            }
            if (auto st = feeder.feed(rec.type, rec.payload); !st) return st.error();
        }
        buf.erase(0, used);
        used = 0;
        ssize_t n = ::read(input_fd, tmp, sizeof(tmp));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return make_error(util::format("read: %s", std::strerror(errno)));
        if (n == 0) return make_error("premature end of input: message not queued");
        buf.append(tmp, static_cast<std::size_t>(n));
    }
}

}  // namespace mailroom::postdrop
