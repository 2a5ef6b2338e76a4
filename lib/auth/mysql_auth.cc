// mysql_auth.cc - see mysql_auth.h.
#include "lib/auth/mysql_auth.h"

#include <chrono>
#include <cstdlib>
#include <optional>

#include "lib/auth/password.h"
#include "lib/table/mysql_client.h"
#include "lib/table/mysql_table.h"
#include "lib/util/fs.h"
#include "lib/util/strings.h"

namespace mailroom::auth {

namespace {

// Connect, read and write timeouts: a stuck server becomes a temporary
// failure before clients (authd_client_timeout, 5s by default) give up.
// One request spends at most one timeout waiting, plus a reconnect after
// a connection that failed at once.
constexpr unsigned kTimeoutSeconds = 2;
// After a failed connect the module fails at once for this long, so an
// outage does not hold every queued request for a connect timeout.
constexpr std::chrono::seconds kDownSeconds{5};


long long to_id(const std::string& s) {
    if (s.empty()) return -1;
    char* end = nullptr;
    long long n = std::strtoll(s.c_str(), &end, 10);
    return (*end == '\0' && n >= 0) ? n : -1;
}

}  // namespace

void MysqlAuthModule::MysqlClose::operator()(MYSQL* m) const { api->close(m); }

Result<std::unique_ptr<MysqlAuthModule>> MysqlAuthModule::open(std::string spec, const std::string& path) {
    auto text = util::read_file(path);
    if (!text) return text.error().prefixed("authd_modules " + spec + ": ");
    auto cfg = parse_authmysqlrc(*text, path);
    if (!cfg) return cfg.error();
    if (auto api = table::mysql_client(); !api) return api.error().prefixed("authd_modules " + spec + ": ");
    return std::make_unique<MysqlAuthModule>(std::move(spec), std::move(*cfg));
}

MysqlAuthModule::MysqlAuthModule(std::string spec, AuthMysqlConfig cfg) : spec_(std::move(spec)), cfg_(std::move(cfg)) {}

MysqlAuthModule::~MysqlAuthModule() = default;

std::string MysqlAuthModule::server_name() const {
    if (!cfg_.socket.empty()) return cfg_.server + " (socket " + cfg_.socket + ")";
    return cfg_.port ? cfg_.server + ":" + std::to_string(cfg_.port) : cfg_.server;
}

Status MysqlAuthModule::connect() {
    Result<const table::MysqlClient*> loaded = table::mysql_client();
    if (!loaded) return make_temp_error(loaded.error().message);
    const table::MysqlClient* api = *loaded;
    auto now = std::chrono::steady_clock::now();
    if (now < down_until_) {
        return make_temp_error("MySQL server " + server_name() + " is not answering (connect failed at most " +
                               std::to_string(kDownSeconds.count()) + "s ago)");
    }
    std::unique_ptr<MYSQL, MysqlClose> m(api->init(nullptr), MysqlClose{api});
    if (!m) return make_temp_error("mysql_init failed: out of memory");
    unsigned timeout = kTimeoutSeconds;
    api->options(m.get(), MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
    api->options(m.get(), MYSQL_OPT_READ_TIMEOUT, &timeout);
    api->options(m.get(), MYSQL_OPT_WRITE_TIMEOUT, &timeout);
    if (!cfg_.character_set.empty()) api->options(m.get(), MYSQL_SET_CHARSET_NAME, cfg_.character_set.c_str());
    const char* sock = cfg_.socket.empty() ? nullptr : cfg_.socket.c_str();
    if (!api->real_connect(m.get(), cfg_.server.c_str(), cfg_.username.c_str(), cfg_.password.c_str(),
                           cfg_.database.c_str(), cfg_.port, sock, cfg_.client_flags)) {
        down_until_ = std::chrono::steady_clock::now() + kDownSeconds;
        return make_temp_error("cannot connect to MySQL server " + server_name() + ": " + api->error(m.get()));
    }
    conn_ = std::move(m);
    return ok_status();
}

Result<std::vector<std::vector<std::string>>> MysqlAuthModule::run(
    const std::function<std::string(const SqlEscape&)>& build, const char* secret_query) {
    std::string last;
    // A statement that holds a password: MySQL's error text may quote
    // it (a syntax error does), so only the error number is told.
    auto failure = [&](const std::string& what, unsigned err, const std::string& text) {
        if (secret_query)
            return make_temp_error(std::string(secret_query) + " failed (MySQL error " + std::to_string(err) + ")");
        return make_temp_error(what + text);
    };
    for (int attempt = 0; attempt < 2; ++attempt) {
        if (!conn_) {
            if (auto st = connect(); !st) return st.error();
        }
        auto started = std::chrono::steady_clock::now();
        // A connection lost after a timeout was spent is not retried: a
        // second wait would outlast the client.
        auto may_retry = [&] {
            return std::chrono::steady_clock::now() - started < std::chrono::seconds(kTimeoutSeconds);
        };
        MYSQL* m = conn_.get();
        const table::MysqlClient* api = conn_.get_deleter().api;
        SqlEscape escape = [m, api](std::string_view s) {
            std::string out(s.size() * 2 + 1, '\0');
            out.resize(api->real_escape_string(m, out.data(), s.data(), s.size()));
            return out;
        };
        // The error of the last call: nullopt when the connection was lost
        // and the statement may be tried once more on a new one.
        auto failed = [&](const std::string& what) -> std::optional<Error> {
            unsigned err = api->errnum(m);
            last = api->error(m);
            if (table::mysql_connection_lost(err)) {
                conn_.reset();
                if (may_retry()) return std::nullopt;
            }
            return failure(what, err, last);
        };
        std::string query = build(escape);
        if (api->real_query(m, query.data(), query.size()) != 0) {
            if (auto e = failed("query failed on MySQL server " + server_name() + ": ")) return *e;
            continue;
        }
        std::vector<std::vector<std::string>> rows;
        MYSQL_RES* res = api->store_result(m);
        if (!res) {
            if (api->field_count(m) == 0) return rows;  // UPDATE
            if (auto e = failed("reading a result from MySQL server " + server_name() + " failed: ")) return *e;
            continue;
        }
        unsigned n = api->num_fields(res);
        while (MYSQL_ROW row = api->fetch_row(res)) {
            unsigned long* len = api->fetch_lengths(res);
            std::vector<std::string> r(n);
            for (unsigned i = 0; i < n; ++i)
                if (row[i]) r[i].assign(row[i], len[i]);
            rows.push_back(std::move(r));
        }
        api->free_result(res);
        return rows;
    }
    if (secret_query) {
        return make_temp_error(std::string(secret_query) + " failed (lost the connection to MySQL server " +
                               server_name() + ")");
    }
    return make_temp_error("lost the connection to MySQL server " + server_name() + ": " + last);
}

LookupResult MysqlAuthModule::lookup(const std::string& user, const std::string& service) {
    LookupResult r;
    auto rows = run([&](const SqlEscape& e) { return build_select_query(cfg_, user, service, e); });
    if (!rows) {
        return LookupResult::temp_failure(rows.error().message);
    }
    if (rows->empty()) return r;
    std::vector<std::string> row = rows->front();
    if (row.size() < 6) {
        return LookupResult::temp_failure("the query returned " + std::to_string(row.size()) +
                                          " columns, not at least 6");
    }
    row.resize(10);
    UserRecord& u = r.user;
    u.username = row[0].empty() ? mysql_login(cfg_, user) : row[0];
    u.address = u.username;
    u.crypt_password = row[1];
    u.clear_password = row[2];
    u.uid = to_id(row[3]);
    u.gid = to_id(row[4]);
    u.home = row[5];
    u.maildir = row[6];
    u.quota = row[7];
    u.name = row[8];
    u.options = row[9];
    r.outcome = Outcome::kOk;
    return r;
}

LookupResult MysqlAuthModule::change_password(const UserRecord& user, const std::string& service,
                                              const std::string& new_password) {
    LookupResult r;
    std::string crypt;
    if (!cfg_.crypt_field.empty() || !cfg_.chpass_clause.empty()) {
        auto made = make_password("SHA512-CRYPT", new_password);
        if (!made) {
            return LookupResult::temp_failure(made.error().message);
        }
        // The column holds a bare crypt string (the scheme is CRYPT).
        crypt = split_scheme(*made).rest;
    }
    std::string probe = build_chpass_query(cfg_, user.username, service, new_password, crypt,
                                           [](std::string_view s) { return std::string(s); });
    if (probe.empty()) {
        r.reason = "no password field to change";
        return r;
    }
    auto rows = run(
        [&](const SqlEscape& e) { return build_chpass_query(cfg_, user.username, service, new_password, crypt, e); },
        "password update");
    if (!rows) {
        return LookupResult::temp_failure(rows.error().message);
    }
    r.outcome = Outcome::kOk;
    return r;
}

std::optional<Result<std::vector<UserRecord>>> MysqlAuthModule::enumerate() {
    auto rows = run([&](const SqlEscape& e) { return build_enumerate_query(cfg_, e); });
    if (!rows) return Result<std::vector<UserRecord>>(rows.error());
    std::vector<UserRecord> all;
    for (auto& row : *rows) {
        row.resize(6);
        UserRecord u;
        u.username = row[0];
        u.uid = to_id(row[1]);
        u.gid = to_id(row[2]);
        u.home = row[3];
        u.maildir = row[4];
        u.options = row[5];
        all.push_back(std::move(u));
    }
    return Result<std::vector<UserRecord>>(std::move(all));
}

}  // namespace mailroom::auth
