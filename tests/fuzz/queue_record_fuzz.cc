// queue_record_fuzz.cc - see queue_record_fuzz.h.
#include "queue_record_fuzz.h"

#include <cstdint>
#include <cstdlib>

#include "lib/queue/record.h"

namespace mailroom::fuzz {

namespace {

// The incremental decoder, fed in chunks of `chunk` bytes: ok or not.
bool stream_accepts(std::string_view bytes, std::size_t chunk, std::string* broken) {
    using namespace mailroom::queue;
    RecordStreamDecoder d(StreamKind::kQueueFile);
    std::size_t pos = 0;
    while (pos < bytes.size()) {
        std::string_view part = bytes.substr(pos, chunk);
        std::size_t used = 0;
        RecordStreamDecoder::Step step = d.feed(part, &used);
        if (used > part.size()) {
            *broken = "stream decoder consumed more than it was given";
            return false;
        }
        if (step == RecordStreamDecoder::Step::kError) return false;
        if (step == RecordStreamDecoder::Step::kNeedMore && used != part.size()) {
            *broken = "stream decoder asked for more without consuming";
            return false;
        }
        pos += used;
    }
    return d.finish().ok();
}

FuzzVerdict whole_pass(std::string_view bytes);

}  // namespace

FuzzVerdict fuzz_queue_records(std::string_view bytes) {
    FuzzVerdict v = whole_pass(bytes);
    if (!v.broken.empty()) return v;
    for (std::size_t chunk : {std::size_t{1}, std::size_t{13}, bytes.size() + 1}) {
        bool ok = stream_accepts(bytes, chunk, &v.broken);
        if (!v.broken.empty()) return v;
        if (ok != v.valid) {
            v.broken = "whole and incremental decoding disagree";
            return v;
        }
    }
    return v;
}

namespace {

FuzzVerdict whole_pass(std::string_view bytes) {
    using namespace mailroom::queue;
    FuzzVerdict v;
    SegmentChecker checker(StreamKind::kQueueFile);
    std::size_t pos = 0;
    while (pos < bytes.size()) {
        DecodedRecord rec;
        std::string why;
        std::string_view rest = bytes.substr(pos);
        DecodeStep step = decode_record(rest, &rec, &why);
        if (step == DecodeStep::kError) {
            v.error = why;
            return v;
        }
        if (step == DecodeStep::kNeedMore) {
            v.error = "truncated record";
            return v;
        }
        if (rec.length == 0 || rec.length > rest.size()) {
            v.broken = "decoded record length out of bounds";
            return v;
        }
        std::string again;
        if (!append_record(&again, rec.type, rec.payload).ok() || again != rest.substr(0, rec.length)) {
            v.broken = "record does not re-encode to the same bytes";
            return v;
        }
        if (checker.segment() == Segment::kDone) {
            v.error = "data after the end marker";
            return v;
        }
        if (Status st = checker.check(rec.type, rec.payload, pos); !st) {
            v.error = st.error().message;
            return v;
        }
        pos += rec.length;
    }
    if (Status st = checker.finish(pos); !st) {
        v.error = st.error().message;
        return v;
    }
    v.valid = true;
    return v;
}

}  // namespace
}  // namespace mailroom::fuzz

#ifdef MAILROOM_LIBFUZZER
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    auto v = mailroom::fuzz::fuzz_queue_records(std::string_view(reinterpret_cast<const char*>(data), size));
    if (!v.broken.empty()) std::abort();
    return 0;
}
#endif
