// pipe_args.cc - see pipe_args.h.
#include "pipe/pipe_args.h"

#include <cstdlib>

#include "lib/address/address.h"
#include "lib/util/strings.h"

namespace mailroom::pipe {

Result<PipeFlags> parse_pipe_flags(std::string_view text) {
    PipeFlags f;
    for (char c : text) {
        switch (c) {
            case 'B': f.blank_line = true; break;
            case 'D': f.delivered_to = true; break;
            case 'F': f.from_line = true; break;
            case 'O': f.original_to = true; break;
            case 'R': f.return_path = true; break;
            case 'X': f.final_delivery = true; break;
            case 'h': f.fold_host = true; break;
            case 'q': f.quote = true; break;
            case 'u': f.fold_user = true; break;
            case '.': f.dot_stuff = true; break;
            case '>': f.from_quote = true; break;
            default:
                return make_error(util::format("unknown flag '%c' in flags=%.*s", c, int(text.size()), text.data()));
        }
    }
    return f;
}

std::string unescape_eol(std::string_view text) {
    std::string out;
    for (size_t i = 0; i < text.size(); ++i) {
        if (text[i] != '\\' || i + 1 == text.size()) {
            out.push_back(text[i]);
            continue;
        }
        char c = text[++i];
        switch (c) {
            case 'n': out.push_back('\n'); break;
            case 'r': out.push_back('\r'); break;
            case 't': out.push_back('\t'); break;
            case '\\': out.push_back('\\'); break;
            default:
                if (c >= '0' && c <= '7') {
                    int v = 0, n = 0;
                    while (n < 3 && i < text.size() && text[i] >= '0' && text[i] <= '7') v = v * 8 + (text[i++] - '0'), ++n;
                    --i;
                    out.push_back(static_cast<char>(v));
                } else {
                    out.push_back('\\');
                    out.push_back(c);
                }
        }
    }
    return out;
}

Result<PipeArgs> parse_pipe_args(const std::vector<std::string>& args) {
    PipeArgs a;
    bool have_argv = false;
    for (size_t i = 0; i < args.size(); ++i) {
        const std::string& w = args[i];
        auto eq = w.find('=');
        std::string name = eq == std::string::npos ? w : w.substr(0, eq);
        std::string value = eq == std::string::npos ? "" : w.substr(eq + 1);
        if (eq == std::string::npos) return make_error("pipe: unknown attribute: " + w);
        if (name == "argv") {
            if (!value.empty()) a.argv.push_back(value);
            for (++i; i < args.size(); ++i) a.argv.push_back(args[i]);
            have_argv = true;
            break;
        }
        if (name == "flags") {
            auto f = parse_pipe_flags(value);
            if (!f) return f.error();
            a.flags = *f;
        } else if (name == "user") {
            auto colon = value.find(':');
            a.user = value.substr(0, colon);
            if (colon != std::string::npos) a.group = value.substr(colon + 1);
        } else if (name == "group") {
            a.group = value;
        } else if (name == "size") {
            char* end = nullptr;
            unsigned long long n = std::strtoull(value.c_str(), &end, 10);
            if (value.empty() || *end) return make_error("pipe: bad size limit: " + w);
            a.size_limit = n;
        } else if (name == "eol") {
            a.eol = unescape_eol(value);
        } else if (name == "directory") {
            a.directory = value;
        } else if (name == "null_sender") {
            a.null_sender = value;
        } else {
            return make_error("pipe: unknown attribute name: " + name);
        }
    }
    if (!have_argv || a.argv.empty()) return make_error("pipe: missing argv= command");
    if (a.user.empty()) return make_error("pipe: missing user= command-line attribute");
    return a;
}

namespace {

bool per_recipient(std::string_view name) {
    return name == "recipient" || name == "original_recipient" || name == "user" || name == "extension" ||
           name == "mailbox" || name == "domain";
}

bool known_macro(std::string_view name) {
    static const char* const kNames[] = {"client_address", "client_helo", "client_hostname", "client_port",
                                         "client_protocol", "domain", "extension", "mailbox", "nexthop",
                                         "original_recipient", "queue_id", "recipient", "sasl_method",
                                         "sasl_sender", "sasl_username", "sender", "size", "user"};
    for (const char* n : kNames)
        if (name == n) return true;
    return false;
}

bool is_name_char(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'; }

// Splits an element into literal text and macro names; *names gets each name.
Status scan_element(std::string_view e, std::vector<std::pair<bool, std::string>>* parts) {
    std::string lit;
    for (size_t i = 0; i < e.size();) {
        if (e[i] != '$') {
            lit.push_back(e[i++]);
            continue;
        }
        if (i + 1 == e.size()) {
            lit.push_back('$');
            ++i;
            continue;
        }
        std::string name;
        char open = e[i + 1];
        if (open == '{' || open == '(') {
            char close = open == '{' ? '}' : ')';
            size_t end = e.find(close, i + 2);
            if (end == std::string_view::npos)
                return make_error("pipe: unbalanced " + std::string(1, open) + " in argv element: " + std::string(e));
            name = std::string(e.substr(i + 2, end - i - 2));
            i = end + 1;
        } else if (open == '$') {
            lit.push_back('$');
            i += 2;
            continue;
        } else {
            size_t j = i + 1;
            while (j < e.size() && is_name_char(e[j])) ++j;
            if (j == i + 1) {
                lit.push_back('$');
                ++i;
                continue;
            }
            name = std::string(e.substr(i + 1, j - i - 1));
            i = j;
        }
        if (!known_macro(name)) return make_error("pipe: unknown macro name in argv: $" + name);
        if (!lit.empty()) parts->push_back({false, std::move(lit)});
        lit.clear();
        parts->push_back({true, name});
    }
    if (!lit.empty()) parts->push_back({false, std::move(lit)});
    return ok_status();
}

std::string fold_address(const std::string& address, const PipeFlags& f) {
    auto parts = address::split(address);
    std::string local = f.fold_user ? util::lowercase(parts.local) : parts.local;
    if (f.quote) local = address::quote_local_part(local);
    if (!parts.has_at) return local;
    return local + "@" + (f.fold_host ? util::lowercase(parts.domain) : parts.domain);
}

std::string macro_value(const std::string& name, const PipeFlags& f, const MacroContext& ctx,
                        const agent::JobRecipient* rcpt) {
    if (rcpt) {
        if (name == "recipient") return fold_address(rcpt->address, f);
        if (name == "original_recipient") return fold_address(rcpt->original(), f);
        auto parts = address::split(rcpt->address);
        auto ext = address::split_extension(parts.local, ctx.extension.rules());
        auto user_fold = [&](std::string s) { return f.fold_user ? util::lowercase(s) : s; };
        if (name == "user") return user_fold(ext.user);
        if (name == "extension") return user_fold(ext.extension);
        if (name == "mailbox") return user_fold(parts.local);
        if (name == "domain") return f.fold_host ? util::lowercase(parts.domain) : parts.domain;
    }
    if (name == "sender") {
        if (ctx.sender.empty()) return "";  // replaced by null_sender by the caller
        return f.quote ? fold_address(ctx.sender, PipeFlags{.quote = true}) : ctx.sender;
    }
    if (name == "nexthop") return f.fold_host ? util::lowercase(ctx.nexthop) : ctx.nexthop;
    if (name == "queue_id") return ctx.queue_id;
    if (name == "size") return std::to_string(ctx.size);
    auto it = ctx.client.find(name);
    return it == ctx.client.end() ? "" : it->second;
}

}  // namespace

Result<std::vector<std::string>> expand_pipe_argv(const std::vector<std::string>& argv, const PipeFlags& flags,
                                                  const MacroContext& context,
                                                  const std::vector<agent::JobRecipient>& recipients) {
    std::vector<std::string> out;
    for (const auto& element : argv) {
        std::vector<std::pair<bool, std::string>> parts;
        if (auto st = scan_element(element, &parts); !st) return st.error();
        bool repeat = false;
        for (const auto& [is_macro, text] : parts)
            if (is_macro && per_recipient(text)) repeat = true;
        auto expand_one = [&](const agent::JobRecipient* rcpt) {
            std::string s;
            for (const auto& [is_macro, text] : parts) s += is_macro ? macro_value(text, flags, context, rcpt) : text;
            return s;
        };
        if (!repeat) {
            out.push_back(expand_one(recipients.empty() ? nullptr : &recipients.front()));
            continue;
        }
        for (const auto& r : recipients) out.push_back(expand_one(&r));
    }
    return out;
}

}  // namespace mailroom::pipe
