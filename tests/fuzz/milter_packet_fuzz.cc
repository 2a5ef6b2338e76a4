// milter_packet_fuzz.cc - see milter_packet_fuzz.h.
#include "milter_packet_fuzz.h"

#include <cstdint>
#include <cstdlib>
#include <vector>

#include "lib/milter/milter_codec.h"

namespace mailroom::fuzz {

namespace {

// All packets of `bytes`, fed in pieces of `step` bytes; error text when
// the stream is malformed; *rest the bytes left over.
std::vector<milter::Packet> cut(std::string_view bytes, std::size_t step, std::string* error, std::size_t* rest) {
    milter::PacketReader r;
    std::vector<milter::Packet> out;
    for (std::size_t at = 0; at < bytes.size(); at += step) {
        r.feed(bytes.substr(at, step));
        for (;;) {
            auto p = r.next();
            if (!p) {
                *error = p.error().message;
                return out;
            }
            if (!*p) break;
            out.push_back(std::move(**p));
        }
    }
    *rest = r.buffered();
    return out;
}

}  // namespace

FuzzVerdict fuzz_milter_packets(std::string_view bytes) {
    FuzzVerdict v;
    std::string e1, e2;
    std::size_t rest1 = 0, rest2 = 0;
    auto whole = cut(bytes, bytes.size() + 1, &e1, &rest1);
    auto bytewise = cut(bytes, 1, &e2, &rest2);
    if (e1 != e2) {
        v.broken = "whole and byte-wise reading give different errors";
        return v;
    }
    if (whole.size() != bytewise.size()) {
        v.broken = "whole and byte-wise reading give different packet counts";
        return v;
    }
    for (std::size_t i = 0; i < whole.size(); ++i) {
        if (whole[i].command != bytewise[i].command || whole[i].data != bytewise[i].data) {
            v.broken = "whole and byte-wise reading give different packets";
            return v;
        }
    }
    if (!e1.empty()) {
        v.error = e1;
        return v;
    }
    if (whole.empty()) {
        v.error = "no packet";
        return v;
    }
    for (const auto& p : whole) {
        if (p.command == milter::kRepOptneg) {
            auto n = milter::parse_optneg(p, 6, milter::kActAll, milter::offered_protocol(6));
            if (!n) {
                v.error = n.error().message;
                return v;
            }
            continue;
        }
        auto r = milter::parse_reply(p);
        if (!r) {
            v.error = r.error().message;
            return v;
        }
        if (r->type != p.command) {
            v.broken = "reply type differs from the packet's command";
            return v;
        }
    }
    // A complete stream is whole packets, nothing left over.
    if (rest1 != rest2) {
        v.broken = "whole and byte-wise reading leave different rests";
        return v;
    }
    if (rest1 != 0) {
        v.error = "incomplete packet at the end";
        return v;
    }
    v.valid = true;
    return v;
}

}  // namespace mailroom::fuzz

#ifdef MAILROOM_LIBFUZZER
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    auto v = mailroom::fuzz::fuzz_milter_packets(std::string_view(reinterpret_cast<const char*>(data), size));
    if (!v.broken.empty()) std::abort();
    return 0;
}
#endif
