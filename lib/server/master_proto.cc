// master_proto.cc - status message encoding; see master_proto.h.
#include "lib/server/master_proto.h"

#include <signal.h>

#include "lib/util/strings.h"

static_assert(mailroom::server::proto::kDrainSignal == SIGUSR1, "kDrainSignal must be SIGUSR1");

namespace mailroom::server::proto {

namespace {

void put_u32(std::uint8_t* p, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) p[i] = static_cast<std::uint8_t>(v >> (8 * i));
}

std::uint32_t get_u32(const std::uint8_t* p) {
    std::uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v |= static_cast<std::uint32_t>(p[i]) << (8 * i);
    return v;
}

}  // namespace

std::array<std::uint8_t, kStatusSize> encode_status(const StatusMessage& msg) {
    std::array<std::uint8_t, kStatusSize> out{};
    put_u32(out.data(), kStatusMagic);
    put_u32(out.data() + 4, static_cast<std::uint32_t>(msg.pid));
    put_u32(out.data() + 8, static_cast<std::uint32_t>(msg.state));
    put_u32(out.data() + 12, msg.served);
    return out;
}

Result<StatusMessage> decode_status(std::span<const std::uint8_t> bytes) {
    if (bytes.size() != kStatusSize)
        return make_error(util::format("status message: bad length %zu", bytes.size()));
    if (get_u32(bytes.data()) != kStatusMagic) return make_error("status message: bad magic");
    StatusMessage msg;
    msg.pid = static_cast<std::int32_t>(get_u32(bytes.data() + 4));
    if (msg.pid <= 0) return make_error(util::format("status message: bad pid %d", msg.pid));
    std::uint32_t state = get_u32(bytes.data() + 8);
    if (state != static_cast<std::uint32_t>(ChildState::kBusy) &&
        state != static_cast<std::uint32_t>(ChildState::kAvailable))
        return make_error(util::format("status message: bad state %u", state));
    msg.state = static_cast<ChildState>(state);
    msg.served = get_u32(bytes.data() + 12);
    return msg;
}

}  // namespace mailroom::server::proto
