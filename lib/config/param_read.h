// param_read.h - reading main.cf parameters into the fields of a struct.
//
// Summary
//   A daemon's from_config() reads many parameters, each into one field,
//   and stops at the first that does not convert:
//
//     if (auto st = config::read_param(cfg, "smtpd_timeout", &c.timeout); !st) return st.error();
//
//   read_param() picks the conversion from the field's type: a string
//   (white space trimmed), a bool (yes/no), an integer of any width (range
//   checked against the field), or a list (comma/space separated).
//   read_time_param() converts a time value ("300s", "1h") to seconds.
//
// Diagnostics
//   The error is the getter's, naming the parameter and its value; an
//   integer that does not fit the field is an error, never truncated.
#pragma once

#include <concepts>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "lib/config/config.h"
#include "lib/util/result.h"

namespace mailroom::config {

Status read_param(const Config& cfg, std::string_view name, std::string* out);
Status read_param(const Config& cfg, std::string_view name, bool* out);
Status read_param(const Config& cfg, std::string_view name, std::vector<std::string>* out);

// Fails when `value` does not fit T.
Status narrow_param(std::string_view name, long long value, long long min, unsigned long long max);

template <std::integral T>
    requires(!std::same_as<T, bool>)
Status store_param(std::string_view name, const Result<long long>& value, T* out) {
    if (!value) return value.error();
    if (auto st = narrow_param(name, *value, static_cast<long long>(std::numeric_limits<T>::min()),
                               static_cast<unsigned long long>(std::numeric_limits<T>::max()));
        !st)
        return st;
    *out = static_cast<T>(*value);
    return ok_status();
}

template <std::integral T>
    requires(!std::same_as<T, bool>)
Status read_param(const Config& cfg, std::string_view name, T* out) {
    return store_param(name, cfg.get_int(name), out);
}

template <std::integral T>
    requires(!std::same_as<T, bool>)
Status read_time_param(const Config& cfg, std::string_view name, T* seconds) {
    return store_param(name, cfg.get_time(name), seconds);
}

}  // namespace mailroom::config
