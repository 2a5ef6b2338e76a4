#!/bin/sh
# daemon_libraries.sh - the programs that do no TLS need (DT_NEEDED) neither
# OpenSSL nor libevent_openssl, and no program needs the MySQL client or
# Berkeley DB: mysql: and hash:/btree: tables load them when they open
# (lib/util/shared_library.h). smtpd and smtp, which do TLS, still need libssl.
set -u
: "${MAILROOM_BIN:?MAILROOM_BIN is not set}"
if ! command -v readelf >/dev/null 2>&1; then
    echo "FAIL: readelf is not installed (Debian's binutils)"
    exit 1
fi
needed() {
    [ -x "$MAILROOM_BIN/$1" ] || { echo "FAIL: $MAILROOM_BIN/$1 was not built"; exit 1; }
    readelf -d "$MAILROOM_BIN/$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'
}
status=0
for p in master cleanup qmgr virtual discard local bounce pipe pickup showq anvil error; do
    bad=$(needed "$p" | grep -E '^lib(ssl|crypto|event_openssl|mariadb|mysqlclient|db-)' | tr '\n' ' ')
    if [ -n "$bad" ]; then
        echo "FAIL: $p needs $bad"
        status=1
    fi
done
for p in smtpd smtp pop3d imapd authd postmap postalias newaliases postconf mailroom; do
    bad=$(needed "$p" | grep -E '^lib(mariadb|mysqlclient|db-)' | tr '\n' ' ')
    if [ -n "$bad" ]; then
        echo "FAIL: $p needs $bad (loaded at run time only)"
        status=1
    fi
done
for p in smtpd smtp; do
    needed "$p" | grep -q '^libssl\.' || { echo "FAIL: $p does not need libssl (TLS)"; status=1; }
done
[ $status -eq 0 ] && echo "PASS: only the TLS programs need OpenSSL; no program needs libmariadb or libdb"
exit $status
