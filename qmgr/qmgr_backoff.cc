// qmgr_backoff.cc - see qmgr_backoff.h.
#include "qmgr/qmgr_backoff.h"

#include <algorithm>

namespace mailroom::qmgr {

long long compute_backoff(long long age_seconds, long long minimal, long long maximal) {
    if (maximal < minimal) maximal = minimal;
    return std::clamp(age_seconds, minimal, maximal);
}

}  // namespace mailroom::qmgr
