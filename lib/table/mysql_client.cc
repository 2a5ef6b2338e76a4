// mysql_client.cc - loading the MySQL client library (see mysql_client.h).
#include "lib/table/mysql_client.h"

#include "lib/util/shared_library.h"

#ifndef MAILROOM_MYSQL_SONAME
#error "MAILROOM_MYSQL_SONAME must name the client library (lib/table/CMakeLists.txt)"
#endif

namespace mailroom::table {

namespace {

Status bind_client(const util::SharedLibrary& lib, MysqlClient* c) {
    Status bound;
    auto bind = [&](const char* symbol, auto* field) {
        if (bound) bound = lib.bind(symbol, field);
    };
    bind("mysql_server_init", &c->library_init);
    bind("mysql_init", &c->init);
    bind("mysql_options", &c->options);
    bind("mysql_real_connect", &c->real_connect);
    bind("mysql_close", &c->close);
    bind("mysql_error", &c->error);
    bind("mysql_errno", &c->errnum);
    bind("mysql_real_escape_string", &c->real_escape_string);
    bind("mysql_real_query", &c->real_query);
    bind("mysql_store_result", &c->store_result);
    bind("mysql_field_count", &c->field_count);
    bind("mysql_num_fields", &c->num_fields);
    bind("mysql_fetch_row", &c->fetch_row);
    bind("mysql_fetch_lengths", &c->fetch_lengths);
    bind("mysql_free_result", &c->free_result);
    if (!bound) return bound;
    // The library's global state, before any thread calls mysql_init.
    if (c->library_init(0, nullptr, nullptr) != 0) return make_error("cannot initialize " + lib.file());
    return ok_status();
}

util::LazyLibrary<MysqlClient>& library() {
    static util::LazyLibrary<MysqlClient> lib(MAILROOM_MYSQL_SONAME, bind_client);
    return lib;
}

// mysql: tables and authd's MySQL module (authd_modules = mysql:...).
const bool g_preload_registered = util::register_jail_preload("mysql:", [] { return library().load(); });

}  // namespace

Result<const MysqlClient*> mysql_client() { return library().get(); }

std::string mysql_client_library() { return library().file(); }

void set_mysql_client_library(std::string file) { library().set_file(std::move(file)); }

}  // namespace mailroom::table
