// mysql_auth.h - authd's `mysql:PATH` module: users in MySQL/MariaDB, as
// courier-authlib's authmysql reads them.
//
// Summary
//   MysqlAuthModule reads a courier authmysqlrc file (authmysqlrc.h) and
//   answers lookups, password changes and enumeration with the queries it
//   implies. Bare hashes in the password field are crypt strings (the
//   seed's default_pass_scheme = CRYPT); "{SCHEME}" prefixes work too.
//
// Description
//   The client library is loaded when the module opens (mysql_client.h).
//   The connection (MYSQL_SERVER with MYSQL_PORT, or MYSQL_SOCKET; client
//   flags MYSQL_OPT) opens on first use and is kept; a connection that was
//   lost at once is reopened once per request (not after a timeout).
//   Connect, read and write time out after 2 seconds, so a server that
//   stopped answering gives a temporary failure within a client's wait
//   (authd_client_timeout); after a failed connect the module fails at
//   once for 5 seconds instead of making every queued request wait again.
//   Every failure to reach the server or run a query is a temporary
//   failure whose reason names the server and MySQL's error text (for a
//   password update, only MySQL's error number: the text may quote the
//   statement and with it the new password); it is never "unknown user".
//
// Thread safety
//   One thread at a time (authd's LookupRunner worker).
#pragma once

#include <chrono>
#include <memory>

#include "lib/auth/auth_module.h"
#include "lib/auth/authmysqlrc.h"

typedef struct st_mysql MYSQL;

namespace mailroom::table {
struct MysqlClient;
}

namespace mailroom::auth {

class MysqlAuthModule : public AuthModule {
public:
    static Result<std::unique_ptr<MysqlAuthModule>> open(std::string spec, const std::string& path);
    MysqlAuthModule(std::string spec, AuthMysqlConfig cfg);
    ~MysqlAuthModule() override;

    const std::string& spec() const override { return spec_; }
    bool may_block() const override { return true; }
    LookupResult lookup(const std::string& user, const std::string& service) override;
    LookupResult change_password(const UserRecord& user, const std::string& service,
                                 const std::string& new_password) override;
    std::optional<Result<std::vector<UserRecord>>> enumerate() override;

    const AuthMysqlConfig& config() const { return cfg_; }

private:
    // Runs `build(escape)`'s statement, reconnecting once; rows of text
    // (NULL as "") or a temporary error. `secret_query` names a statement
    // that holds a password: its errors carry MySQL's error number only.
    Result<std::vector<std::vector<std::string>>> run(const std::function<std::string(const SqlEscape&)>& build,
                                                      const char* secret_query = nullptr);
    Status connect();
    std::string server_name() const;

    struct MysqlClose {
        MysqlClose() : api(nullptr) {}
        explicit MysqlClose(const table::MysqlClient* client) : api(client) {}
        void operator()(MYSQL* m) const;
        const table::MysqlClient* api;  // the client library that made the connection
    };
    std::string spec_;
    AuthMysqlConfig cfg_;
    std::unique_ptr<MYSQL, MysqlClose> conn_;
    std::chrono::steady_clock::time_point down_until_{};  // connect failed: fail at once until then
};

}  // namespace mailroom::auth
