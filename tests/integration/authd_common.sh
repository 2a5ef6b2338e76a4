# authd_common.sh - a private MariaDB with the extmail schema, for authd's
# integration test and benchmark. Sourced after mr_instance.sh, once $T
# exists (mr_setup or dl_setup).
#   ad_start_mariadb      installs and starts mariadbd on $SOCK ($T/db),
#                         UNIX socket only; stopped on exit
#   ad_load_extmail ROWS  creates database extmail with Extman's tables
#                         (extmail_schema.sql: accounts extmail/extmail and
#                         webman/webman) and mailboxes; ROWS are
#                         "(username, password, name, dir)," tuples
#   ad_stop_mariadb       stops it (MySQL down)
#   ad_write_map FILE TABLE SELECT WHERE
#                         writes one of Extman's mysql_virtual_*.cf files
#                         (legacy keys) for database extmail on $SOCK
#   ad_seed_quota         prints the seed's "QUOTA Settings" lines (VDA
#                         quota, limits from Extman's limit map in $CONF)
#                         with the seed's text, also in $AD_QUOTA_MSG
#   ad_private_run "$@"   re-executes the script where /run can be private
#                         (for courier's socket path): as root in a mount
#                         namespace (AUTHD_MNTNS=1, /run still to mount);
#                         with AD_USERNS=1, an ordinary user in a user
#                         namespace whose /run is a fresh tmpfs, the
#                         caller's uid mapped back (AD_USERNS_RUN=1)
#   ad_mail_account NAME  the account the MySQL users' mail belongs to (the
#                         seed's vmail): as root a new user NAME<pid>
#                         (delivery_common.sh's dl_user), else the invoking
#                         user; sets VU, VUID and VGID

AD_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

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

ad_private_run() {
    if [ "$(id -u)" -eq 0 ] && [ -z "${AUTHD_MNTNS:-}" ] && unshare --mount --propagation private true 2>/dev/null; then
        export AUTHD_MNTNS=1
        exec unshare --mount --propagation private -- "$0" "$@"
    elif [ "$(id -u)" -ne 0 ] && [ "${AD_USERNS:-}" = 1 ] && [ -z "${AD_USERNS_RUN:-}" ] &&
        unshare --user --map-root-user --mount sh -c 'mount -t tmpfs -o mode=1777 mr-run /run' 2>/dev/null; then
        export AD_USERNS_RUN=1
        exec unshare --user --map-root-user --mount -- sh -c \
            'mount -t tmpfs -o mode=1777 mr-run /run && exec unshare --user --map-user="$0" --map-group="$1" -- "$2" "$@"' \
            "$(id -u)" "$(id -g)" "$(readlink -f "$0")" "$@"
    fi
}

AD_QUOTA_MSG="Sorry, the user's maildir has overdrawn his diskspace quota, please Tidy your mailbox and try again later."
ad_seed_quota() {
    cat <<EOF
virtual_mailbox_limit = 20971520
virtual_create_maildirsize = yes
virtual_mailbox_extended = yes
virtual_mailbox_limit_maps = mysql:$CONF/mysql_virtual_mailbox_limit_maps.cf
virtual_mailbox_limit_override = yes
virtual_maildir_limit_message = $AD_QUOTA_MSG
virtual_overquota_bounce = yes
EOF
}

ad_write_map() {
    printf 'user = extmail\npassword = extmail\nhosts = unix:%s\ndbname = extmail\ntable = %s\nselect_field = %s\nwhere_field = %s\nadditional_conditions = AND active = '"'1'"'\n' \
        "$SOCK" "$2" "$3" "$4" >"$1"
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
    "$AD_CLIENT" --no-defaults -S "$SOCK" -uroot <"$AD_DIR/extmail_schema.sql" || mr_fail "extmail schema"
    "$AD_CLIENT" --no-defaults -S "$SOCK" -uroot extmail <<SQL || mr_fail "extmail rows"
CREATE TEMPORARY TABLE rows_in (username varchar(255), password varchar(255), name varchar(255), dir varchar(255));
INSERT INTO rows_in VALUES $rows;
INSERT INTO mailbox (username, password, name, maildir, homedir, quota, domain)
  SELECT username, password, name, CONCAT(dir, '/Maildir/'), dir, '104857600S', SUBSTRING_INDEX(username, '@', -1) FROM rows_in;
SQL
}
