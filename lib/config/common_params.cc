// common_params.cc - see common_params.h.
#include "lib/config/common_params.h"

#include <algorithm>
#include <cstdlib>

namespace mailroom::config {

log::Sinks log_sinks(const Config& cfg, bool to_stderr) {
    log::Sinks sinks;
    if (auto v = cfg.get("syslog_name"); v) sinks.syslog_name = *v;
    if (auto v = cfg.get("maillog_file"); v) sinks.maillog_file = *v;
    if (auto v = cfg.get("syslog_facility"); v) sinks.syslog_facility = *v;
    sinks.to_stderr = to_stderr;
    return sinks;
}

void configure_logging(const Config& cfg, bool to_stderr) { log::configure(log_sinks(cfg, to_stderr)); }

Result<int> ipc_timeout_ms(const Config& cfg) {
    Result<long long> t = cfg.get_time("ipc_timeout");
    if (!t) return t.error();
    return static_cast<int>(std::min<long long>(*t, 86400) * 1000);
}

long long message_size_limit_default() {
    static const long long value = std::strtoll(find_param("message_size_limit")->default_value, nullptr, 10);
    return value;
}

}  // namespace mailroom::config
