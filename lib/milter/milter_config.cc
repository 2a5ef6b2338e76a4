// milter_config.cc - see milter_config.h.
#include "lib/milter/milter_config.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cctype>

#include "lib/config/param_read.h"
#include "lib/config/params.h"
#include "lib/util/strings.h"

namespace mailroom::milter {

const std::vector<std::string> kMilterParameters = {
    "smtpd_milters", "non_smtpd_milters", "milter_default_action", "milter_protocol",
    "milter_connect_timeout", "milter_command_timeout", "milter_content_timeout",
    "milter_connect_macros", "milter_helo_macros", "milter_mail_macros", "milter_rcpt_macros",
    "milter_data_macros", "milter_end_of_header_macros", "milter_end_of_data_macros",
    "milter_unknown_command_macros", "milter_macro_daemon_name", "milter_macro_v", "milter_header_checks",
    "receive_override_options"};

Result<DefaultAction> parse_default_action(std::string_view value) {
    std::string v = util::lowercase(util::trim(value));
    if (v == "accept") return DefaultAction::kAccept;
    if (v == "reject") return DefaultAction::kReject;
    if (v == "tempfail") return DefaultAction::kTempfail;
    if (v == "quarantine") return DefaultAction::kQuarantine;
    return make_error("bad milter default action: " + std::string(value));
}

namespace {

// getaddrinfo() with `flags`; fills the addresses and the port.
void lookup(SocketSpec* s, int flags) {
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = flags;
    addrinfo* res = nullptr;
    int gai = ::getaddrinfo(s->host.c_str(), s->port.c_str(), &hints, &res);
    if (gai != 0 || res == nullptr) {
        s->resolve_error = gai != 0 ? ::gai_strerror(gai) : "no address";
        return;
    }
    s->addresses.clear();
    for (addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
        char buf[INET6_ADDRSTRLEN] = "";
        if (ai->ai_family == AF_INET6) {
            auto* s6 = reinterpret_cast<sockaddr_in6*>(ai->ai_addr);
            ::inet_ntop(AF_INET6, &s6->sin6_addr, buf, sizeof(buf));
            s->port_number = ntohs(s6->sin6_port);
        } else if (ai->ai_family == AF_INET) {
            auto* s4 = reinterpret_cast<sockaddr_in*>(ai->ai_addr);
            ::inet_ntop(AF_INET, &s4->sin_addr, buf, sizeof(buf));
            s->port_number = ntohs(s4->sin_port);
        } else {
            continue;
        }
        if (std::find(s->addresses.begin(), s->addresses.end(), buf) == s->addresses.end()) s->addresses.push_back(buf);
    }
    ::freeaddrinfo(res);
    s->resolve_error = s->addresses.empty() ? "no address" : "";
}

// A numeric address and port need no resolver.
void resolve_numeric(SocketSpec* s) {
    lookup(s, AI_NUMERICHOST | AI_NUMERICSERV);
    if (s->addresses.empty()) s->resolve_error.clear();  // a name: resolve_socket()'s
}

}  // namespace

void resolve_socket(SocketSpec* socket) {
    if (!socket->inet || !socket->addresses.empty()) return;
    lookup(socket, 0);
}

Result<SocketSpec> parse_socket(std::string_view spec) {
    SocketSpec s;
    auto colon = spec.find(':');
    if (colon == std::string_view::npos) return make_error("bad milter socket specification: " + std::string(spec));
    std::string type = util::lowercase(spec.substr(0, colon));
    std::string_view rest = spec.substr(colon + 1);
    if (type == "unix" || type == "local") {
        if (rest.empty()) return make_error("milter socket without a path: " + std::string(spec));
        s.path = std::string(rest);
        return s;
    }
    if (type == "inet" || type == "inet4" || type == "inet6") {
        s.inet = true;
        // host:port, [host]:port, or port@host as Sendmail writes it.
        std::string_view host, port;
        if (auto at = rest.find('@'); at != std::string_view::npos) {
            port = rest.substr(0, at);
            host = rest.substr(at + 1);
        } else if (!rest.empty() && rest.front() == '[') {
            auto close = rest.find(']');
            if (close == std::string_view::npos || close + 1 >= rest.size() || rest[close + 1] != ':')
                return make_error("bad milter socket specification: " + std::string(spec));
            host = rest.substr(1, close - 1);
            port = rest.substr(close + 2);
        } else {
            auto last = rest.rfind(':');
            if (last == std::string_view::npos) return make_error("milter socket without a port: " + std::string(spec));
            host = rest.substr(0, last);
            port = rest.substr(last + 1);
        }
        if (host.empty() || port.empty()) return make_error("bad milter socket specification: " + std::string(spec));
        s.host = std::string(host);
        s.port = std::string(port);
        resolve_numeric(&s);
        return s;
    }
    return make_error("unsupported milter socket type: " + std::string(spec));
}

namespace {

// Splits a list at commas and white space outside braces; a braced group
// is one item, braces included.
Result<std::vector<std::string>> split_braced(std::string_view value) {
    std::vector<std::string> out;
    std::size_t i = 0;
    while (i < value.size()) {
        char c = value[i];
        if (c == ',' || std::isspace(static_cast<unsigned char>(c))) {
            ++i;
            continue;
        }
        if (c == '{') {
            auto close = value.find('}', i);
            if (close == std::string_view::npos) return make_error("missing '}' in milter list: " + std::string(value));
            out.emplace_back(value.substr(i, close + 1 - i));
            i = close + 1;
            continue;
        }
        std::size_t j = i;
        while (j < value.size() && value[j] != ',' && value[j] != '{' &&
               !std::isspace(static_cast<unsigned char>(value[j])))
            ++j;
        out.emplace_back(value.substr(i, j - i));
        i = j;
    }
    return out;
}

Result<int> seconds(std::string_view name, std::string_view value) {
    auto t = config::parse_time_param(name, value, 's', nullptr);
    if (!t) return t.error();
    if (*t <= 0 || *t > 86400 * 365) return make_error("bad milter " + std::string(name) + ": " + std::string(value));
    return static_cast<int>(*t);
}

Result<std::uint32_t> protocol_version(std::string_view value) {
    std::string v(util::trim(value));
    if (v.size() != 1 || v[0] < '2' || v[0] > '6') return make_error("bad milter protocol version: " + v);
    return static_cast<std::uint32_t>(v[0] - '0');
}

}  // namespace

Result<std::vector<MilterSpec>> parse_milter_list(std::string_view value, const MilterSpec& defaults) {
    auto items = split_braced(value);
    if (!items) return items.error();
    std::vector<MilterSpec> out;
    for (const auto& item : *items) {
        MilterSpec m = defaults;
        std::vector<std::string> words;
        if (item.front() == '{') {
            for (auto& w : util::split_list(std::string_view(item).substr(1, item.size() - 2)))
                words.push_back(std::string(util::trim(w)));
            if (words.empty()) return make_error("empty milter group in: " + std::string(value));
        } else {
            words.push_back(item);
        }
        m.name = words[0];
        auto sock = parse_socket(m.name);
        if (!sock) return sock.error();
        m.socket = std::move(*sock);
        for (std::size_t i = 1; i < words.size(); ++i) {
            auto eq = words[i].find('=');
            if (eq == std::string::npos) return make_error("milter setting without '=': " + words[i]);
            std::string key = util::lowercase(util::trim(std::string_view(words[i]).substr(0, eq)));
            std::string val(util::trim(std::string_view(words[i]).substr(eq + 1)));
            if (key == "default_action") {
                auto a = parse_default_action(val);
                if (!a) return a.error();
                m.default_action = *a;
            } else if (key == "connect_timeout" || key == "command_timeout" || key == "content_timeout") {
                auto s = seconds(key, val);
                if (!s) return s.error();
                (key == "connect_timeout" ? m.connect_timeout_s
                 : key == "command_timeout" ? m.command_timeout_s
                                            : m.content_timeout_s) = *s;
            } else if (key == "protocol") {
                auto p = protocol_version(val);
                if (!p) return p.error();
                m.protocol = *p;
            } else {
                return make_error("unknown milter setting: " + key + " in " + m.name);
            }
        }
        out.push_back(std::move(m));
    }
    return out;
}

Result<MilterConfig> MilterConfig::from_config(const config::Config& cfg, std::string_view list_param) {
    MilterConfig mc;
    std::string overrides;
    if (auto st = config::read_param(cfg, "receive_override_options", &overrides); !st) return st.error();
    for (const auto& w : util::split_list(overrides)) {
        if (util::lowercase(w) == "no_milters") return mc;
    }
    std::string list;
    if (auto st = config::read_param(cfg, list_param, &list); !st) return st.error();
    if (util::trim(list).empty()) return mc;

    MilterSpec defaults;
    std::string s;
    if (auto st = config::read_param(cfg, "milter_default_action", &s); !st) return st.error();
    auto action = parse_default_action(s);
    if (!action) return action.error().prefixed("milter_default_action: ");
    defaults.default_action = *action;
    if (auto st = config::read_param(cfg, "milter_protocol", &s); !st) return st.error();
    auto proto = protocol_version(s);
    if (!proto) return proto.error().prefixed("milter_protocol: ");
    defaults.protocol = *proto;
    if (auto st = config::read_time_param(cfg, "milter_connect_timeout", &defaults.connect_timeout_s); !st)
        return st.error();
    if (auto st = config::read_time_param(cfg, "milter_command_timeout", &defaults.command_timeout_s); !st)
        return st.error();
    if (auto st = config::read_time_param(cfg, "milter_content_timeout", &defaults.content_timeout_s); !st)
        return st.error();
    auto milters = parse_milter_list(list, defaults);
    if (!milters) return milters.error().prefixed(std::string(list_param) + ": ");
    mc.milters = std::move(*milters);
    for (auto& m : mc.milters) resolve_socket(&m.socket);

    static const std::pair<Stage, const char*> kLists[] = {
        {Stage::kConnect, "milter_connect_macros"}, {Stage::kHelo, "milter_helo_macros"},
        {Stage::kMail, "milter_mail_macros"},       {Stage::kRcpt, "milter_rcpt_macros"},
        {Stage::kData, "milter_data_macros"},       {Stage::kEoh, "milter_end_of_header_macros"},
        {Stage::kEom, "milter_end_of_data_macros"}, {Stage::kUnknown, "milter_unknown_command_macros"}};
    for (const auto& [stage, name] : kLists) {
        if (auto st = config::read_param(cfg, name, &mc.macros[static_cast<std::size_t>(stage)]); !st)
            return st.error();
    }
    if (auto st = config::read_param(cfg, "milter_macro_daemon_name", &mc.daemon_name); !st) return st.error();
    if (auto st = config::read_param(cfg, "milter_macro_v", &mc.macro_v); !st) return st.error();
    std::string checks;
    if (auto st = config::read_param(cfg, "milter_header_checks", &checks); !st) return st.error();
    if (!util::trim(checks).empty()) {
        auto maps = table::Maps::open(checks);
        if (!maps) return maps.error().prefixed("milter_header_checks: ");
        mc.header_checks = std::make_shared<const table::Maps>(std::move(*maps));
    }
    return mc;
}

}  // namespace mailroom::milter
