#!/bin/bash
# authd_mysql.sh - authd in courier-authlib's place, end to end with real
# parts: a private MariaDB holding extmail-schema users (MD5-crypt and
# SHA512-crypt passwords), authd reading the seed's authmysqlrc (paths
# changed only), and
#   - swaks AUTH LOGIN -> smtpd (smtpd_sasl_type = cyrus) -> the real Cyrus
#     SASL library with the seed's smtpd.conf (pwcheck_method: authdaemond,
#     authdaemond_path = authd's socket) -> authd mysql: -> MariaDB;
#   - a passwd-file user behind the MySQL module (authd_modules order);
#   - the same users through smtpd_sasl_type = authd;
#   - wrong password and unknown user: 535 5.7.8;
#   - mailroom auth test/lookup (fields and the module that answered);
#   - PASSWD, and a password update MySQL refuses (logged by error number);
#   - as root: Debian's maildrop -d user@domain from the seed's master.cf
#     pipe entry (flags=DRhu) finds the MySQL user through authd at the
#     socket path compiled into libcourierauth, served by a master.cf
#     service whose name is that absolute path (in a private mount
#     namespace, so the host's /run is not touched), and delivers into the
#     user's Maildir;
#   - MariaDB stopped: 454 4.7.0 Temporary authentication failure, through
#     smtpd_sasl_type = authd and through Cyrus (authd's temporary failure,
#     no reply, which Cyrus turns into SASL_FAIL: "generic failure", never
#     "authentication failure"); mailroom auth test exits 75, and authd's
#     log names the module and the reason.
source "$(dirname "$0")/mr_instance.sh"
source "$(dirname "$0")/delivery_common.sh"
source "$(dirname "$0")/authd_common.sh"
# As root: a private mount namespace, where /run is a fresh tmpfs that can
# hold courier's socket path.
if [ "$(id -u)" -eq 0 ] && [ -z "${AUTHD_MNTNS:-}" ] && unshare --mount --propagation private true 2>/dev/null; then
    export AUTHD_MNTNS=1
    exec unshare --mount --propagation private -- "$0" "$@"
fi
mr_enter_netns "$@"
mr_require_programs master smtpd authd cleanup qmgr pickup pipe mailroom
mr_require_commands swaks openssl
[ -x /usr/bin/maildrop ] || mr_fail "maildrop is not installed (scripts/install-deps installs it)"
SEED_RC="$MAILROOM_SRC/tests/data/auth/authmysqlrc.seed"

P=$(mr_free_port)   # smtpd_sasl_type = cyrus (the seed's)
PA=$(mr_free_port)  # smtpd_sasl_type = authd
dl_setup "127.0.0.1:$P inet n - n - - smtpd" \
    "127.0.0.1:$PA inet n - n - - smtpd -o smtpd_sasl_type=authd -o smtpd_sasl_path=private/authd"
ad_start_mariadb

# The mail account (the seed's vmail): its uid goes into MYSQL_UID_FIELD,
# as the seed changes '2525' to vmail's '1001' for maildrop.
ad_mail_account mra
MD5_PW='md5-Secret!'
SHA_PW="sha512 it's"
ad_load_extmail "('postmaster@extmail.org', '$(openssl passwd -1 "$MD5_PW")', 'Post Master', 'extmail.org/postmaster')," \
    "('jerry@magedu.com', '$(openssl passwd -6 "$SHA_PW")', 'Jerry', 'magedu.com/jerry')"

# The seed's authmysqlrc with this instance's socket, mailbox base and uid.
MB="$T/mailbox"
sed -e "s|^MYSQL_SOCKET .*|MYSQL_SOCKET  $SOCK|" -e "s|/var/mailbox/|$MB/|g" \
    -e "s|'2525'|'$VUID'|g" "$SEED_RC" >"$CONF/authmysqlrc"
grep -q "^MYSQL_PORT 3306 .*(" "$CONF/authmysqlrc" || mr_fail "the seed's annotations went missing"
for u in extmail.org/postmaster magedu.com/jerry; do
    mkdir -p "$MB/$u/Maildir/cur" "$MB/$u/Maildir/new" "$MB/$u/Maildir/tmp"
done
chown -R "$VUID:$VGID" "$MB"
chmod 600 "$CONF/authmysqlrc"  # read before the privilege drop
PF_PW='{PLAIN}file-pw'
echo "filer@example.com:$PF_PW:$VUID:$VGID:File User:$T/home::userdb_mail=maildir:$T/filer/Maildir" >"$T/users"
chmod 644 "$T/users"

# Cyrus SASL: the seed's smtpd.conf with authd's socket.
mkdir -m 755 "$T/sasl"
{
    echo "pwcheck_method: authdaemond"
    echo "log_level: 3"
    echo "mech_list:PLAIN LOGIN"
    echo "authdaemond_path:$Q/private/authd"
} >"$T/sasl/smtpd.conf"
chmod 644 "$T/sasl/smtpd.conf"
cat >>"$CONF/main.cf" <<EOF2
authd_modules = mysql:$CONF/authmysqlrc, passwd-file:$T/users
auth_failure_delay = 0
cyrus_sasl_config_path = $T/sasl
smtpd_sasl_auth_enable = yes
smtpd_sasl_path = smtpd
smtpd_sasl_security_options = noanonymous
broken_sasl_auth_clients = yes
virtual_transport = maildrop
virtual_mailbox_domains = extmail.org, magedu.com
virtual_mailbox_maps = static:ok
maildrop_destination_recipient_limit = 1
maildrop_destination_concurrency_limit = 1
EOF2
echo "authd     unix  -       -       n       -       -       authd" >>"$CONF/master.cf"
# maildrop finds users only at the socket path compiled into Debian's
# libcourierauth (connect() shows it; the library's strings are not a
# reliable guide); a master.cf service named by that absolute path serves
# it from the same authd.
COURIER_SOCK=/run/courier/authdaemon/socket
MAILDROP=""
if [ -n "${AUTHD_MNTNS:-}" ] && [ -n "$COURIER_SOCK" ] && mount -t tmpfs -o mode=755 mr-authd-run /run 2>/dev/null; then
    mkdir -p "$(dirname "$COURIER_SOCK")"
    echo "$COURIER_SOCK unix  -       -       n       -       -       authd" >>"$CONF/master.cf"
    echo "maildrop  unix  -       n       n       -       -       pipe" >>"$CONF/master.cf"
    echo "  flags=DRhu user=$VU argv=/usr/bin/maildrop -d \${recipient}" >>"$CONF/master.cf"
    MAILDROP=yes
fi
"$MR" -c "$CONF" start || mr_fail "start failed"

swaks_auth() {  # user password -> the swaks transcript in $T/swaks
    swaks --server 127.0.0.1 --port "${PORT:-$P}" --helo swaks.example --auth LOGIN --auth-user "$1" \
        --auth-password "$2" --quit-after AUTH >"$T/swaks" 2>&1
}
expect_reply() {  # what user password regex
    swaks_auth "$2" "$3"
    grep -Eq "<[-~*]+ +$4" "$T/swaks" || mr_fail "$1: $(cat "$T/swaks")"
}
expect_reply "MD5-crypt MySQL user" postmaster@extmail.org "$MD5_PW" "235 2\.7\.0 Authentication successful"
expect_reply "SHA512-crypt MySQL user" jerry@magedu.com "$SHA_PW" "235 2\.7\.0 Authentication successful"
expect_reply "passwd-file user" filer@example.com file-pw "235 2\.7\.0 Authentication successful"
expect_reply "wrong password" jerry@magedu.com "$MD5_PW" "535 5\.7\.8 Error: authentication failed"
expect_reply "unknown user" nobody@magedu.com x "535 5\.7\.8 Error: authentication failed"
# The same users through smtpd_sasl_type = authd.
PORT=$PA expect_reply "authd type, SHA512-crypt user" jerry@magedu.com "$SHA_PW" "235 2\.7\.0 Authentication successful"
PORT=$PA expect_reply "authd type, MD5-crypt user" postmaster@extmail.org "$MD5_PW" "235 2\.7\.0 Authentication successful"
PORT=$PA expect_reply "authd type, wrong password" postmaster@extmail.org "$SHA_PW" "535 5\.7\.8 Error: authentication failed"
grep -Eq "authd\[[0-9]+\]: authentication failed: user=<jerry@magedu\.com>, service=smtp, reason=mysql:$CONF/authmysqlrc: password mismatch" \
    "$T/maillog" || mr_fail "no authd log line for the wrong password"

# mailroom auth test / lookup.
"$MR" -c "$CONF" auth test jerry@magedu.com "$SHA_PW" >"$T/out" || mr_fail "auth test: $(cat "$T/out")"
grep -q "^  module:  mysql:$CONF/authmysqlrc$" "$T/out" || mr_fail "auth test module: $(cat "$T/out")"
grep -q "^  maildir: $MB/magedu.com/jerry/Maildir/$" "$T/out" || mr_fail "auth test maildir: $(cat "$T/out")"
grep -q "^  uid:     $VUID$" "$T/out" || mr_fail "auth test uid: $(cat "$T/out")"
"$MR" -c "$CONF" auth lookup filer@example.com >"$T/out" || mr_fail "auth lookup: $(cat "$T/out")"
grep -q "^  module:  passwd-file:$T/users$" "$T/out" || mr_fail "auth lookup module: $(cat "$T/out")"
"$MR" -c "$CONF" auth test jerry@magedu.com wrong >"$T/out" && mr_fail "auth test with a wrong password succeeded"

# PASSWD changes the MySQL password (a SHA512-crypt hash); ENUMERATE lists
# the MySQL users (and the passwd-file one).
authd_raw() {  # request line (without its LF) -> the reply
    python3 -c 'import socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(sys.argv[2].encode() + b"\n")
out = b""
while True:
    c = s.recv(65536)
    if not c: break
    out += c
sys.stdout.write(out.decode())' "$Q/private/authd" "$1"
}
[ "$(authd_raw "$(printf 'PASSWD smtp\tpostmaster@extmail.org\t%s\tnew-pw' "$MD5_PW")")" = "OK" ] ||
    mr_fail "PASSWD refused"
"$AD_CLIENT" --no-defaults -S "$SOCK" -uroot -N -e "SELECT password FROM extmail.mailbox WHERE username='postmaster@extmail.org'" |
    grep -q '^\$6\$' || mr_fail "PASSWD did not store a SHA512-crypt hash"
expect_reply "after PASSWD" postmaster@extmail.org new-pw "235 2\.7\.0 Authentication successful"
expect_reply "old password after PASSWD" postmaster@extmail.org "$MD5_PW" "535 5\.7\.8 Error: authentication failed"
[ "$(authd_raw "$(printf 'PASSWD smtp\tjerry@magedu.com\twrong\tx')")" = "FAIL" ] || mr_fail "PASSWD with a wrong password"
# An update MySQL refuses: authd logs MySQL's error number, never its
# text, which for a syntax error quotes the statement and the new password.
"$AD_CLIENT" --no-defaults -S "$SOCK" -uroot -e "CREATE TRIGGER extmail.refuse BEFORE UPDATE ON extmail.mailbox
    FOR EACH ROW SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'refused Leak-Me-Not'" || mr_fail "cannot create the trigger"
[ -z "$(authd_raw "$(printf 'PASSWD smtp\tpostmaster@extmail.org\tnew-pw\tLeak-Me-Not')")" ] ||
    mr_fail "a PASSWD that MySQL refused was answered"
mr_wait_for "authd's line for the refused update" grep -Eq \
    "authd\[[0-9]+\]: warning: postmaster@extmail\.org: temporary failure: mysql:$CONF/authmysqlrc: password update failed \(MySQL error 1644\)$" \
    "$T/maillog"
! grep -q "Leak-Me-Not" "$T/maillog" || mr_fail "MySQL's error text reached the log"
"$AD_CLIENT" --no-defaults -S "$SOCK" -uroot -e "DROP TRIGGER extmail.refuse" || mr_fail "cannot drop the trigger"
authd_raw ENUMERATE >"$T/enum"
grep -q "^jerry@magedu.com	$VUID	$VUID	$MB/magedu.com/jerry	$MB/magedu.com/jerry/Maildir/	\$" "$T/enum" &&
    grep -q "^filer@example.com	" "$T/enum" && [ "$(tail -n 1 "$T/enum")" = "." ] || mr_fail "ENUMERATE: $(cat "$T/enum")"

if [ -n "$MAILDROP" ]; then
    [ -S "$COURIER_SOCK" ] || mr_fail "no authd socket at $COURIER_SOCK"
    printf 'Subject: md\n\nthrough maildrop\n' | dl_send -f a@example.test jerry@magedu.com || mr_fail "sendmail"
    dl_wait_log "pipe\[[0-9]+\]: [0-9A-F]+: to=<jerry@magedu\.com>, relay=maildrop, .*dsn=2\.0\.0, status=sent \(delivered via maildrop service\)"
    F=$(find "$MB/magedu.com/jerry/Maildir/new" -type f | head -n 1)
    [ -n "$F" ] && grep -q '^through maildrop$' "$F" || mr_fail "maildrop delivered nothing into jerry's Maildir"
else
    echo "note: maildrop part skipped: libcourierauth has the socket path ${COURIER_SOCK:-(not found)} compiled in, and only root can serve it (in a private mount namespace)"
fi

# MariaDB stopped: authd answers courier's temporary failure (no reply),
# never "wrong password". Cyrus SASL's authdaemond method turns that into
# SASL_FAIL, which smtpd answers as a temporary failure (Postfix would say
# 535; a wrong password is SASL_BADAUTH); mailroom auth test reports it as
# temporary (exit 75).
ad_stop_mariadb
expect_reply "MySQL stopped" jerry@magedu.com "$SHA_PW" "454 4\.7\.0 Temporary authentication failure: generic failure"
grep -Eq "authd\[[0-9]+\]: warning: jerry@magedu\.com: temporary failure: mysql:$CONF/authmysqlrc: cannot connect to MySQL server localhost \(socket $SOCK\): " \
    "$T/maillog" || mr_fail "no authd log line naming the module and the reason"
PORT=$PA expect_reply "authd type, MySQL stopped" jerry@magedu.com "$SHA_PW" "454 4\.7\.0 Temporary authentication failure"
"$MR" -c "$CONF" auth test jerry@magedu.com "$SHA_PW" >"$T/out"
[ $? -eq 75 ] || mr_fail "auth test with MySQL stopped: $(cat "$T/out")"
# A later module still accepts its own users.
expect_reply "passwd-file user, MySQL stopped" filer@example.com file-pw "235 2\.7\.0 Authentication successful"
echo "authd_mysql: ok"
