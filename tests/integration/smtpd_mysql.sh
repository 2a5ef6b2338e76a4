#!/bin/bash
# smtpd_mysql.sh - a slow mysql: lookup in one SMTP session does not stall
# the other sessions of the same smtpd process; and the seed's MySQL
# virtual_alias_maps (extmail's alias table) validates recipients through
# the same non-blocking check workers.
#
# A MariaDB server on a UNIX socket answers check_sender_access; the query
# sleeps 6 seconds for one sender. smtpd runs with maxproc 1, so both
# sessions share one process and one event loop: while session A waits
# for its RCPT reply, session B completes a whole mail transaction.
source "$(dirname "$0")/mr_instance.sh"
source "$(dirname "$0")/queue_common.sh"
mr_enter_netns "$@"
MARIADBD=$(command -v mariadbd || command -v mysqld || echo /usr/sbin/mariadbd)
INSTALL_DB=$(command -v mariadb-install-db || command -v mysql_install_db || true)
CLIENT=$(command -v mariadb || command -v mysql || true)
mr_require_programs smtpd cleanup master mailroom
[ -x "$MARIADBD" ] && [ -n "$INSTALL_DB" ] && [ -n "$CLIENT" ] ||
    mr_fail "MariaDB is not installed (scripts/install-deps installs mariadb-server and mariadb-client)"

P=$(mr_free_port)
P2=$(mr_free_port)
QS_NO_QMGR=1 qs_setup "127.0.0.1:$P inet n - n - 1 smtpd -o smtpd_sender_restrictions=check_sender_access,mysql:__T__/sender.cf" \
    "127.0.0.1:$P2 inet n - n - - smtpd -o virtual_mailbox_domains=mysql:__T__/domains.cf -o virtual_mailbox_maps=mysql:__T__/mailbox.cf -o virtual_alias_maps=mysql:__T__/alias.cf -o virtual_alias_domains=alias.example"
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
mkdir -p "$T/db" "$T/dbtmp"
"$INSTALL_DB" --no-defaults --tmpdir="$T/dbtmp" --datadir="$T/db" "${USER_OPT[@]}" --auth-root-authentication-method=normal \
    --skip-test-db >"$T/install.log" 2>&1 || mr_fail "mariadb-install-db: $(cat "$T/install.log")"
"$MARIADBD" --no-defaults --tmpdir="$T/dbtmp" --datadir="$T/db" --socket="$SOCK" --skip-networking --pid-file="$T/mysqld.pid" \
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
query = SELECT IF(SLEEP(IF('%s' = 'slow@example.org', 6, 0)) = 0, (SELECT action FROM sender WHERE addr = '%s'), NULL)
CF
chmod 644 "$T/sender.cf"
# The seed's virtual domain tables (extmail.sql, reduced to the columns used).
"$CLIENT" --no-defaults -S "$SOCK" -uroot <<'SQL' || mr_fail "extmail schema"
CREATE DATABASE extmail;
USE extmail;
CREATE TABLE domain (domain varchar(255) NOT NULL, active tinyint(1) NOT NULL default '1');
CREATE TABLE mailbox (username varchar(255) NOT NULL, maildir varchar(255) NOT NULL, active tinyint(1) NOT NULL default '1');
CREATE TABLE alias (address varchar(255) NOT NULL, goto text NOT NULL, active tinyint(1) NOT NULL default '1');
INSERT INTO domain VALUES ('extmail.org', 1);
INSERT INTO mailbox VALUES ('postmaster@extmail.org', 'extmail.org/postmaster/Maildir/', 1);
INSERT INTO alias VALUES ('all@extmail.org', 'postmaster@extmail.org', 1), ('info@alias.example', 'postmaster@extmail.org', 1),
  ('old@alias.example', 'postmaster@extmail.org', 0);
GRANT SELECT ON extmail.* TO 'mail'@'localhost';
SQL
write_map() {  # file table select_field where_field
    printf 'user = mail\npassword = secret\nhosts = unix:%s\ndbname = extmail\ntable = %s\nselect_field = %s\nwhere_field = %s\nadditional_conditions = AND active = '"'1'"'\n' \
        "$SOCK" "$2" "$3" "$4" >"$T/$1"
    chmod 644 "$T/$1"
}
write_map domains.cf domain domain domain
write_map mailbox.cf mailbox maildir username
write_map alias.cf alias goto address
"$MR" -c "$CONF" start || mr_fail "start failed"

python3 - "$P" <<'PY' || mr_fail "concurrent sessions with a slow lookup"
import select, socket, sys, time
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
a.sendall(b"RCPT TO:<x@mx.example.test>\r\n")  # the sender check sleeps 6 s

b, b_reply = session()
assert cmd(b, b_reply, "EHLO b.example").startswith("250 ")
assert cmd(b, b_reply, "MAIL FROM:<good@example.org>") == "250 2.1.0 Ok"
assert cmd(b, b_reply, "RCPT TO:<y@mx.example.test>") == "250 2.1.5 Ok"
assert cmd(b, b_reply, "DATA").startswith("354 ")
r = cmd(b, b_reply, "Subject: b\r\n\r\nhello\r\n.")
assert r.startswith("250 2.0.0 Ok: queued as "), r
assert cmd(b, b_reply, "QUIT") == "221 2.0.0 Bye"
tb = time.monotonic() - t0
# Had A's lookup stalled the loop, B could only have gone on after A's reply
# was sent: it must still be on its way.
# (select, not recv: Python waits out a socket's timeout even with MSG_DONTWAIT.)
assert not select.select([a], [], [], 0)[0], "session B waited for session A's lookup (%.1f s)" % tb

r = a_reply()
ta = time.monotonic() - t0
assert r == "554 5.7.1 <slow@example.org>: Sender address rejected: Access denied", r
assert ta >= 5.0, "the slow lookup took only %.1f s" % ta
assert cmd(a, a_reply, "QUIT") == "221 2.0.0 Bye"
print("B finished after %.2f s, A's reply after %.2f s" % (tb, ta))
PY
# Both sessions were served by one smtpd process.
PIDS=$(sed -n 's/.*mailroom\/smtpd\[\([0-9]*\)\]: connect from.*/\1/p' "$T/maillog" | sort -u | wc -l)
[ "$PIDS" -eq 1 ] || mr_fail "expected one smtpd process, saw $PIDS"

# Recipient validation with the seed's MySQL maps: an alias is valid in a
# virtual mailbox domain without a mailbox, and an unlisted address of a
# virtual alias domain is unknown "in virtual alias table".
python3 - "$P2" >"$T/py.out" 2>&1 <<'PY' || mr_fail "mysql virtual_alias_maps: $(cat "$T/py.out")"
import smtplib, sys
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=30)
s.ehlo("client.example")
assert s.mail("someone@example.org")[0] == 250
expect = {
    "all@extmail.org": (250, b"2.1.5 Ok"),
    "postmaster@extmail.org": (250, b"2.1.5 Ok"),
    "ghost@extmail.org": (550, b"5.1.1 <ghost@extmail.org>: Recipient address rejected: "
                               b"User unknown in virtual mailbox table"),
    "info@alias.example": (250, b"2.1.5 Ok"),
    "old@alias.example": (550, b"5.1.1 <old@alias.example>: Recipient address rejected: "
                               b"User unknown in virtual alias table"),
    "nobody@alias.example": (550, b"5.1.1 <nobody@alias.example>: Recipient address rejected: "
                                  b"User unknown in virtual alias table"),
}
for rcpt, want in expect.items():
    got = s.rcpt(rcpt)
    assert got == want, (rcpt, got)
s.quit()
PY
"$MR" -c "$CONF" stop || mr_fail "stop failed"
echo "smtpd_mysql: ok"
