// mysql_client.h - the MySQL/MariaDB client library, loaded on first use.
//
// Summary
//   mysql: tables and authd's MySQL module call the client library
//   through one table of function pointers, filled when the first of them
//   opens, so that a process that never opens one does not map the
//   library (nor the OpenSSL libraries it needs):
//
//     Result<const MysqlClient*> c = mysql_client();
//     if (!c) return c.error();        // "cannot load libmariadb.so.3: ..."
//     MYSQL* m = (*c)->init(nullptr);
//
// Description
//   The library's file name is the SONAME of the client library the build
//   found (MAILROOM_MYSQL_SONAME, set by CMake); the headers are those of
//   that library. The first successful load also runs mysql_library_init
//   once. A failed load is not remembered: the next open tries again.
//
// Thread safety
//   mysql_client() may run on any thread; the load happens once.
#pragma once

#include <mysql.h>

#include <string>

#include "lib/util/result.h"

namespace mailroom::table {

// The client functions mailroom calls, named without their mysql_ prefix.
struct MysqlClient {
    decltype(&::mysql_server_init) library_init = nullptr;
    decltype(&::mysql_init) init = nullptr;
    decltype(&::mysql_options) options = nullptr;
    decltype(&::mysql_real_connect) real_connect = nullptr;
    decltype(&::mysql_close) close = nullptr;
    decltype(&::mysql_error) error = nullptr;
    decltype(&::mysql_errno) errnum = nullptr;
    decltype(&::mysql_real_escape_string) real_escape_string = nullptr;
    decltype(&::mysql_real_query) real_query = nullptr;
    decltype(&::mysql_store_result) store_result = nullptr;
    decltype(&::mysql_field_count) field_count = nullptr;
    decltype(&::mysql_num_fields) num_fields = nullptr;
    decltype(&::mysql_fetch_row) fetch_row = nullptr;
    decltype(&::mysql_fetch_lengths) fetch_lengths = nullptr;
    decltype(&::mysql_free_result) free_result = nullptr;
};

// The client library, loaded by the first call. The error names the
// library and says why the dynamic linker refused it.
Result<const MysqlClient*> mysql_client();

// The file name mysql_client() loads: the build's SONAME unless a test
// named another file before the first successful load.
std::string mysql_client_library();
void set_mysql_client_library(std::string file);

}  // namespace mailroom::table
