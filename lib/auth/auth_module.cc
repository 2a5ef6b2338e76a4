// auth_module.cc - see auth_module.h.
#include "lib/auth/auth_module.h"

#include <cctype>

#include "lib/auth/mysql_auth.h"
#include "lib/auth/passwd_file.h"
#include "lib/auth/password.h"
#include "lib/auth/shadow_auth.h"
#include "lib/util/strings.h"

namespace mailroom::auth {

LookupResult AuthModule::change_password(const UserRecord&, const std::string&, const std::string&) {
    LookupResult r;
    r.reason = "this module cannot change passwords";
    return r;
}

std::optional<Result<std::vector<UserRecord>>> AuthModule::enumerate() { return std::nullopt; }

Result<std::unique_ptr<AuthModule>> open_module(std::string_view spec) {
    std::string s(util::trim(spec));
    std::size_t colon = s.find(':');
    std::string type = util::lowercase(s.substr(0, colon));
    std::string arg = colon == std::string::npos ? std::string() : s.substr(colon + 1);
    // courier's names for the same modules.
    if (type == "authshadow" || type == "authpwd" || type == "passwd") type = "shadow";
    if (type == "authmysql") type = "mysql";
    if (type == "shadow") {
        if (!arg.empty()) return make_error("authd_modules: shadow takes no argument: " + s);
        return std::unique_ptr<AuthModule>(std::make_unique<ShadowModule>(s));
    }
    if (type == "passwd-file") {
        if (arg.empty() || arg.front() != '/') return make_error("authd_modules: passwd-file needs an absolute path: " + s);
        return std::unique_ptr<AuthModule>(std::make_unique<PasswdFileModule>(s, arg));
    }
    if (type == "mysql") {
        if (arg.empty()) arg = "/etc/courier/authmysqlrc";
        auto m = MysqlAuthModule::open(s, arg);
        if (!m) return m.error();
        return std::unique_ptr<AuthModule>(std::move(*m));
    }
    return make_error("authd_modules: unknown module type: " + s);
}

std::string format_username(std::string_view user, std::string_view format, std::string_view default_realm) {
    std::string full(user);
    if (!default_realm.empty() && full.find('@') == std::string::npos) full += "@" + std::string(default_realm);
    if (format.empty()) return full;
    std::size_t at = full.rfind('@');
    std::string local = at == std::string::npos ? full : full.substr(0, at);
    std::string domain = at == std::string::npos ? std::string() : full.substr(at + 1);
    std::string out;
    for (std::size_t i = 0; i < format.size(); ++i) {
        char c = format[i];
        if (c != '%' || i + 1 >= format.size()) {
            out.push_back(c);
            continue;
        }
        char mod = 0;
        char v = format[++i];
        if ((v == 'L' || v == 'U') && i + 1 < format.size()) {
            mod = v;
            v = format[++i];
        }
        std::string piece;
        switch (v) {
            case 'u': piece = full; break;
            case 'n': piece = local; break;
            case 'd': piece = domain; break;
            case '%': piece = "%"; break;
            default: piece = std::string("%") + (mod ? std::string(1, mod) : "") + v; mod = 0; break;
        }
        for (char& ch : piece) {
            if (mod == 'L') ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
            if (mod == 'U') ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
        }
        out += piece;
    }
    return out;
}

Result<std::unique_ptr<AuthChain>> AuthChain::open(const std::vector<std::string>& specs) {
    std::vector<std::unique_ptr<AuthModule>> modules;
    for (const auto& s : specs) {
        auto m = open_module(s);
        if (!m) return m.error();
        modules.push_back(std::move(*m));
    }
    if (modules.empty()) return make_error("authd_modules is empty");
    return std::make_unique<AuthChain>(std::move(modules));
}

bool AuthChain::may_block() const {
    for (const auto& m : modules_)
        if (m->may_block()) return true;
    return false;
}

bool AuthChain::module_named(const AuthModule& module, std::string_view name) {
    const std::string& spec = module.spec();
    std::string type = util::lowercase(spec.substr(0, spec.find(':')));
    std::string n = util::lowercase(name);
    return name == spec || n == type || n == "auth" + type || (type == "shadow" && (n == "authpwd" || n == "passwd"));
}

LookupResult AuthChain::lookup(const std::string& user, const std::string& service, std::string_view only) {
    LookupResult temp;
    bool failed = false;
    for (const auto& m : modules_) {
        if (!only.empty() && !module_named(*m, only)) continue;
        LookupResult r = m->lookup(user, service);
        if (r.outcome == Outcome::kOk) {
            r.user.module = m->spec();
            if (r.user.address.empty()) r.user.address = r.user.username;
            return r;
        }
        if (r.outcome == Outcome::kTempFail && !failed) {
            failed = true;
            temp = r;
            temp.reason = m->spec() + ": " + r.reason;
        }
    }
    if (failed) return temp;
    return LookupResult{};
}

Outcome AuthChain::check_password(const UserRecord& user, const std::string& module_scheme,
                                  const std::string& password, std::string* reason) {
    if (!user.password_unavailable.empty()) {
        *reason = user.password_unavailable;
        return Outcome::kNotFound;
    }
    if (password.empty()) {
        *reason = "empty password";
        return Outcome::kNotFound;
    }
    if (!user.crypt_password.empty()) {
        VerifyResult v = verify_password(user.crypt_password, password, module_scheme);
        if (v == VerifyResult::kMatch) return Outcome::kOk;
        if (v == VerifyResult::kUnsupported) {
            *reason = "unsupported password scheme";
            return Outcome::kNotFound;
        }
        *reason = "password mismatch";
        return Outcome::kNotFound;
    }
    if (!user.clear_password.empty()) {
        if (verify_password(user.clear_password, password, "PLAIN") == VerifyResult::kMatch) return Outcome::kOk;
        *reason = "password mismatch";
        return Outcome::kNotFound;
    }
    *reason = "no password";
    return Outcome::kNotFound;
}

LookupResult AuthChain::authenticate(const std::string& user, const std::string& service, const std::string& password) {
    return authenticate_with(user, service, [&](const UserRecord& u, const AuthModule& m, std::string* why) {
        return check_password(u, m.default_scheme(), password, why);
    });
}

LookupResult AuthChain::authenticate_with(const std::string& user, const std::string& service, const Check& check,
                                          std::optional<LookupResult>* first_found) {
    LookupResult temp, refused;
    bool failed = false;
    std::optional<LookupResult> found;
    for (const auto& m : modules_) {
        LookupResult r = m->lookup(user, service);
        if (r.outcome == Outcome::kTempFail) {
            if (!failed) {
                temp = r;
                temp.reason = m->spec() + ": " + r.reason;
            }
            failed = true;
            continue;
        }
        if (r.outcome != Outcome::kOk) continue;
        r.user.module = m->spec();
        if (r.user.address.empty()) r.user.address = r.user.username;
        if (!found) found = r;
        std::string why;
        if (check(r.user, *m, &why) == Outcome::kOk) {
            if (first_found) *first_found = r;
            return r;
        }
        if (refused.reason.empty()) {
            refused.user = r.user;
            refused.reason = m->spec() + ": " + why;
        }
    }
    if (first_found) *first_found = failed ? std::nullopt : found;
    if (failed) return temp;
    if (refused.reason.empty()) refused.reason = "unknown user";
    return refused;
}

LookupResult AuthChain::change_password(const std::string& user, const std::string& service,
                                        const std::string& old_password, const std::string& new_password) {
    LookupResult r = authenticate(user, service, old_password);
    if (r.outcome != Outcome::kOk) return r;
    for (const auto& m : modules_) {
        if (m->spec() != r.user.module) continue;
        LookupResult c = m->change_password(r.user, service, new_password);
        if (!c.reason.empty()) c.reason = m->spec() + ": " + c.reason;
        c.user = r.user;
        return c;
    }
    return LookupResult{};
}

Result<std::vector<UserRecord>> AuthChain::enumerate() {
    std::vector<UserRecord> all;
    for (const auto& m : modules_) {
        auto list = m->enumerate();
        if (!list) continue;
        if (!*list) return make_temp_error(m->spec() + ": " + list->error().message);
        for (auto& u : **list) {
            u.module = m->spec();
            all.push_back(std::move(u));
        }
    }
    return all;
}

}  // namespace mailroom::auth
