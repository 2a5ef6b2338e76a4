// authd_proto_fuzz.cc - see authd_proto_fuzz.h.
#include "authd_proto_fuzz.h"

#include <cstdint>
#include <cstdlib>

#include "lib/auth/authd_proto.h"

namespace mailroom::fuzz {

namespace {

using namespace mailroom::auth;

// Feeds one byte at a time; `step` is the decoder's step type.
template <class Decoder, class Step>
bool byte_by_byte(Decoder& d, std::string_view bytes, Step need_more, Step* last, std::size_t* fed,
                  FuzzVerdict* v) {
    Step step = need_more;
    while (*fed < bytes.size() && step == need_more) {
        std::size_t used = 0;
        step = d.feed(bytes.substr(*fed, 1), &used);
        if (used > 1) {
            v->broken = "decoder consumed more than it was given";
            return false;
        }
        if (step == need_more && used != 1) {
            v->broken = "decoder asked for more without consuming";
            return false;
        }
        *fed += used;
    }
    *last = step;
    return true;
}

FuzzVerdict requests(std::string_view bytes) {
    FuzzVerdict v;
    auto whole = decode_request(bytes);
    RequestDecoder d;
    auto step = RequestDecoder::Step::kNeedMore;
    std::size_t fed = 0;
    if (!byte_by_byte(d, bytes, RequestDecoder::Step::kNeedMore, &step, &fed, &v)) return v;
    bool incremental_ok = step == RequestDecoder::Step::kRequest && fed == bytes.size();
    if (incremental_ok != whole.ok()) {
        v.broken = "whole and incremental request decoding disagree";
        return v;
    }
    if (!whole.ok()) {
        v.error = whole.error().message;
        return v;
    }
    if (d.take() != *whole) {
        v.broken = "whole and incremental decoding give different requests";
        return v;
    }
    auto again = encode_request(*whole);
    if (!again.ok()) {
        v.broken = "a decoded request does not encode: " + again.error().message;
        return v;
    }
    auto back = decode_request(*again);
    if (!back.ok() || *back != *whole) {
        v.broken = "a decoded request does not survive encoding";
        return v;
    }
    v.valid = true;
    return v;
}

FuzzVerdict replies(RequestType to, std::string_view bytes) {
    FuzzVerdict v;
    auto whole = decode_reply(to, bytes);
    ReplyDecoder d(to);
    auto step = ReplyDecoder::Step::kNeedMore;
    std::size_t fed = 0;
    if (!byte_by_byte(d, bytes, ReplyDecoder::Step::kNeedMore, &step, &fed, &v)) return v;
    if (step == ReplyDecoder::Step::kNeedMore) step = d.finish();
    bool incremental_ok = step == ReplyDecoder::Step::kReply && fed == bytes.size();
    if (incremental_ok != whole.ok()) {
        v.broken = "whole and incremental reply decoding disagree";
        return v;
    }
    if (!whole.ok()) {
        v.error = whole.error().message;
        return v;
    }
    if (d.take() != *whole) {
        v.broken = "whole and incremental decoding give different replies";
        return v;
    }
    auto again = encode_reply(to, *whole);
    if (!again.ok()) {
        v.broken = "a decoded reply does not encode: " + again.error().message;
        return v;
    }
    auto back = decode_reply(to, *again);
    if (!back.ok() || *back != *whole) {
        v.broken = "a decoded reply does not survive encoding";
        return v;
    }
    if (whole->kind == Reply::Kind::kTempFail) {
        v.error = "no complete reply (temporary failure)";
        return v;
    }
    v.valid = true;
    return v;
}

}  // namespace

FuzzVerdict fuzz_authd_proto(std::string_view bytes) {
    if (bytes.empty()) return FuzzVerdict{false, "empty input", ""};
    std::string_view rest = bytes.substr(1);
    switch (bytes[0]) {
        case 'q': return requests(rest);
        case 'p': return replies(RequestType::kPre, rest);
        case 'a': return replies(RequestType::kAuth, rest);
        case 'w': return replies(RequestType::kPasswd, rest);
        case 'e': return replies(RequestType::kEnumerate, rest);
        default: return FuzzVerdict{false, "unknown direction byte", ""};
    }
}

}  // namespace mailroom::fuzz

#ifdef MAILROOM_LIBFUZZER
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    auto v = mailroom::fuzz::fuzz_authd_proto(std::string_view(reinterpret_cast<const char*>(data), size));
    if (!v.broken.empty()) std::abort();
    return 0;
}
#endif
