# authd_common.sh - a private MariaDB with the extmail schema, for authd's
# integration test and benchmark. Sourced after mr_instance.sh, once $T
# exists (mr_setup or dl_setup).
#   ad_start_mariadb      installs and starts mariadbd on $SOCK ($T/db),
#                         UNIX socket only; stopped on exit
#   ad_load_extmail ROWS  creates database extmail with Extman's mailbox
#                         table and account extmail/extmail; ROWS are
#                         "(username, password, name, dir)," tuples
#   ad_stop_mariadb       stops it (MySQL down)
#   ad_mail_account NAME  the account the MySQL users' mail belongs to (the
#                         seed's vmail): as root a new user NAME<pid>
#                         (delivery_common.sh's dl_user), else the invoking
#                         user; sets VU, VUID and VGID

ad_start_mariadb() {
    AD_MARIADBD=$(command -v mariadbd || command -v mysqld || echo /usr/sbin/mariadbd)
    local install_db
    install_db=$(command -v mariadb-install-db || command -v mysql_install_db || true)
    AD_CLIENT=$(command -v mariadb || command -v mysql || true)
    [ -x "$AD_MARIADBD" ] && [ -n "$install_db" ] && [ -n "$AD_CLIENT" ] ||
        mr_fail "MariaDB is not installed (scripts/install-deps installs mariadb-server and mariadb-client)"
    DB="$T/db"
    SOCK="$DB/mysqld.sock"
    local user_opt=()
    [ "$(id -u)" -eq 0 ] && user_opt=(--user=root)
    mkdir -p "$DB/data" "$DB/tmp"
    "$install_db" --no-defaults --tmpdir="$DB/tmp" --datadir="$DB/data" "${user_opt[@]}" \
        --auth-root-authentication-method=normal --skip-test-db >"$DB/install.log" 2>&1 ||
        mr_fail "mariadb-install-db: $(tail -5 "$DB/install.log")"
    "$AD_MARIADBD" --no-defaults --tmpdir="$DB/tmp" --datadir="$DB/data" --socket="$SOCK" --skip-networking \
        --pid-file="$DB/pid" --log-error="$DB/err" "${user_opt[@]}" --innodb-buffer-pool-size=16M --skip-log-bin \
        --skip-name-resolve 2>>"$DB/err" &
    AD_DB_PID=$!
    local previous
    previous=$(trap -p EXIT | sed -e "s/^trap -- '//" -e "s/' EXIT\$//")
    trap "ad_stop_mariadb; $previous" EXIT
    mr_wait_for "mariadbd" "$AD_CLIENT" --no-defaults -S "$SOCK" -uroot -e 'SELECT 1'
}

ad_mail_account() {
    if dl_root; then
        VU=$1$$
        dl_user "$VU"
        VUID=$(id -u "$VU")
        VGID=$(id -g "$VU")
    else
        VU=$(id -un)
        VUID=$(id -u)
        VGID=$(id -g)
    fi
}

ad_stop_mariadb() {
    if [ -n "${AD_DB_PID:-}" ]; then
        kill "$AD_DB_PID" 2>/dev/null
        wait "$AD_DB_PID" 2>/dev/null
        AD_DB_PID=
    fi
}

ad_load_extmail() {
    local rows="$*"
    "$AD_CLIENT" --no-defaults -S "$SOCK" -uroot <<SQL || mr_fail "extmail schema"
CREATE DATABASE extmail;
USE extmail;
CREATE TABLE mailbox (
  username varchar(255) NOT NULL default '', uid varchar(255) NOT NULL default '',
  password varchar(255) NOT NULL default '', clearpwd varchar(128) NOT NULL default '',
  name varchar(255) NOT NULL default '', mailhost varchar(255) NOT NULL default '',
  maildir varchar(255) NOT NULL default '', homedir varchar(255) NOT NULL default '',
  quota varchar(255) NOT NULL default '104857600S', netdiskquota varchar(255) NOT NULL default '',
  domain varchar(255) NOT NULL default '', uidnumber int(6) NOT NULL default '1000',
  gidnumber int(6) NOT NULL default '1000', createdate datetime NOT NULL default '1000-01-01 00:00:00',
  expiredate date NOT NULL default '1000-01-01', active smallint(1) NOT NULL default '1',
  disablepwdchange smallint(1) default '0', disablesmtpd smallint(1) default '0',
  disablesmtp smallint(1) default '0', disablewebmail smallint(1) default '0',
  disablenetdisk smallint(1) default '0', disableimap smallint(1) default '0',
  disablepop3 smallint(1) default '0', question text, answer text,
  PRIMARY KEY (username)) ENGINE=InnoDB;
CREATE TEMPORARY TABLE rows_in (username varchar(255), password varchar(255), name varchar(255), dir varchar(255));
INSERT INTO rows_in VALUES $rows;
INSERT INTO mailbox (username, password, name, maildir, homedir, domain)
  SELECT username, password, name, CONCAT(dir, '/Maildir/'), dir, SUBSTRING_INDEX(username, '@', -1) FROM rows_in;
CREATE USER 'extmail'@'localhost' IDENTIFIED BY 'extmail';
GRANT SELECT, UPDATE ON extmail.* TO 'extmail'@'localhost';
FLUSH PRIVILEGES;
SQL
}
