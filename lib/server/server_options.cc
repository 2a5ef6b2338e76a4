// server_options.cc - see server_options.h.
#include "lib/server/server_options.h"

#include <charconv>

#include "lib/util/strings.h"

namespace mailroom::server {

Result<ServerOptions> parse_server_options(const std::vector<std::string>& argv) {
    ServerOptions o;
    size_t i = 0;
    auto need_value = [&](const std::string& flag) -> Result<std::string> {
        if (i + 1 >= argv.size()) return make_error("option " + flag + " requires an argument");
        return argv[++i];
    };
    for (; i < argv.size(); ++i) {
        const std::string& a = argv[i];
        if (a == "--") {
            ++i;
            break;
        }
        if (a.size() < 2 || a[0] != '-') break;
        // Bundled boolean flags such as -dv are accepted.
        if (a == "-c" || a == "-o" || a == "-n" || a == "-t" || a == "-s") {
            auto v = need_value(a);
            if (!v) return v.error();
            if (a == "-c") {
                o.config_dir = *v;
            } else if (a == "-n") {
                o.service_name = *v;
            } else if (a == "-t") {
                o.service_type = *v;
            } else if (a == "-s") {
                int n = -1;
                auto [p, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
                if (ec != std::errc() || p != v->data() + v->size() || n < 0 || n > 1000)
                    return make_error("bad listener count: -s " + *v);
                o.listen_count = n;
            } else {
                auto eq = v->find('=');
                if (eq == std::string::npos || eq == 0)
                    return make_error("bad -o argument (need name=value): " + *v);
                std::string name(util::trim(std::string_view(*v).substr(0, eq)));
                std::string value(util::trim(std::string_view(*v).substr(eq + 1)));
                o.overrides.emplace_back(std::move(name), std::move(value));
            }
            continue;
        }
        for (size_t k = 1; k < a.size(); ++k) {
            switch (a[k]) {
            case 'd': o.debug = true; break;
            case 'v': ++o.verbose; break;
            case 'u': o.unpriv = true; break;
            case 'Z': o.chroot = true; break;
            default: return make_error(util::format("invalid option -%c", a[k]));
            }
        }
    }
    for (; i < argv.size(); ++i) o.args.push_back(argv[i]);
    return o;
}

std::vector<std::string> format_server_options(const ServerOptions& o) {
    std::vector<std::string> out;
    if (!o.config_dir.empty()) out.insert(out.end(), {"-c", o.config_dir});
    if (o.debug) out.push_back("-d");
    for (int i = 0; i < o.verbose; ++i) out.push_back("-v");
    if (!o.service_name.empty()) out.insert(out.end(), {"-n", o.service_name});
    if (!o.service_type.empty()) out.insert(out.end(), {"-t", o.service_type});
    if (o.listen_count >= 0) out.insert(out.end(), {"-s", std::to_string(o.listen_count)});
    if (o.unpriv) out.push_back("-u");
    if (o.chroot) out.push_back("-Z");
    for (const auto& [n, v] : o.overrides) out.insert(out.end(), {"-o", n + "=" + v});
    if (!o.args.empty()) {
        out.push_back("--");
        out.insert(out.end(), o.args.begin(), o.args.end());
    }
    return out;
}

}  // namespace mailroom::server
