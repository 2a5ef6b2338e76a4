#!/bin/bash
# smtpd_mysql.sh - a slow mysql: lookup in one SMTP session does not stall
# the other sessions of the same smtpd process.
#
# A MariaDB server on a UNIX socket answers check_sender_access; the query
# sleeps 3 seconds for one sender. smtpd runs with maxproc 1, so both
# sessions share one process and one event loop: while session A waits
# for its RCPT reply, session B completes a whole mail transaction.
source "$(dirname "$0")/mr_instance.sh"
source "$(dirname "$0")/queue_common.sh"
mr_enter_netns "$@"
MARIADBD=$(command -v mariadbd || command -v mysqld || true)
INSTALL_DB=$(command -v mariadb-install-db || command -v mysql_install_db || true)
CLIENT=$(command -v mariadb || command -v mysql || true)
for prog in smtpd cleanup master mailroom; do
    [ -x "$MAILROOM_BIN/$prog" ] || { echo "skip: $prog not built"; exit 0; }
done
[ -n "$MARIADBD" ] && [ -n "$INSTALL_DB" ] && [ -n "$CLIENT" ] || { echo "skip: no MariaDB server"; exit 0; }

P=$(mr_free_port)
QS_NO_QMGR=1 qs_setup "127.0.0.1:$P inet n - n - 1 smtpd -o smtpd_sender_restrictions=check_sender_access,mysql:__T__/sender.cf"
sed -i "s|__T__|$T|g" "$CONF/master.cf"
echo "local_recipient_maps =" >>"$CONF/main.cf"

SOCK=$T/mysqld.sock
USER_OPT=()
if [ "$(id -u)" = 0 ]; then USER_OPT=(--user=root); fi
stop_db() {
    if [ -n "${DB_PID:-}" ]; then
        kill "$DB_PID" 2>/dev/null
        wait "$DB_PID" 2>/dev/null
        DB_PID=
    fi
}
trap 'stop_db; mr_cleanup' EXIT
mkdir -p "$T/db"
"$INSTALL_DB" --no-defaults --datadir="$T/db" "${USER_OPT[@]}" --auth-root-authentication-method=normal \
    --skip-test-db >"$T/install.log" 2>&1 || mr_fail "mariadb-install-db: $(cat "$T/install.log")"
"$MARIADBD" --no-defaults --datadir="$T/db" --socket="$SOCK" --skip-networking --pid-file="$T/mysqld.pid" \
    --log-error="$T/mysqld.err" "${USER_OPT[@]}" --innodb-buffer-pool-size=16M --skip-log-bin \
    --skip-name-resolve 2>>"$T/mysqld.err" &
DB_PID=$!
mr_wait_for "mariadbd" "$CLIENT" --no-defaults -S "$SOCK" -uroot -e 'SELECT 1'
chmod 755 "$T/db" 2>/dev/null || true
"$CLIENT" --no-defaults -S "$SOCK" -uroot <<'SQL' || mr_fail "schema"
CREATE DATABASE access;
CREATE TABLE access.sender (addr varchar(255) NOT NULL, action varchar(255) NOT NULL);
INSERT INTO access.sender VALUES ('slow@example.org', 'REJECT'), ('bad@example.org', 'REJECT');
CREATE USER 'mail'@'localhost' IDENTIFIED BY 'secret';
GRANT SELECT ON access.* TO 'mail'@'localhost';
SQL
cat >"$T/sender.cf" <<CF
hosts = unix:$SOCK
user = mail
password = secret
dbname = access
query = SELECT IF(SLEEP(IF('%s' = 'slow@example.org', 3, 0)) = 0, (SELECT action FROM sender WHERE addr = '%s'), NULL)
CF
chmod 644 "$T/sender.cf"
"$MR" -c "$CONF" start || mr_fail "start failed"

python3 - "$P" <<'PY' || mr_fail "concurrent sessions with a slow lookup"
import socket, sys, time
port = int(sys.argv[1])

def session():
    s = socket.create_connection(("127.0.0.1", port), timeout=20)
    f = s.makefile("rb")
    def reply():
        while True:
            line = f.readline().decode()
            if not line:
                raise SystemExit("connection closed")
            if line[3:4] != "-":
                return line.rstrip("\r\n")
    assert reply().startswith("220 ")
    return s, reply

def cmd(s, reply, text):
    s.sendall(text.encode() + b"\r\n")
    return reply()

a, a_reply = session()
assert cmd(a, a_reply, "EHLO a.example").startswith("250 ")
assert cmd(a, a_reply, "MAIL FROM:<slow@example.org>") == "250 2.1.0 Ok"
t0 = time.monotonic()
a.sendall(b"RCPT TO:<x@mx.example.test>\r\n")  # the sender check sleeps 3 s

b, b_reply = session()
assert cmd(b, b_reply, "EHLO b.example").startswith("250 ")
assert cmd(b, b_reply, "MAIL FROM:<good@example.org>") == "250 2.1.0 Ok"
assert cmd(b, b_reply, "RCPT TO:<y@mx.example.test>") == "250 2.1.5 Ok"
assert cmd(b, b_reply, "DATA").startswith("354 ")
r = cmd(b, b_reply, "Subject: b\r\n\r\nhello\r\n.")
assert r.startswith("250 2.0.0 Ok: queued as "), r
assert cmd(b, b_reply, "QUIT") == "221 2.0.0 Bye"
tb = time.monotonic() - t0
assert tb < 2.0, "session B waited %.1f s for session A's lookup" % tb

r = a_reply()
ta = time.monotonic() - t0
assert r == "554 5.7.1 <slow@example.org>: Sender address rejected: Access denied", r
assert ta >= 2.5, "the slow lookup took only %.1f s" % ta
assert cmd(a, a_reply, "QUIT") == "221 2.0.0 Bye"
print("B finished after %.2f s, A's reply after %.2f s" % (tb, ta))
PY
# Both sessions were served by one smtpd process.
PIDS=$(sed -n 's/.*mailroom\/smtpd\[\([0-9]*\)\]: connect from.*/\1/p' "$T/maillog" | sort -u | wc -l)
[ "$PIDS" -eq 1 ] || mr_fail "expected one smtpd process, saw $PIDS"
"$MR" -c "$CONF" stop || mr_fail "stop failed"
echo "smtpd_mysql: ok"
