#!/bin/bash
# mysql_tables_test.sh - postmap -q through mysql: tables against a real
# MariaDB server.
#
# Summary
#   Starts mariadbd in a temp directory on a UNIX socket only
#   (--skip-networking), loads an extmail-style schema (domain, mailbox,
#   alias) with a few rows, writes Extman's four map files in their legacy
#   syntax (table/select_field/where_field/additional_conditions) with
#   hosts = unix:<socket>, and checks postmap -q answers through each.
#   Then stops the server and checks that a lookup fails with a temporary
#   error (exit 2, "fatal:"), not "not found" (exit 1).
#
# Environment
#   MAILROOM_BIN: where postmap lives (build/bin). Runs as root (mariadbd
#   gets --user=root) or as an ordinary user.
set -u

BIN=${MAILROOM_BIN:-$(cd "$(dirname "$0")/../../build/bin" && pwd)}
POSTMAP=$BIN/postmap
MARIADBD=$(command -v mariadbd || command -v mysqld || echo /usr/sbin/mariadbd)
INSTALL_DB=$(command -v mariadb-install-db || command -v mysql_install_db)
CLIENT=$(command -v mariadb || command -v mysql)

TMP=$(mktemp -d /tmp/mr-mysql-test.XXXXXX)
SOCK=$TMP/mysqld.sock
PIDFILE=$TMP/mysqld.pid
FAILS=0

cleanup() {
    if [ -n "${pm_pid:-}" ]; then kill "$pm_pid" 2>/dev/null; fi
    if [ -f "$PIDFILE" ]; then
        kill "$(cat "$PIDFILE")" 2>/dev/null
        for _ in $(seq 1 300); do [ -f "$PIDFILE" ] || break; sleep 0.1; done
    fi
    if [ -n "${SERVER_PID:-}" ]; then
        kill "$SERVER_PID" 2>/dev/null
        wait "$SERVER_PID" 2>/dev/null
    fi
    rm -rf "$TMP"
}
trap cleanup EXIT INT TERM
trap '' PIPE  # a dead coprocess must fail a check, not kill the script

fail() { echo "FAIL: $*"; FAILS=$((FAILS + 1)); }

USER_OPT=()
if [ "$(id -u)" = 0 ]; then USER_OPT=(--user=root); fi

mkdir -p "$TMP/data" "$TMP/conf" "$TMP/dbtmp"
"$INSTALL_DB" --no-defaults --tmpdir="$TMP/dbtmp" --datadir="$TMP/data" "${USER_OPT[@]}" \
    --auth-root-authentication-method=normal --skip-test-db >"$TMP/install.log" 2>&1 || {
    echo "mariadb-install-db failed:"; cat "$TMP/install.log"; exit 1; }

start_server() {
    "$MARIADBD" --no-defaults --tmpdir="$TMP/dbtmp" --datadir="$TMP/data" --socket="$SOCK" --skip-networking \
        --pid-file="$PIDFILE" --log-error="$TMP/mysqld.err" "${USER_OPT[@]}" \
        --innodb-buffer-pool-size=16M --skip-log-bin --skip-name-resolve 2>>"$TMP/mysqld.err" &
    SERVER_PID=$!
    for _ in $(seq 1 1200); do
        [ -S "$SOCK" ] && "$CLIENT" --no-defaults -S "$SOCK" -uroot -e 'SELECT 1' >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    echo "mariadbd did not start:"; cat "$TMP/mysqld.err"; exit 1
}
stop_server() {
    kill "$SERVER_PID" 2>/dev/null
    wait "$SERVER_PID" 2>/dev/null
    SERVER_PID=
}
start_server

# An extmail-style schema (EXTMAIL-SCHEMA.md), trimmed to the columns the maps use.
"$CLIENT" --no-defaults -S "$SOCK" -uroot <<'SQL' || { echo "schema load failed"; exit 1; }
CREATE DATABASE extmail;
USE extmail;
CREATE TABLE domain (
  domain varchar(255) NOT NULL default '',
  description varchar(255) NOT NULL default '',
  transport varchar(255) default NULL,
  createdate datetime NOT NULL default '1000-01-01 00:00:00',
  active tinyint(1) NOT NULL default '1',
  PRIMARY KEY (domain)) ENGINE=InnoDB;
CREATE TABLE mailbox (
  username varchar(255) NOT NULL default '',
  password varchar(255) NOT NULL default '',
  name varchar(255) NOT NULL default '',
  maildir varchar(255) NOT NULL default '',
  homedir varchar(255) NOT NULL default '',
  quota varchar(255) NOT NULL default '',
  domain varchar(255) NOT NULL default '',
  uidnumber int(6) NOT NULL default '1000',
  gidnumber int(6) NOT NULL default '1000',
  active tinyint(1) NOT NULL default '1',
  PRIMARY KEY (username)) ENGINE=InnoDB;
CREATE TABLE alias (
  address varchar(255) NOT NULL default '',
  goto text NOT NULL,
  domain varchar(255) NOT NULL default '',
  active tinyint(1) NOT NULL default '1',
  PRIMARY KEY (address)) ENGINE=InnoDB;
INSERT INTO domain (domain, description, active) VALUES
  ('extmail.org', 'default domain', 1), ('disabled.org', 'off', 0);
INSERT INTO mailbox (username, password, name, maildir, homedir, quota, domain, active) VALUES
  ('postmaster@extmail.org', '$1$abc$xyz', 'postmaster', 'extmail.org/postmaster/Maildir/',
   'extmail.org/postmaster', '104857600S', 'extmail.org', 1),
  ('old@extmail.org', '$1$abc$xyz', 'old', 'extmail.org/old/Maildir/', 'extmail.org/old', '5242880S',
   'extmail.org', 0);
INSERT INTO alias (address, goto, domain, active) VALUES
  ('support@extmail.org', 'postmaster@extmail.org,old@extmail.org', 'extmail.org', 1),
  ('gone@extmail.org', 'postmaster@extmail.org', 'extmail.org', 0);
CREATE USER 'extmail'@'localhost' IDENTIFIED BY 'extmail';
GRANT SELECT, UPDATE ON extmail.* TO 'extmail'@'localhost';
FLUSH PRIVILEGES;
SQL

# Extman's map files, as shipped, except hosts.
write_map() {  # file table select_field where_field
    cat >"$TMP/conf/$1" <<EOF
# mysql config file for $2 lookups
user = extmail
password = extmail
hosts = unix:$SOCK
dbname = extmail
table = $2
select_field = $3
where_field = $4
additional_conditions = AND active = '1'
EOF
}
write_map mysql_virtual_domains_maps.cf domain domain domain
write_map mysql_virtual_mailbox_maps.cf mailbox maildir username
write_map mysql_virtual_alias_maps.cf alias goto address
write_map mysql_virtual_mailbox_limit_maps.cf mailbox quota username
# A modern-syntax map with result_format and a domain restriction.
cat >"$TMP/conf/modern.cf" <<EOF
hosts = inet:127.0.0.1:1, unix:$TMP/no-such.sock, unix:$SOCK
user = extmail
password = extmail
dbname = extmail
domain = extmail.org
query = SELECT maildir FROM mailbox WHERE username='%u@%d' AND active = '1'
result_format = /var/mailbox/%s
EOF
# Extman's literal "hosts = localhost", with the socket from option_file.
cat >"$TMP/conf/my.cnf" <<EOF
[mailroom]
socket = $SOCK
EOF
cat >"$TMP/conf/optfile.cf" <<EOF
hosts = localhost
user = extmail
password = extmail
dbname = extmail
option_file = $TMP/conf/my.cnf
option_group = mailroom
table = domain
select_field = domain
where_field = domain
additional_conditions = AND active = '1'
EOF
# Several rows: joined with commas, and refused beyond expansion_limit.
cat >"$TMP/conf/users.cf" <<EOF
hosts = unix:$SOCK
user = extmail
password = extmail
dbname = extmail
query = SELECT username FROM mailbox WHERE domain='%s' ORDER BY username
EOF
cp "$TMP/conf/users.cf" "$TMP/conf/users-limit.cf"
echo "expansion_limit = 1" >>"$TMP/conf/users-limit.cf"
: >"$TMP/conf/main.cf"

# expect KEY MAP EXIT [VALUE]
expect() {
    local out rc
    out=$("$POSTMAP" -c "$TMP/conf" -q "$1" "mysql:$TMP/conf/$2" 2>"$TMP/stderr")
    rc=$?
    if [ "$rc" != "$3" ]; then
        fail "postmap -q '$1' $2: exit $rc, want $3 (stdout '$out', stderr: $(cat "$TMP/stderr"))"
    elif [ $# -ge 4 ] && [ "$out" != "$4" ]; then
        fail "postmap -q '$1' $2: got '$out', want '$4'"
    else
        echo "ok: -q '$1' $2 -> exit $rc ${out:+'$out'}"
    fi
}

expect extmail.org mysql_virtual_domains_maps.cf 0 extmail.org
expect EXTMAIL.ORG mysql_virtual_domains_maps.cf 0 extmail.org
expect disabled.org mysql_virtual_domains_maps.cf 1
expect example.com mysql_virtual_domains_maps.cf 1
expect postmaster@extmail.org mysql_virtual_mailbox_maps.cf 0 extmail.org/postmaster/Maildir/
expect old@extmail.org mysql_virtual_mailbox_maps.cf 1
expect "x' OR '1'='1" mysql_virtual_mailbox_maps.cf 1
expect support@extmail.org mysql_virtual_alias_maps.cf 0 "postmaster@extmail.org,old@extmail.org"
expect gone@extmail.org mysql_virtual_alias_maps.cf 1
expect postmaster@extmail.org mysql_virtual_mailbox_limit_maps.cf 0 104857600S
expect postmaster@extmail.org modern.cf 0 /var/mailbox/extmail.org/postmaster/Maildir/
expect postmaster@other.org modern.cf 1
expect postmaster modern.cf 1
expect extmail.org optfile.cf 0 extmail.org
expect extmail.org users.cf 0 "old@extmail.org,postmaster@extmail.org"
expect extmail.org users-limit.cf 2

# -q - reads keys from standard input.
out=$(printf 'postmaster@extmail.org\nnobody@extmail.org\nold@extmail.org\n' |
      "$POSTMAP" -c "$TMP/conf" -q - "mysql:$TMP/conf/mysql_virtual_mailbox_limit_maps.cf" 2>&1)
[ "$out" = "$(printf 'postmaster@extmail.org\t104857600S')" ] || fail "postmap -q - gave '$out'"

# One long-running postmap keeps its connection; when the server restarts
# underneath it, the next lookup reconnects.
coproc PM { "$POSTMAP" -c "$TMP/conf" -q - "mysql:$TMP/conf/mysql_virtual_mailbox_limit_maps.cf" 2>"$TMP/pm.err"; }
# bash unsets PM and PM_PID when the coprocess exits: keep copies.
pm_pid=$PM_PID
pm_in=${PM[1]}
pm_out=${PM[0]}
echo postmaster@extmail.org >&"$pm_in"
IFS= read -t 20 -r line <&"$pm_out"
[ "$line" = "$(printf 'postmaster@extmail.org\t104857600S')" ] || fail "persistent lookup 1 gave '$line'"
stop_server
start_server
echo postmaster@extmail.org >&"$pm_in"
IFS= read -t 20 -r line <&"$pm_out"
[ "$line" = "$(printf 'postmaster@extmail.org\t104857600S')" ] ||
    fail "lookup after a server restart gave '$line' ($(cat "$TMP/pm.err"))"
exec {pm_in}>&-
wait "$pm_pid" 2>/dev/null
echo "ok: reconnect after a server restart"

# Stop the server: lookups must now fail temporarily (exit 2), never "not found".
stop_server
for map in mysql_virtual_domains_maps.cf mysql_virtual_alias_maps.cf; do
    out=$("$POSTMAP" -c "$TMP/conf" -q extmail.org "mysql:$TMP/conf/$map" 2>"$TMP/stderr")
    rc=$?
    if [ "$rc" != 2 ] || ! grep -q "fatal:" "$TMP/stderr"; then
        fail "lookup with the server down: exit $rc (want 2), stderr: $(cat "$TMP/stderr")"
    else
        echo "ok: server down -> exit 2: $(head -c 200 "$TMP/stderr")"
    fi
done

if [ "$FAILS" != 0 ]; then echo "$FAILS failure(s)"; exit 1; fi
echo "all mysql table checks passed"
