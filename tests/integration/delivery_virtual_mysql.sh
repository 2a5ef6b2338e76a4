#!/bin/bash
# delivery_virtual_mysql.sh - the seed's virtual mailbox setup end to end:
# Extman's mysql: map files over an extmail-style schema on a private
# MariaDB (UNIX socket only), the seed's virtual_* and VDA quota settings
# verbatim except for paths and uid, delivery to the user's Maildir, and
# the over-quota bounce with the seed's text.
source "$(dirname "$0")/mr_instance.sh"
source "$(dirname "$0")/delivery_common.sh"
source "$(dirname "$0")/authd_common.sh"
mr_enter_netns "$@"
MARIADBD=$(command -v mariadbd || command -v mysqld || echo /usr/sbin/mariadbd)
INSTALL_DB=$(command -v mariadb-install-db || command -v mysql_install_db || true)
CLIENT=$(command -v mariadb || command -v mysql || true)
[ -x "$MARIADBD" ] && [ -n "$INSTALL_DB" ] && [ -n "$CLIENT" ] ||
    mr_fail "MariaDB is not installed (scripts/install-deps installs mariadb-server and mariadb-client)"
dl_setup
DB="$T/db"
SOCK="$DB/mysqld.sock"
db_stop() {
    if [ -n "${DB_PID:-}" ]; then
        kill "$DB_PID" 2>/dev/null
        wait "$DB_PID" 2>/dev/null
    fi
    dl_cleanup
}
trap db_stop EXIT
USER_OPT=()
dl_root && USER_OPT=(--user=root)
mkdir -p "$DB/data" "$DB/tmp"
"$INSTALL_DB" --no-defaults --tmpdir="$DB/tmp" --datadir="$DB/data" "${USER_OPT[@]}" --auth-root-authentication-method=normal \
    --skip-test-db >"$DB/install.log" 2>&1 || mr_fail "mariadb-install-db: $(tail -5 "$DB/install.log")"
"$MARIADBD" --no-defaults --tmpdir="$DB/tmp" --datadir="$DB/data" --socket="$SOCK" --skip-networking --pid-file="$DB/pid" \
    --log-error="$DB/err" "${USER_OPT[@]}" --innodb-buffer-pool-size=16M --skip-log-bin --skip-name-resolve 2>>"$DB/err" &
DB_PID=$!
mr_wait_for "mariadbd" "$CLIENT" --no-defaults -S "$SOCK" -uroot -e 'SELECT 1'

if dl_root; then
    VU=mrq$$
    dl_user "$VU"
    VUID=$(id -u "$VU")
    VGID=$(id -g "$VU")
else
    VUID=$(id -u)
    VGID=$(id -g)
fi
"$CLIENT" --no-defaults -S "$SOCK" -uroot <<SQL || mr_fail "schema"
CREATE DATABASE extmail;
USE extmail;
CREATE TABLE domain (domain varchar(255) NOT NULL, active tinyint(1) NOT NULL default '1', PRIMARY KEY (domain));
CREATE TABLE mailbox (username varchar(255) NOT NULL, maildir varchar(255) NOT NULL, quota varchar(255) NOT NULL,
  uidnumber int NOT NULL, gidnumber int NOT NULL, active tinyint(1) NOT NULL default '1', PRIMARY KEY (username));
INSERT INTO domain VALUES ('extmail.org', 1);
INSERT INTO mailbox VALUES
  ('postmaster@extmail.org', 'extmail.org/postmaster/Maildir/', '104857600S', $VUID, $VGID, 1),
  ('tiny@extmail.org', 'extmail.org/tiny/Maildir/', '1500S', $VUID, $VGID, 1),
  ('old@extmail.org', 'extmail.org/old/Maildir/', '104857600S', $VUID, $VGID, 0);
CREATE USER 'extmail'@'localhost' IDENTIFIED BY 'extmail';
GRANT SELECT, UPDATE ON extmail.* TO 'extmail'@'localhost';
FLUSH PRIVILEGES;
SQL
ad_write_map "$CONF/mysql_virtual_domains_maps.cf" domain domain domain
ad_write_map "$CONF/mysql_virtual_mailbox_maps.cf" mailbox maildir username
ad_write_map "$CONF/mysql_virtual_mailbox_limit_maps.cf" mailbox quota username
VBASE="$T/mailbox"
mkdir -p "$VBASE"
chown "$VUID:$VGID" "$VBASE"
echo "extmail.org virtual:" >"$T/transport"
MSG=$AD_QUOTA_MSG
# The seed's lines (section 9), with this instance's paths and uid.
cat >>"$CONF/main.cf" <<EOF2
transport_maps = texthash:$T/transport
virtual_mailbox_base = $VBASE
virtual_mailbox_maps = mysql:$CONF/mysql_virtual_mailbox_maps.cf
virtual_mailbox_domains = mysql:$CONF/mysql_virtual_domains_maps.cf
virtual_uid_maps = static:$VUID
virtual_gid_maps = static:$VGID
virtual_minimum_uid = 1
virtual_transport = virtual
EOF2
ad_seed_quota >>"$CONF/main.cf"
"$MR" -c "$CONF" start || mr_fail "start failed"

printf 'Subject: hello\n\nfrom the seed\n' | dl_send -f root@extmail.org postmaster@extmail.org || mr_fail "sendmail 1"
dl_wait_log "virtual\[[0-9]+\]: [0-9A-F]+: to=<postmaster@extmail\.org>, relay=virtual, .*dsn=2\.0\.0, status=sent \(delivered to maildir\)"
F=$(find "$VBASE/extmail.org/postmaster/Maildir/new" -type f | head -n 1)
[ -n "$F" ] && grep -q '^from the seed$' "$F" || mr_fail "no message in postmaster's Maildir"
[ "$(stat -c %u "$F")" = "$VUID" ] || mr_fail "owner of $F"
[ "$(head -n 1 "$VBASE/extmail.org/postmaster/Maildir/maildirsize")" = "104857600S" ] || mr_fail "maildirsize quota"

# An inactive mailbox is unknown.
printf 'Subject: x\n\nx\n' | dl_send -f root@extmail.org old@extmail.org || mr_fail "sendmail 2"
dl_wait_log "to=<old@extmail\.org>, relay=virtual, .*dsn=5\.1\.1, status=bounced \(unknown user: \"old@extmail\.org\"\)"

# The 1500-byte quota: the first message fits, the second bounces.
BODY=$(head -c 700 /dev/zero | tr '\0' 'z')
printf 'Subject: t1\n\n%s\n' "$BODY" | dl_send -f root@extmail.org tiny@extmail.org || mr_fail "sendmail 3"
dl_wait_log "to=<tiny@extmail\.org>, relay=virtual, .*status=sent \(delivered to maildir\)"
printf 'Subject: t2\n\n%s\n' "$BODY" | dl_send -f root@extmail.org tiny@extmail.org || mr_fail "sendmail 4"
dl_wait_log "to=<tiny@extmail\.org>, relay=virtual, .*dsn=5\.2\.2, status=bounced \($MSG\)"
echo "delivery_virtual_mysql: ok"
