// auth_module.h - authd's user databases ("modules") and the chain that asks them.
//
// Summary
//   An AuthModule answers "who is this user" (a UserRecord with the stored
//   password, uid, gid, home, maildir, quota) for one backend named by an
//   authd_modules element: `shadow`, `passwd-file:PATH`, `mysql:PATH`
//   (courier's authmodulelist, each `type` or `type:argument`).
//   AuthChain asks the modules in order, as courier's authdaemond does: the
//   first module that knows the user and accepts the password wins; a
//   module that does not know the user, or whose password does not match,
//   passes the request on to the next one. When no module accepted and one
//   of them failed temporarily (MySQL down), the outcome is a temporary
//   failure, never "wrong password".
//
// Description
//   Every call here may block (MySQL round trips, libcrypt hashing); authd
//   runs them off its loop through table::LookupRunner (one worker thread,
//   so a module's connection is used by one thread at a time). A module
//   that only reads local files says so with may_block() = false.
//   Password checks go through verify_password (lib/auth/password.h), the
//   one comparison of every scheme, in constant time.
//   A UserRecord never leaves authd with its password fields: the server
//   builds its reply from the other fields.
//
// Thread safety
//   One thread at a time per module and per chain.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lib/util/result.h"

namespace mailroom::auth {

// What a module knows about one user.
struct UserRecord {
    std::string username;  // the login as the module spells it
    std::string address;   // ADDRESS= (defaults to username)
    std::string name;      // full name (gecos)
    std::string home;
    std::string maildir;   // empty: $HOME/Maildir, as courier clients assume
    std::string quota;     // courier Maildir++ form ("1073741824S")
    std::string options;
    std::string sysuser;   // SYSUSERNAME= instead of UID/GID when set
    long long uid = -1;
    long long gid = -1;
    std::string crypt_password;  // stored hash (any verify_password scheme)
    std::string clear_password;  // stored clear text, when the backend has one
    // Why the password cannot be checked although the user was found
    // (shadow not readable without root); empty when it can.
    std::string password_unavailable;
    std::string module;  // the authd_modules element that answered
};

enum class Outcome {
    kOk,        // found / accepted / changed
    kNotFound,  // unknown user (lookup) or refused (auth, passwd)
    kTempFail,  // the backend could not answer: try again later
};

struct LookupResult {
    Outcome outcome = Outcome::kNotFound;
    UserRecord user;
    std::string reason;  // kTempFail, or why a found user was refused

    static LookupResult temp_failure(std::string why) {
        LookupResult r;
        r.outcome = Outcome::kTempFail;
        r.reason = std::move(why);
        return r;
    }
};

class AuthModule {
public:
    virtual ~AuthModule() = default;
    // The authd_modules element, e.g. "mysql:/etc/authmysqlrc".
    virtual const std::string& spec() const = 0;
    // True when a call may wait for a remote server.
    virtual bool may_block() const = 0;
    // `user` after auth_username_format; `service` as the client sent it.
    virtual LookupResult lookup(const std::string& user, const std::string& service) = 0;
    // Changes a password; kNotFound when the module does not know the user
    // or cannot change passwords. The old password was checked already.
    virtual LookupResult change_password(const UserRecord& user, const std::string& service,
                                         const std::string& new_password);
    // Every user the module can list; nullopt when it cannot.
    virtual std::optional<Result<std::vector<UserRecord>>> enumerate();
    // The default password scheme of bare hashes (Dovecot's
    // default_pass_scheme; CRYPT for every module here).
    virtual std::string default_scheme() const { return "CRYPT"; }
};

// Opens one authd_modules element. Errors name the element.
Result<std::unique_ptr<AuthModule>> open_module(std::string_view spec);

// Dovecot's auth_username_format (%u, %n, %d, %%, with the L and U case
// modifiers, e.g. %Lu) and auth_default_realm (appended as @realm to a
// name without '@').
std::string format_username(std::string_view user, std::string_view format, std::string_view default_realm);

class AuthChain {
public:
    explicit AuthChain(std::vector<std::unique_ptr<AuthModule>> modules) : modules_(std::move(modules)) {}
    // Opens every element of authd_modules, in order.
    static Result<std::unique_ptr<AuthChain>> open(const std::vector<std::string>& specs);

    bool may_block() const;
    const std::vector<std::unique_ptr<AuthModule>>& modules() const { return modules_; }

    // The first module that knows the user. With `only`, just the modules
    // it names: the whole element ("mysql:/etc/authmysqlrc"), its type
    // ("mysql") or courier's name for it ("authmysql"), as the module
    // field of courier's PRE request does.
    LookupResult lookup(const std::string& user, const std::string& service, std::string_view only = {});
    static bool module_named(const AuthModule& module, std::string_view name);
    // The first module that knows the user and accepts the password.
    LookupResult authenticate(const std::string& user, const std::string& service, const std::string& password);
    // The same with another proof than a password (CRAM-MD5's digest):
    // `check` says whether a found user is accepted (kOk) and why not.
    // `first_found`, when given, receives the user as the first module that
    // knew it has it (for the cache), or nothing.
    using Check = std::function<Outcome(const UserRecord&, const AuthModule&, std::string* why)>;
    LookupResult authenticate_with(const std::string& user, const std::string& service, const Check& check,
                                   std::optional<LookupResult>* first_found = nullptr);
    // Checks `password` against a record a lookup (or the cache) returned.
    static Outcome check_password(const UserRecord& user, const std::string& module_scheme,
                                  const std::string& password, std::string* reason);
    // Checks the old password, then changes it in the module that holds it.
    LookupResult change_password(const std::string& user, const std::string& service, const std::string& old_password,
                                 const std::string& new_password);
    // Every user of every module that can list users; a module that fails
    // makes the whole list fail temporarily.
    Result<std::vector<UserRecord>> enumerate();

private:
    std::vector<std::unique_ptr<AuthModule>> modules_;
};

}  // namespace mailroom::auth
