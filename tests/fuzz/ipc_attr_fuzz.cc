// ipc_attr_fuzz.cc - see ipc_attr_fuzz.h.
#include "ipc_attr_fuzz.h"

#include <cstdint>
#include <cstdlib>

#include "lib/ipc/attr.h"

namespace mailroom::fuzz {

FuzzVerdict fuzz_ipc_attrs(std::string_view bytes) {
    using namespace mailroom::ipc;
    FuzzVerdict v;
    auto whole = decode_record(bytes);

    // Byte by byte through the incremental decoder.
    AttrDecoder d;
    AttrDecoder::Step step = AttrDecoder::Step::kNeedMore;
    std::size_t fed = 0;
    while (fed < bytes.size() && step == AttrDecoder::Step::kNeedMore) {
        std::size_t used = 0;
        step = d.feed(bytes.substr(fed, 1), &used);
        if (used > 1) {
            v.broken = "decoder consumed more than it was given";
            return v;
        }
        fed += used;
        if (step == AttrDecoder::Step::kNeedMore && used != 1) {
            v.broken = "decoder asked for more without consuming";
            return v;
        }
    }
    bool incremental_ok = step == AttrDecoder::Step::kRecord && fed == bytes.size();
    if (incremental_ok != whole.ok()) {
        v.broken = "whole and incremental decoding disagree";
        return v;
    }
    if (step == AttrDecoder::Step::kError && !whole.ok() && d.error().message != whole.error().message) {
        v.broken = "whole and incremental decoding give different errors";
        return v;
    }
    if (!whole.ok()) {
        v.error = whole.error().message;
        return v;
    }
    if (d.take() != *whole) {
        v.broken = "whole and incremental decoding give different records";
        return v;
    }
    auto again = encode_record(*whole);
    if (!again.ok() || *again != bytes) {
        v.broken = "decoded record does not re-encode to the input";
        return v;
    }
    v.valid = true;
    return v;
}

}  // namespace mailroom::fuzz

#ifdef MAILROOM_LIBFUZZER
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    auto v = mailroom::fuzz::fuzz_ipc_attrs(std::string_view(reinterpret_cast<const char*>(data), size));
    if (!v.broken.empty()) std::abort();
    return 0;
}
#endif
