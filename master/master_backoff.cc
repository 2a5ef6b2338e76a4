// master_backoff.cc - see master_backoff.h.
#include "master/master_backoff.h"

#include <algorithm>

namespace mailroom::master {

std::chrono::seconds Backoff::failure() {
    ++failures_;
    long long factor = 1;
    for (int i = 1; i < failures_ && factor < kMaxFactor; ++i) factor *= 2;
    factor = std::min<long long>(factor, kMaxFactor);
    long long base = std::max<long long>(base_.count(), 1);
    return std::chrono::seconds(base * factor);
}

}  // namespace mailroom::master
