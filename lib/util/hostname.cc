// hostname.cc - see hostname.h.
#include "lib/util/hostname.h"

#include <arpa/inet.h>

#include <cctype>
#include <string>

#include "lib/util/strings.h"

namespace mailroom::util {

bool valid_host_address(std::string_view addr) {
    std::string a(addr);
    if (a.size() > 5 && util::iequals(std::string_view(a).substr(0, 5), "IPv6:")) {
        a = a.substr(5);
        in6_addr v6{};
        return inet_pton(AF_INET6, a.c_str(), &v6) == 1;
    }
    in_addr v4{};
    in6_addr v6{};
    return inet_pton(AF_INET, a.c_str(), &v4) == 1 || inet_pton(AF_INET6, a.c_str(), &v6) == 1;
}

bool valid_hostname(std::string_view name) {
    if (name.empty() || name.size() > 255) return false;
    size_t label_len = 0;
    bool non_numeric = false;
    char prev = '.';
    for (char c : name) {
        unsigned char u = static_cast<unsigned char>(c);
        if (c == '.') {
            if (label_len == 0 || prev == '-') return false;
            label_len = 0;
        } else if (std::isalnum(u) || c == '-' || c == '_') {
            if (label_len == 0 && c == '-') return false;
            if (++label_len > 63) return false;
            if (!std::isdigit(u)) non_numeric = true;
        } else {
            return false;
        }
        prev = c;
    }
    if (label_len == 0 || prev == '-') return false;
    return non_numeric;
}

}  // namespace mailroom::util
