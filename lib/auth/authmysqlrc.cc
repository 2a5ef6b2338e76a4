// authmysqlrc.cc - see authmysqlrc.h.
#include "lib/auth/authmysqlrc.h"

#include <cstdlib>
#include <map>

#include "lib/util/strings.h"

namespace mailroom::auth {

namespace {

// The longest logical line (after continuations) we accept.
constexpr std::size_t kMaxFileLine = 64 * 1024;

// "3306   (a note)" -> "3306": an annotation after white space.
std::string drop_annotation(std::string_view value) {
    std::string_view v = util::trim(value);
    if (v.empty() || v.back() != ')') return std::string(v);
    std::size_t open = v.rfind('(');
    if (open == std::string_view::npos || open == 0 || !util::is_space(v[open - 1])) return std::string(v);
    return std::string(util::trim(v.substr(0, open)));
}

}  // namespace

Result<AuthMysqlConfig> parse_authmysqlrc(std::string_view text, const std::string& filename) {
    AuthMysqlConfig cfg;
    std::map<std::string, std::string*> plain = {
        {"MYSQL_SERVER", &cfg.server},         {"MYSQL_SOCKET", &cfg.socket},
        {"MYSQL_USERNAME", &cfg.username},     {"MYSQL_PASSWORD", &cfg.password},
        {"MYSQL_DATABASE", &cfg.database},     {"MYSQL_USER_TABLE", &cfg.user_table},
        {"MYSQL_DEFAULT_DOMAIN", &cfg.default_domain}, {"MYSQL_CHARACTER_SET", &cfg.character_set},
    };
    std::map<std::string, std::string*> sql = {
        {"MYSQL_CRYPT_PWFIELD", &cfg.crypt_field},   {"MYSQL_CLEAR_PWFIELD", &cfg.clear_field},
        {"MYSQL_UID_FIELD", &cfg.uid_field},         {"MYSQL_GID_FIELD", &cfg.gid_field},
        {"MYSQL_LOGIN_FIELD", &cfg.login_field},     {"MYSQL_HOME_FIELD", &cfg.home_field},
        {"MYSQL_NAME_FIELD", &cfg.name_field},       {"MYSQL_MAILDIR_FIELD", &cfg.maildir_field},
        {"MYSQL_QUOTA_FIELD", &cfg.quota_field},     {"MYSQL_AUXOPTIONS_FIELD", &cfg.options_field},
        {"MYSQL_WHERE_CLAUSE", &cfg.where_clause},   {"MYSQL_SELECT_CLAUSE", &cfg.select_clause},
        {"MYSQL_ENUMERATE_CLAUSE", &cfg.enumerate_clause}, {"MYSQL_CHPASS_CLAUSE", &cfg.chpass_clause},
    };
    std::size_t lineno = 0;
    std::size_t pos = 0;
    while (pos < text.size()) {
        // One logical line: physical lines joined at a trailing backslash.
        std::string line;
        std::size_t first = lineno + 1;
        for (;;) {
            std::size_t nl = text.find('\n', pos);
            std::string_view phys = text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
            pos = nl == std::string_view::npos ? text.size() : nl + 1;
            ++lineno;
            if (!phys.empty() && phys.back() == '\r') phys.remove_suffix(1);
            std::string_view body = util::trim_right(phys);
            bool more = !body.empty() && body.back() == '\\' && pos < text.size();
            if (more) body.remove_suffix(1);
            line.append(body);
            if (line.size() > kMaxFileLine)
                return make_error(util::format("%s, line %zu: line too long", filename.c_str(), first));
            if (!more) break;
            line.push_back(' ');
        }
        std::string_view l = util::trim(line);
        if (l.empty() || l.front() == '#') continue;
        std::size_t sp = 0;
        while (sp < l.size() && !util::is_space(l[sp])) ++sp;
        std::string key(l.substr(0, sp));
        std::string_view value = util::trim(l.substr(sp));
        if (auto it = plain.find(key); it != plain.end()) {
            *it->second = drop_annotation(value);
        } else if (auto it2 = sql.find(key); it2 != sql.end()) {
            *it2->second = std::string(value);
        } else if (key == "MYSQL_PORT" || key == "MYSQL_OPT") {
            std::string v = drop_annotation(value);
            char* end = nullptr;
            unsigned long n = std::strtoul(v.c_str(), &end, 10);
            if (v.empty() || *end != '\0' || (key == "MYSQL_PORT" && n > 65535))
                return make_error(util::format("%s, line %zu: bad %s value: %s", filename.c_str(), lineno,
                                               key.c_str(), v.c_str()));
            if (key == "MYSQL_PORT") {
                cfg.port = static_cast<unsigned>(n);
            } else {
                cfg.client_flags = n;
            }
        }
        // Other keys belong to other courier modules (or are ours to
        // ignore, such as MYSQL_SSL_*): accepted as courier does.
    }
    if (cfg.user_table.empty() && cfg.select_clause.empty())
        return make_error(filename + ": MYSQL_USER_TABLE is not set");
    if (cfg.crypt_field.empty() && cfg.clear_field.empty() && cfg.select_clause.empty())
        return make_error(filename + ": neither MYSQL_CRYPT_PWFIELD nor MYSQL_CLEAR_PWFIELD is set");
    return cfg;
}

std::string mysql_login(const AuthMysqlConfig& cfg, std::string_view user) {
    std::string login(user);
    if (login.find('@') == std::string::npos && !cfg.default_domain.empty()) login += "@" + cfg.default_domain;
    return login;
}

std::string substitute_clause(std::string_view clause, std::string_view login, std::string_view service,
                              const SqlEscape& escape, const std::vector<std::pair<std::string, std::string>>& extra) {
    std::size_t at = login.rfind('@');
    std::string_view local = at == std::string_view::npos ? login : login.substr(0, at);
    std::string_view domain = at == std::string_view::npos ? std::string_view() : login.substr(at + 1);
    std::string out;
    std::size_t i = 0;
    while (i < clause.size()) {
        if (clause.compare(i, 2, "$(") == 0) {
            std::size_t close = clause.find(')', i + 2);
            if (close != std::string_view::npos) {
                std::string_view name = clause.substr(i + 2, close - i - 2);
                const std::string* value = nullptr;
                std::string tmp;
                if (name == "local_part") {
                    tmp = escape(local);
                } else if (name == "domain") {
                    tmp = escape(domain);
                } else if (name == "service") {
                    tmp = escape(service);
                } else {
                    for (const auto& [k, v] : extra)
                        if (k == name) value = &v;
                    if (!value) {
                        out.append(clause.substr(i, close + 1 - i));
                        i = close + 1;
                        continue;
                    }
                    tmp = escape(*value);
                }
                out += tmp;
                i = close + 1;
                continue;
            }
        }
        out.push_back(clause[i++]);
    }
    return out;
}

namespace {

std::string field_or_empty(const std::string& field) { return field.empty() ? "''" : field; }

}  // namespace

std::string build_select_query(const AuthMysqlConfig& cfg, std::string_view user, std::string_view service,
                               const SqlEscape& escape) {
    std::string login = mysql_login(cfg, user);
    if (!cfg.select_clause.empty()) return substitute_clause(cfg.select_clause, login, service, escape);
    std::string q = "SELECT " + cfg.login_field + ", " + field_or_empty(cfg.crypt_field) + ", " +
                    field_or_empty(cfg.clear_field) + ", " + cfg.uid_field + ", " + cfg.gid_field + ", " +
                    cfg.home_field + ", " + field_or_empty(cfg.maildir_field) + ", " +
                    field_or_empty(cfg.quota_field) + ", " + field_or_empty(cfg.name_field) + ", " +
                    field_or_empty(cfg.options_field) + " FROM " + cfg.user_table + " WHERE " + cfg.login_field +
                    " = '" + escape(login) + "'";
    if (!cfg.where_clause.empty()) q += " AND (" + substitute_clause(cfg.where_clause, login, service, escape) + ")";
    return q;
}

std::string build_enumerate_query(const AuthMysqlConfig& cfg, const SqlEscape& escape) {
    if (!cfg.enumerate_clause.empty()) return substitute_clause(cfg.enumerate_clause, "", "", escape);
    std::string q = "SELECT " + cfg.login_field + ", " + cfg.uid_field + ", " + cfg.gid_field + ", " +
                    cfg.home_field + ", " + field_or_empty(cfg.maildir_field) + ", " +
                    field_or_empty(cfg.options_field) + " FROM " + cfg.user_table;
    if (!cfg.where_clause.empty()) q += " WHERE (" + substitute_clause(cfg.where_clause, "", "", escape) + ")";
    return q;
}

std::string build_chpass_query(const AuthMysqlConfig& cfg, std::string_view user, std::string_view service,
                               std::string_view new_clear, std::string_view new_crypt, const SqlEscape& escape) {
    std::string login = mysql_login(cfg, user);
    if (!cfg.chpass_clause.empty())
        return substitute_clause(cfg.chpass_clause, login, service, escape,
                                 {{"newpass", std::string(new_clear)}, {"newpass_crypt", std::string(new_crypt)}});
    if (cfg.crypt_field.empty() && cfg.clear_field.empty()) return {};
    std::string set;
    if (!cfg.clear_field.empty()) set = cfg.clear_field + " = '" + escape(new_clear) + "'";
    if (!cfg.crypt_field.empty())
        set += (set.empty() ? "" : ", ") + cfg.crypt_field + " = '" + escape(new_crypt) + "'";
    std::string q = "UPDATE " + cfg.user_table + " SET " + set + " WHERE " + cfg.login_field + " = '" +
                    escape(login) + "'";
    if (!cfg.where_clause.empty()) q += " AND (" + substitute_clause(cfg.where_clause, login, service, escape) + ")";
    return q;
}

}  // namespace mailroom::auth
