// authd_proto_fuzz.cc - see authd_proto_fuzz.h.
#include "authd_proto_fuzz.h"

#include <cstdint>
#include <cstdlib>

#include "lib/auth/authd_proto.h"

namespace mailroom::fuzz {

namespace {

using namespace mailroom::auth;

// Checks one direction of the codec: `decoder` fed byte by byte against
// `whole` (the whole-buffer decode), then encode and decode again. The
// decoders' steps are need-more, done and error, in that order; `at_end`
// is what a decoder says when the input ends (the reply decoder's finish()).
template <class Decoder, class Value, class Encode, class Decode, class AtEnd>
FuzzVerdict check_codec(std::string_view bytes, Decoder& d, const Result<Value>& whole, Encode encode,
                        Decode decode, AtEnd at_end) {
    using Step = typename Decoder::Step;
    FuzzVerdict v;
    Step step = Step::kNeedMore;
    std::size_t fed = 0;
    while (fed < bytes.size() && step == Step::kNeedMore) {
        std::size_t used = 0;
        step = d.feed(bytes.substr(fed, 1), &used);
        if (used > 1) {
            v.broken = "decoder consumed more than it was given";
            return v;
        }
        if (step == Step::kNeedMore && used != 1) {
            v.broken = "decoder asked for more without consuming";
            return v;
        }
        fed += used;
    }
    if (step == Step::kNeedMore) step = at_end(d);
    bool incremental_ok = step != Step::kNeedMore && step != Step::kError && fed == bytes.size();
    if (incremental_ok != whole.ok()) {
        v.broken = "whole and incremental decoding disagree";
        return v;
    }
    if (!whole.ok()) {
        v.error = whole.error().message;
        return v;
    }
    if (!(d.take() == *whole)) {
        v.broken = "whole and incremental decoding give different values";
        return v;
    }
    Result<std::string> again = encode(*whole);
    if (!again.ok()) {
        v.broken = "a decoded value does not encode: " + again.error().message;
        return v;
    }
    Result<Value> back = decode(*again);
    if (!back.ok() || !(*back == *whole)) {
        v.broken = "a decoded value does not survive encoding";
        return v;
    }
    v.valid = true;
    return v;
}

FuzzVerdict requests(std::string_view bytes) {
    RequestDecoder d;
    return check_codec(
        bytes, d, decode_request(bytes), [](const Request& r) { return encode_request(r); },
        [](std::string_view b) { return decode_request(b); }, [](RequestDecoder&) { return RequestDecoder::Step::kNeedMore; });
}

FuzzVerdict replies(RequestType to, std::string_view bytes) {
    ReplyDecoder d(to);
    auto whole = decode_reply(to, bytes);
    FuzzVerdict v = check_codec(
        bytes, d, whole, [to](const Reply& r) { return encode_reply(to, r); },
        [to](std::string_view b) { return decode_reply(to, b); }, [](ReplyDecoder& dec) { return dec.finish(); });
    if (v.valid && whole->kind == Reply::Kind::kTempFail) {
        v.valid = false;
        v.error = "no complete reply (temporary failure)";
    }
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
