// param_read.cc - see param_read.h.
#include "lib/config/param_read.h"

#include "lib/util/strings.h"

namespace mailroom::config {

Status read_param(const Config& cfg, std::string_view name, std::string* out) {
    auto v = cfg.get(name);
    if (!v) return v.error();
    *out = std::string(util::trim(*v));
    return ok_status();
}

Status read_param(const Config& cfg, std::string_view name, bool* out) {
    auto v = cfg.get_bool(name);
    if (!v) return v.error();
    *out = *v;
    return ok_status();
}

Status read_param(const Config& cfg, std::string_view name, std::vector<std::string>* out) {
    auto v = cfg.get_list(name);
    if (!v) return v.error();
    *out = std::move(*v);
    return ok_status();
}

Status narrow_param(std::string_view name, long long value, long long min, unsigned long long max) {
    if (value < min || (value >= 0 && static_cast<unsigned long long>(value) > max)) {
        return make_error("parameter " + std::string(name) + ": value " + std::to_string(value) +
                          " is out of range (" + std::to_string(min) + ".." + std::to_string(max) + ")");
    }
    return ok_status();
}

}  // namespace mailroom::config
