// queue_id.cc - see queue_id.h.
#include "lib/queue/queue_id.h"

#include "lib/util/strings.h"

namespace mailroom::queue {

std::string make_queue_id(std::uint32_t microseconds, std::uint64_t inode) {
    return util::format("%05X%llX", static_cast<unsigned>(microseconds % 1000000),
                        static_cast<unsigned long long>(inode));
}

bool is_valid_queue_id(std::string_view id) {
    if (id.size() < kMinQueueIdLength || id.size() > kMaxQueueIdLength) return false;
    for (char c : id) {
        if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'F'))) return false;
    }
    return true;
}

}  // namespace mailroom::queue
