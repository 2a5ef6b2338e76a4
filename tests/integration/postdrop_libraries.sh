#!/bin/sh
# postdrop_libraries.sh - the set-gid postdrop maps no MySQL, PCRE2,
# Berkeley DB, OpenSSL or libevent code: it links lib/submit's table-free
# core only, and is linked --no-as-needed so that ldd shows exactly what its
# link line names.
set -u
bin="${MAILROOM_BIN:?MAILROOM_BIN is not set}/postdrop"
if [ ! -x "$bin" ]; then
    echo "FAIL: $bin was not built"
    exit 1
fi
if ! command -v ldd >/dev/null 2>&1; then
    echo "SKIP: ldd is not installed"
    exit 77
fi
libs=$(ldd "$bin") || { echo "FAIL: ldd $bin failed"; exit 1; }
echo "$libs"
bad=$(echo "$libs" | grep -E 'lib(mariadb|mysqlclient|pcre|db-|ssl|crypto|event|sasl2|cares)' || true)
if [ -n "$bad" ]; then
    echo "FAIL: postdrop links libraries it must not have:"
    echo "$bad"
    exit 1
fi
echo "PASS: postdrop links only the C/C++ runtime"
