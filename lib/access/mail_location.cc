// mail_location.cc - see mail_location.h.
#include "lib/access/mail_location.h"

#include "lib/util/strings.h"

namespace mailroom::access {

Result<std::string> expand_mail_variables(std::string_view text, const MailUser& user) {
    const auto at = user.user.rfind('@');
    const std::string local = at == std::string::npos ? user.user : user.user.substr(0, at);
    const std::string domain = at == std::string::npos ? std::string() : user.user.substr(at + 1);
    std::string out;
    std::size_t i = 0;
    if (!text.empty() && text[0] == '~' && (text.size() == 1 || text[1] == '/')) {
        if (user.home.empty()) return make_error(util::format("mail_location: %.*s needs a home directory",
                                                         static_cast<int>(text.size()), text.data()));
        out = user.home;
        i = 1;
    }
    for (; i < text.size(); ++i) {
        if (text[i] != '%') {
            out += text[i];
            continue;
        }
        if (++i == text.size()) return make_error("mail_location: a lone % at the end");
        switch (text[i]) {
        case 'u': out += user.user; break;
        case 'n': out += local; break;
        case 'd': out += domain; break;
        case 'h':
            if (user.home.empty()) return make_error("mail_location: %h needs a home directory");
            out += user.home;
            break;
        case '%': out += '%'; break;
        default: return make_error(util::format("mail_location: unknown variable %%%c", text[i]));
        }
    }
    return out;
}

Result<MailLocation> parse_mail_location(std::string_view setting, const MailUser& user) {
    MailLocation loc;
    const auto colon = setting.find(':');
    if (colon == std::string_view::npos) return make_error("mail_location: no format (maildir: or mbox:)");
    const std::string_view format = setting.substr(0, colon);
    if (format == "maildir") {
        loc.format = MailFormat::kMaildir;
    } else if (format == "mbox") {
        loc.format = MailFormat::kMbox;
    } else {
        return make_error(util::format("mail_location: unsupported format %.*s", static_cast<int>(format.size()),
                                  format.data()));
    }
    // Dovecot: the root, then ":KEY=VALUE" options (INBOX=, INDEX=, ...).
    std::vector<std::string> parts = util::split(setting.substr(colon + 1), ":");
    if (parts.empty() || parts[0].empty()) return make_error("mail_location: no path");
    auto root = expand_mail_variables(parts[0], user);
    if (!root) return root.error();
    loc.root = *root;
    for (std::size_t i = 1; i < parts.size(); ++i) {
        const auto eq = parts[i].find('=');
        if (eq == std::string::npos) return make_error("mail_location: bad option " + parts[i]);
        if (parts[i].compare(0, eq, "INBOX") == 0) {
            auto inbox = expand_mail_variables(std::string_view(parts[i]).substr(eq + 1), user);
            if (!inbox) return inbox.error();
            loc.inbox = *inbox;
        }
        // Other options (INDEX=, CONTROL=, LAYOUT=) do not change where the mail is.
    }
    if (loc.format == MailFormat::kMbox && loc.inbox.empty()) loc.inbox = loc.root + "/inbox";
    if (loc.root.empty() || loc.root[0] != '/') return make_error("mail_location: not an absolute path: " + loc.root);
    if (loc.format == MailFormat::kMbox && loc.inbox[0] != '/')
        return make_error("mail_location: INBOX is not an absolute path: " + loc.inbox);
    return loc;
}

Result<std::string> resolve_maildir(std::string_view maildir, std::string_view home) {
    if (!maildir.empty() && maildir[0] == '/') return std::string(maildir);
    if (home.empty() || home[0] != '/')
        return make_error("MAILDIR " + std::string(maildir) + " is relative and the home directory is not absolute");
    while (maildir.substr(0, 2) == "./") maildir.remove_prefix(2);
    std::string out(home);
    if (out.back() != '/') out += '/';
    out += maildir;
    return out;
}

}  // namespace mailroom::access
