// local_expand.cc - see local_expand.h.
#include "local/local_expand.h"

#include <cctype>

#include "lib/address/address.h"
#include "lib/address/resolve.h"
#include "lib/util/strings.h"

namespace mailroom::local {

std::vector<std::string> parse_alias_list(std::string_view text) {
    std::vector<std::string> out;
    std::string cur;
    bool quoted = false;
    bool line_start = true;
    auto push = [&] {
        std::string t(util::trim(cur));
        if (t.size() >= 2 && t.front() == '"' && t.back() == '"') t = t.substr(1, t.size() - 2);
        if (!t.empty()) out.push_back(t);
        cur.clear();
    };
    for (size_t i = 0; i < text.size(); ++i) {
        char c = text[i];
        if (line_start && !quoted) {
            size_t j = i;
            while (j < text.size() && (text[j] == ' ' || text[j] == '\t')) ++j;
            if (j < text.size() && text[j] == '#') {  // comment line
                size_t nl = text.find('\n', j);
                i = nl == std::string_view::npos ? text.size() : nl;
                continue;
            }
        }
        line_start = false;
        if (c == '"') {
            quoted = !quoted;
            cur.push_back(c);
            continue;
        }
        if (c == '\\' && quoted && i + 1 < text.size()) {
            cur.push_back(text[++i]);
            continue;
        }
        if (!quoted && (c == ',' || c == '\n')) {
            push();
            line_start = c == '\n';
            continue;
        }
        cur.push_back(c);
    }
    push();
    return out;
}

const char* source_name(Source source) {
    switch (source) {
        case Source::kRecipient: return "recipient";
        case Source::kAlias: return "alias";
        case Source::kForward: return "forward";
        case Source::kInclude: return "include";
    }
    return "recipient";
}

// A lookup that fails (a mydestination table down) is an error, so that the
// delivery is deferred instead of the address being forwarded.
Result<bool> is_local_address(const std::string& address, const LocalSettings& settings) {
    if (!address::split(address).has_at) return true;
    if (!settings.resolver) return false;
    auto r = settings.resolver->resolve(address);
    if (!r) return r.error();
    return r->cls == address::AddressClass::kLocal;
}

std::optional<std::string> expand_forward_path(const std::string& pattern, const agent::Identity& user,
                                               const std::string& recipient, const std::string& extension,
                                               const std::string& delimiter) {
    auto parts = address::split(recipient);
    std::string out;
    for (size_t i = 0; i < pattern.size();) {
        if (pattern[i] != '$' || i + 1 == pattern.size()) {
            out.push_back(pattern[i++]);
            continue;
        }
        std::string name;
        if (pattern[i + 1] == '{' || pattern[i + 1] == '(') {
            char close = pattern[i + 1] == '{' ? '}' : ')';
            size_t end = pattern.find(close, i + 2);
            if (end == std::string::npos) return std::nullopt;
            name = pattern.substr(i + 2, end - i - 2);
            i = end + 1;
        } else {
            size_t j = i + 1;
            while (j < pattern.size() && (std::isalnum(static_cast<unsigned char>(pattern[j])) || pattern[j] == '_')) ++j;
            name = pattern.substr(i + 1, j - i - 1);
            i = j;
        }
        if (name == "home") out += user.home;
        else if (name == "user") out += user.name;
        else if (name == "shell") out += user.shell;
        else if (name == "recipient") out += recipient;
        else if (name == "domain") out += parts.domain;
        else if (name == "local") out += parts.local;
        else if (name == "extension" || name == "recipient_delimiter") {
            if (extension.empty()) return std::nullopt;
            out += name == "extension" ? extension : delimiter.substr(0, 1);
        } else {
            return std::nullopt;  // unknown names never expand to a path
        }
    }
    return out;
}

namespace {

class Expander {
public:
    Expander(const LocalSettings& s, const LocalEnv& e) : s_(s), env_(e) {}

    Expansion run(const std::string& recipient, const std::string& sender) {
        Frame top{sender, Privs{}, Source::kRecipient, {}};
        resolve_local(recipient, top, 0, false);
        return std::move(result_);
    }

private:
    struct Frame {
        std::string sender;
        Privs privs;
        Source source;
        std::vector<std::string> path;  // local names being expanded (ancestors)
    };

    // `to`: the address whose expansion failed (logged as to=).
    void fail(agent::Outcome o, const std::string& to) {
        result_.failures.push_back(std::move(o));
        result_.failed_to.push_back(to);
    }

    bool first_time(const std::string& key) { return seen_.insert(key).second; }

    std::string qualify(const std::string& local) const { return local + "@" + s_.myorigin; }

    void add(Destination d) {
        std::string key = std::to_string(static_cast<int>(d.kind)) + ":" +
                          (d.kind == DestKind::kCommand || d.kind == DestKind::kFile ? d.target
                                                                                     : util::lowercase(d.target));
        if (d.kind == DestKind::kMailbox) key += "+" + util::lowercase(d.extension);
        if (!first_time(key)) return;
        result_.destinations.push_back(std::move(d));
    }

    // A local recipient: aliases, user, .forward, mailbox.
    void resolve_local(const std::string& address, const Frame& frame, int depth, bool mailbox_only) {
        auto parts = address::split(address);
        std::string domain = parts.domain.empty() ? s_.myorigin : parts.domain;
        std::string full = util::lowercase(parts.local);
        auto ext = address::split_extension(full, s_.extension.rules());
        std::string rcpt = parts.local + "@" + domain;
        if (depth > s_.max_depth) {
            fail(agent::bounced("mail forwarding loop for " + address, "5.4.6"), rcpt);
            return;
        }

        bool self = false;
        for (const auto& p : frame.path)
            if (p == full || p == ext.user) self = true;

        if (!mailbox_only && !self && env_.alias) {
            std::vector<std::string> keys = {full};
            if (!ext.extension.empty()) keys.push_back(ext.user);
            for (const auto& key : keys) {
                auto a = env_.alias(key);
                if (!a) {
                    fail(agent::outcome_from_error(a.error(), "4.3.0", "5.3.0"), rcpt);
                    return;
                }
                if (!*a) continue;
                Frame next = frame;
                next.source = Source::kAlias;
                next.privs = (*a)->owner;
                next.path.push_back(key);
                if (key != full) next.path.push_back(full);
                // owner-NAME becomes the sender of NAME's expansion.
                if (key.rfind("owner-", 0) != 0) {
                    auto owner = env_.alias("owner-" + key);
                    if (!owner) {
                        fail(agent::outcome_from_error(owner.error(), "4.3.0", "5.3.0"), rcpt);
                        return;
                    }
                    if (*owner) next.sender = qualify("owner-" + key);
                }
                for (const auto& token : parse_alias_list((*a)->value)) handle_token(token, rcpt, next, depth + 1);
                return;
            }
        }

        auto user = env_.user ? env_.user(ext.user) : Result<std::optional<agent::Identity>>(std::nullopt);
        if (!user) {
            fail(agent::outcome_from_error(user.error(), "4.3.0", "5.3.0"), rcpt);
            return;
        }
        if (!*user) {
            if (!s_.luser_relay.empty() && frame.source == Source::kRecipient) {
                std::string relay = s_.luser_relay;
                relay = replace_all(relay, "$user", ext.user);
                relay = replace_all(relay, "$local", parts.local);
                relay = replace_all(relay, "$domain", domain);
                relay = replace_all(relay, "$extension", ext.extension);
                relay = replace_all(relay, "$recipient", rcpt);
                Frame next = frame;
                next.source = Source::kAlias;
                next.path.push_back(full);
                handle_token(relay, rcpt, next, depth + 1);
                return;
            }
            fail(agent::bounced("unknown user: \"" + ext.user + "\"", "5.1.1"), rcpt);
            return;
        }

        if (!mailbox_only && !self && env_.forward) {
            for (const auto& pattern : s_.forward_path) {
                auto path = expand_forward_path(pattern, **user, rcpt, ext.extension, s_.extension.delimiters);
                if (!path) continue;
                auto text = env_.forward(*path, **user);
                if (!text) {
                    fail(agent::outcome_from_error(text.error(), "4.3.0", "5.3.0"), rcpt);
                    return;
                }
                if (!*text) continue;
                Frame next = frame;
                next.source = Source::kForward;
                // root's own commands and files run as default_privs.
                next.privs = (*user)->uid == 0 ? s_.default_privs : Privs{(*user)->uid, (*user)->gid, (*user)->name};
                next.path.push_back(full);
                if (full != ext.user) next.path.push_back(ext.user);
                auto tokens = parse_alias_list(**text);
                if (tokens.empty()) break;  // an empty .forward means the mailbox
                for (const auto& token : tokens) handle_token(token, rcpt, next, depth + 1);
                return;
            }
        }

        Destination d;
        d.kind = DestKind::kMailbox;
        d.target = (*user)->name;
        d.recipient = rcpt;
        d.sender = frame.sender;
        d.user = **user;
        d.extension = ext.extension;
        d.source = frame.source;
        add(std::move(d));
    }

    static std::string replace_all(std::string s, const std::string& from, const std::string& to) {
        for (size_t pos = 0; (pos = s.find(from, pos)) != std::string::npos; pos += to.size()) s.replace(pos, from.size(), to);
        return s;
    }

    bool allowed(const std::set<std::string>& allow, Source source) const {
        return source == Source::kRecipient || allow.count(source_name(source)) > 0;
    }

    void handle_token(const std::string& token, const std::string& rcpt, const Frame& frame, int depth) {
        if (token.empty()) return;
        if (token[0] == '|') {
            std::string cmd(util::trim(std::string_view(token).substr(1)));
            if (!allowed(s_.allow_commands, frame.source)) {
                fail(agent::bounced(util::format("mail to command is restricted"), "5.7.1"), rcpt);
                return;
            }
            add(Destination{DestKind::kCommand, cmd, rcpt, frame.sender, frame.privs, {}, "", frame.source});
            return;
        }
        if (token[0] == '/') {
            if (!allowed(s_.allow_files, frame.source)) {
                fail(agent::bounced("mail to file is restricted", "5.7.1"), rcpt);
                return;
            }
            add(Destination{DestKind::kFile, token, rcpt, frame.sender, frame.privs, {}, "", frame.source});
            return;
        }
        if (util::starts_with_icase(token, ":include:")) {
            std::string path(util::trim(std::string_view(token).substr(9)));
            if (!first_time("include:" + path)) return;
            if (path.empty() || path[0] != '/') {
                fail(agent::bounced(":include: path is not absolute: " + path, "5.3.5"), rcpt);
                return;
            }
            auto text = env_.include(path, frame.privs);
            if (!text) {
                fail(agent::outcome_from_error(text.error(), "4.3.0", "5.3.0"), rcpt);
                return;
            }
            Frame next = frame;
            next.source = Source::kInclude;
            if (text->second.uid != 0) next.privs = text->second;
            for (const auto& t : parse_alias_list(text->first)) handle_token(t, rcpt, next, depth + 1);
            return;
        }
        if (token[0] == '\\') {
            resolve_local(token.substr(1), frame, depth, true);
            return;
        }
        std::string address = token;
        if (address.size() >= 2 && address.front() == '<' && address.back() == '>')
            address = address.substr(1, address.size() - 2);
        auto local = is_local_address(address, s_);
        if (!local) {
            fail(agent::outcome_from_error(local.error(), "4.3.0", "5.3.0"), rcpt);
            return;
        }
        if (*local) {
            resolve_local(address, frame, depth, false);
            return;
        }
        add(Destination{DestKind::kForward, address, address, frame.sender, frame.privs, {}, "", frame.source});
    }

    const LocalSettings& s_;
    const LocalEnv& env_;
    Expansion result_;
    std::set<std::string> seen_;
};

}  // namespace

Expansion expand_local(const std::string& recipient, const std::string& sender, const LocalSettings& settings,
                       const LocalEnv& env) {
    return Expander(settings, env).run(recipient, sender);
}

}  // namespace mailroom::local
